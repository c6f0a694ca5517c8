"""The loaded models by id: each a card and a runtime, loaded and warmed once at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from app.errors import ModelLoadError, UnknownModelError
from app.inference.card import ModelCard

log = logging.getLogger("digit_lab.registry")


class Runtime(Protocol):
    """What serving needs from an inference runtime."""

    name: str

    def predict(self, images: np.ndarray) -> np.ndarray: ...

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]: ...

    def warm(self) -> None: ...


@dataclass(frozen=True)
class LoadedModel:
    card: ModelCard
    runtime: Runtime


def load_runtime(kind: str, models_dir: Path, model_id: str) -> Runtime:
    """Build the configured runtime for one model (imports stay lazy: LiteRT needs no TensorFlow)."""
    if kind == "litert":
        from app.inference.litert_runtime import LiteRTRuntime

        return LiteRTRuntime(models_dir / f"{model_id}.tflite")
    from app.inference.keras_runtime import KerasRuntime

    return KerasRuntime(models_dir / f"{model_id}.keras")


@dataclass
class Registry:
    """Models that loaded, models that did not (and why), and the default."""

    default: str
    models: dict[str, LoadedModel] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, models_dir: Path, default: str, runtime: str = "keras") -> Registry:
        """Load every `<id>.json` card in `models_dir` with its model file; warm each one.

        A model that fails is recorded in `failed` and the others still serve. It is fatal (ModelLoadError)
        when the directory holds no cards, or when the default model cannot be loaded.
        """
        registry = cls(default=default)
        cards = sorted(models_dir.glob("*.json")) if models_dir.is_dir() else []
        if not cards:
            raise ModelLoadError(f"no model cards (*.json) in {models_dir}; train one with `digit-lab train`")
        for card_path in cards:
            model_id = card_path.stem
            try:
                card = ModelCard.read(card_path)
                loaded = load_runtime(runtime, models_dir, model_id)
                loaded.warm()
            except ModelLoadError as error:
                registry.failed[model_id] = str(error)
            except Exception as error:  # a corrupt card or file: record it, keep serving the rest
                registry.failed[model_id] = f"{type(error).__name__}: {error}".splitlines()[0]
            else:
                registry.models[model_id] = LoadedModel(card, loaded)
        for model_id, reason in registry.failed.items():
            log.error("model %s not loaded: %s", model_id, reason)
        if default not in registry.models:
            reason = registry.failed.get(default, f"no card {default}.json in {models_dir}")
            raise ModelLoadError(f"default model {default!r} is not available: {reason}")
        return registry

    def get(self, model_id: str | None) -> LoadedModel:
        """The named model (or the default); UnknownModelError lists the known ids."""
        model_id = model_id or self.default
        if model_id not in self.models:
            raise UnknownModelError(model_id, list(self.models))
        return self.models[model_id]
