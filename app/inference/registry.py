"""The loaded models by id: each a card and a runtime, loaded and warmed once at start-up (the default model
before the server is ready; optionally the others right after, in the background)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from app.errors import ModelLoadError, UnknownModelError
from app.inference.batcher import Batcher
from app.modeling.card import ModelCard

log = logging.getLogger("digit_lab.registry")


class Runtime(Protocol):
    """What serving needs from an inference runtime."""

    name: str

    def predict(self, images: np.ndarray) -> np.ndarray: ...

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]: ...

    def warm(self) -> None: ...

    def optimise_in_background(self) -> None: ...


@dataclass(frozen=True)
class LoadedModel:
    card: ModelCard
    runtime: Runtime
    batcher: Batcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "batcher", Batcher(self.runtime.predict, name=self.card.id))


def load_runtime(kind: str, models_dir: Path, model_id: str) -> Runtime:
    """Build the configured runtime for one model (imports stay lazy: LiteRT needs no TensorFlow)."""
    if kind == "litert":
        from app.inference.litert_runtime import LiteRTRuntime

        return LiteRTRuntime(models_dir / f"{model_id}.tflite")
    from app.inference.keras_runtime import KerasRuntime

    return KerasRuntime(models_dir / f"{model_id}.keras")


LOAD_WAIT_S = 300.0  # how long a request for a model still loading in the background may wait for it


@dataclass
class Registry:
    """Models that loaded, models that did not (and why), models still loading, and the default."""

    default: str
    models: dict[str, LoadedModel] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    loading: list[str] = field(default_factory=list)
    _settled: threading.Event = field(default_factory=threading.Event, repr=False)

    @classmethod
    def load(cls, models_dir: Path, default: str, runtime: str = "keras", others: str = "now") -> Registry:
        """Load every `<id>.json` card in `models_dir` with its model file; warm each one.

        The default model loads first. `others` says when the rest load: "now" (before returning),
        "background" (in a daemon thread, so the server is ready once the default is warm — with TensorFlow,
        each further model costs about half a second of loading and tracing), or "skip" (a start-up check: the
        default model alone, and no background compilation either, so the checking process can exit at once —
        TensorFlow aborts the process when it exits while XLA is still compiling in another thread).
        A model that fails is recorded in `failed` and the others still serve. It is fatal (ModelLoadError)
        when the directory holds no cards, or when the default model cannot be loaded.
        """
        registry = cls(default=default)
        cards = sorted(models_dir.glob("*.json")) if models_dir.is_dir() else []
        if not cards:
            raise ModelLoadError(f"no model cards (*.json) in {models_dir}; train one with `digit-lab train`")
        ids = sorted((path.stem for path in cards), key=lambda model_id: model_id != default)
        registry.loading = list(ids)
        registry._load_one(models_dir, runtime, ids[0])
        # The default serves most requests: optimise it now (the others on first use), unless this is a check.
        if default in registry.models and others != "skip":
            registry.models[default].runtime.optimise_in_background()
        if default not in registry.models:
            registry._settle()
            reason = registry.failed.get(default, f"no card {default}.json in {models_dir}")
            raise ModelLoadError(f"default model {default!r} is not available: {reason}")
        rest = ids[1:] if others != "skip" else []
        if others == "background" and rest:
            threading.Thread(target=registry._load_rest, args=(models_dir, runtime, rest), daemon=True,
                             name="digit-lab-model-loader").start()
        else:
            registry._load_rest(models_dir, runtime, rest)
        return registry

    def _load_one(self, models_dir: Path, runtime: str, model_id: str) -> None:
        try:
            card = ModelCard.read(models_dir / f"{model_id}.json")
            loaded = load_runtime(runtime, models_dir, model_id)
            loaded.warm()
        except ModelLoadError as error:
            self.failed[model_id] = str(error)
        except Exception as error:  # a corrupt card or file: record it, keep serving the rest
            self.failed[model_id] = f"{type(error).__name__}: {error}".splitlines()[0]
        else:
            self.models[model_id] = LoadedModel(card, loaded)
        if model_id in self.failed:
            log.error("model %s not loaded: %s", model_id, self.failed[model_id])
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
