"""The loaded models by id: each a card and a runtime, loaded and warmed once at start-up (the default model
before the server is ready; optionally the others right after, in the background)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from app.errors import ModelLoadError, UnknownModelError
from app.inference.batcher import Batcher
from app.modeling.card import ModelCard
from app.pairs import PAIRS_FILE, PairReader, load_pair_reader
from app.touching import TOUCHING_FILE, TouchDetector, load_detector

log = logging.getLogger("digit_lab.registry")


class Runtime(Protocol):
    """What serving needs from an inference runtime."""

    name: str

    def predict(self, images: np.ndarray) -> np.ndarray: ...

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]: ...

    def warm(self) -> None: ...

    # Optional: `predict_now(images) -> probabilities | None` answers on the calling thread when that is cheaper
    # than the hop to the inference thread, or None to have the image queued (see LoadedModel.predict_async).


@dataclass(frozen=True)
class LoadedModel:
    card: ModelCard
    runtime: Runtime
    batcher: Batcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A runtime with its own predict_now answers on the loop itself; its batcher must never run there.
        object.__setattr__(self, "batcher", Batcher(self.runtime.predict, name=self.card.id,
                                                    alone_on_loop=not hasattr(self.runtime, "predict_now")))

    async def predict_async(self, image: np.ndarray) -> np.ndarray:
        """One (28, 28, 1) image's (10,) probabilities, for the event loop. A runtime whose call costs less than
        the hop to the inference thread and back answers right here (LiteRT: the hop's wake-ups cost more CPU
        than the model, and CPU is what a busy worker runs out of); otherwise the batcher runs it here when it
        is alone, or queues it to share a model call with other requests while the loop goes on."""
        predict_now = getattr(self.runtime, "predict_now", None)
        probabilities = predict_now(image[np.newaxis]) if predict_now is not None else None
        if probabilities is not None:
            return probabilities[0]
        return await self.batcher.predict_async(image)


def load_runtime(kind: str, models_dir: Path, model_id: str) -> Runtime:
    """Build the configured runtime for one model (imports stay lazy: LiteRT needs no TensorFlow)."""
    if kind == "litert":
        from app.inference.litert_runtime import LiteRTRuntime

        return LiteRTRuntime(models_dir / f"{model_id}.tflite")
    from app.inference.keras_runtime import KerasRuntime

    return KerasRuntime(models_dir / f"{model_id}.keras")


def load_model(models_dir: Path, model_id: str, runtime: str) -> LoadedModel:
    """One model's card and runtime, warmed; ModelLoadError (one line) says why it cannot serve."""
    card_path = models_dir / f"{model_id}.json"
    if not card_path.is_file():
        raise ModelLoadError(f"no card {card_path.name} in {models_dir}")
    try:
        card = ModelCard.read(card_path)
        loaded = load_runtime(runtime, models_dir, model_id)
        loaded.warm()
    except ModelLoadError:
        raise
    except Exception as error:  # a corrupt card or file
        raise ModelLoadError(f"{type(error).__name__}: {error}".splitlines()[0]) from None
    return LoadedModel(card, loaded)


def model_ids(models_dir: Path) -> list[str]:
    """The ids of the cards in `models_dir`; ModelLoadError when there are none (nothing could ever serve)."""
    ids = sorted(path.stem for path in models_dir.glob("*.json")) if models_dir.is_dir() else []
    if not ids:
        raise ModelLoadError(f"no model cards (*.json) in {models_dir}; train one with `digit-lab train`")
    return ids


def load_default(models_dir: Path, default: str, runtime: str) -> LoadedModel:
    """The default model alone: what must load for the server to start (ModelLoadError otherwise)."""
    model_ids(models_dir)
    try:
        return load_model(models_dir, default, runtime)
    except ModelLoadError as error:
        raise ModelLoadError(f"default model {default!r} is not available: {error}") from None


LOAD_WAIT_S = 300.0  # how long a request for a model still loading in the background may wait for it


T = TypeVar("T")


def _number_model(load: Callable[[Path], T | None], models_dir: Path, file_name: str, what: str) -> T | None:
    """One of number reading's own small models: None where the folder has none (numbers are still read), a
    ModelLoadError where the file is broken (the server must not start without saying so)."""
    try:
        return load(models_dir)
    except (OSError, KeyError, ValueError) as error:
        raise ModelLoadError(f"{Path(models_dir) / file_name}: not a {what} ({error})") from error


@dataclass
class Registry:
    """Models that loaded, models that did not (and why), models still loading, and the default."""

    default: str
    models: dict[str, LoadedModel] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    loading: list[str] = field(default_factory=list)
    touching: TouchDetector | None = None  # for numbers: finds touching digit pairs (app/touching.py)
    pairs: PairReader | None = None  # for numbers: reads a touching pair whole, to choose the cut (app/pairs.py)
    _settled: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def load(cls, models_dir: Path, default: str, runtime: str = "keras", background: bool = False) -> Registry:
        """Load and warm every `<id>.json` card in `models_dir` with its model file, the default first.

        With `background`, the others load in a daemon thread after this returns, so a server is ready once the
        default is warm (with TensorFlow each further model costs about half a second). A model that fails is
        recorded in `failed` and the others still serve; ModelLoadError when the directory holds no cards or
        the default model cannot be loaded.
        """
        ids = model_ids(models_dir)
        registry = cls(default=default,
                       touching=_number_model(load_detector, models_dir, TOUCHING_FILE, "touching-pair detector"),
                       pairs=_number_model(load_pair_reader, models_dir, PAIRS_FILE, "pair reader"))
        registry.models[default] = load_default(models_dir, default, runtime)
        rest = [model_id for model_id in ids if model_id != default]
        registry.loading = list(rest)
        if background and rest:
            threading.Thread(target=registry._load_rest, args=(models_dir, runtime, rest), daemon=True,
                             name="digit-lab-model-loader").start()
        else:
            registry._load_rest(models_dir, runtime, rest)
        return registry

    def _load_one(self, models_dir: Path, runtime: str, model_id: str) -> None:
        try:
            self.models[model_id] = load_model(models_dir, model_id, runtime)
        except ModelLoadError as error:
            self.failed[model_id] = str(error)
            log.error("model %s not loaded: %s", model_id, error)
        self.loading = [m for m in self.loading if m != model_id]

    def _load_rest(self, models_dir: Path, runtime: str, ids: list[str]) -> None:
        try:
            for model_id in ids:
                self._load_one(models_dir, runtime, model_id)
        finally:
            self._settle()

    def _settle(self) -> None:
        self.loading = []
        self._settled.set()

    def wait(self, timeout: float = LOAD_WAIT_S) -> None:
        """Block until no model is loading any more (returns at once when all loaded before start-up)."""
        if self.loading:
            self._settled.wait(timeout)

    def close(self) -> None:
        """Stop every model's inference thread (at shutdown, after the last request)."""
        for loaded in list(self.models.values()):
            loaded.batcher.close()

    def get(self, model_id: str | None) -> LoadedModel:
        """The named model (or the default); UnknownModelError lists the known ids. A model still loading in
        the background is waited for, so every model is served from the first request on."""
        model_id = model_id or self.default
        if model_id not in self.models and model_id in self.loading:
            self.wait()
        if model_id not in self.models:
            raise UnknownModelError(model_id, list(self.models))
        return self.models[model_id]
