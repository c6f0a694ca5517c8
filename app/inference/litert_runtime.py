"""The same trained model as a LiteRT (`.tflite`) file, run by `ai_edge_litert` — no TensorFlow import.

Why: importing TensorFlow and loading `.keras` files dominates start-up, and LiteRT's XNNPACK kernels
answer one 28x28 image faster than a TensorFlow call. `digit-lab export` (and training) writes the file
with one signature whose named outputs are the probabilities, the logits and every `act_*` layer, so
`explain` works here too; `predict` reads only the probabilities tensor.

An interpreter is not thread-safe and FastAPI runs routes on many threads, so each runtime keeps a small
pool of interpreters (one per CPU, at most POOL_MAX): a request borrows one and gives it back. Each is
created and warmed at start-up, so no request pays for creating one.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from app.errors import ModelLoadError
from app.inference.activations import pool_maps
from app.preprocess import FIELD

SIGNATURE = "serving_default"
PROBABILITIES = "probabilities"
LOGITS = "logits"
THREADS_PER_INTERPRETER = 1  # one request per core scales better than one request on two cores
POOL_MAX = 4


class _Slot:
    """One interpreter with its tensor indices, resized only when the batch size changes."""

    def __init__(self, content: bytes) -> None:
        self.interpreter = Interpreter(model_content=content, num_threads=THREADS_PER_INTERPRETER)
        runner = self.interpreter.get_signature_runner(SIGNATURE)
        self.input = runner.get_input_details()["image"]["index"]
        self.outputs = {name: detail["index"] for name, detail in runner.get_output_details().items()}
        del runner  # it holds views into the interpreter, which would block allocate_tensors()
        self.batch = 0
        self.resize(1)

    def resize(self, batch: int) -> None:
        if batch != self.batch:
            self.interpreter.resize_tensor_input(self.input, [batch, FIELD, FIELD, 1], strict=False)
            self.interpreter.allocate_tensors()
            self.batch = batch

    def run(self, images: np.ndarray, names: list[str]) -> list[np.ndarray]:
        """Set the input, invoke once, copy out the named outputs (get_tensor copies)."""
        self.resize(images.shape[0])
        self.interpreter.set_tensor(self.input, np.ascontiguousarray(images, dtype=np.float32))
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(self.outputs[name]) for name in names]


class LiteRTRuntime:
    """Probabilities (and, on request, hidden activations and logits) from an exported `.tflite` model."""

    name = "litert"

    def __init__(self, path: Path, pool_size: int | None = None) -> None:
        if not path.is_file():
            raise ModelLoadError(f"no LiteRT file {path.name}; make it with `digit-lab export --all`")
        content = path.read_bytes()
        size = pool_size or max(1, min(POOL_MAX, os.cpu_count() or 1))
        try:
            slots = [_Slot(content) for _ in range(size)]
        except Exception as error:  # a corrupt or foreign file: LiteRT raises ValueError/RuntimeError
            raise ModelLoadError(f"cannot load {path.name}: {type(error).__name__}: {error}") from None
        missing = {PROBABILITIES, LOGITS} - set(slots[0].outputs)
        if missing:
            raise ModelLoadError(f"{path.name} lacks the outputs {sorted(missing)}; re-run `digit-lab export`")
        self.explained_layers = sorted((n for n in slots[0].outputs if n.startswith("act_")),
                                       key=lambda n: int(n.split("_")[1]))
        self._slots: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        for slot in slots:
            self._slots.put(slot)
        self.pool_size = size

    @contextmanager
    def _borrow(self) -> Iterator[_Slot]:
        slot = self._slots.get()
        try:
            yield slot
        finally:
            self._slots.put(slot)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28, 1) float32 → (n, 10) probabilities."""
        with self._borrow() as slot:
            return slot.run(images, [PROBABILITIES])[0]

    def predict_now(self, images: np.ndarray) -> np.ndarray | None:
        """Probabilities on this thread when an interpreter is free at once, else None (the caller queues the
        images instead): the event loop calls this, and must never wait for an interpreter."""
        try:
            slot = self._slots.get_nowait()
        except queue.Empty:
            return None
        try:
            return slot.run(images, [PROBABILITIES])[0]
        finally:
            self._slots.put(slot)

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
        """One (1, 28, 28, 1) image → [(layer name, activations)], logits. Conv maps are pooled."""
        with self._borrow() as slot:
            *activations, logits = slot.run(image[:1], [*self.explained_layers, LOGITS])
        return [(name, pool_maps(values[0])) for name, values in zip(self.explained_layers, activations,
                                                                      strict=True)], logits[0]

    def warm(self) -> None:
        """Run every pooled interpreter once (XNNPACK packs weights on first invoke)."""
        blank = np.zeros((1, FIELD, FIELD, 1), dtype=np.float32)
        slots = [self._slots.get() for _ in range(self.pool_size)]
        try:
            for slot in slots:
                slot.run(blank, [PROBABILITIES, LOGITS, *self.explained_layers])
        finally:
            for slot in slots:
                self._slots.put(slot)
