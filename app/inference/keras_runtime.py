"""A trained `.keras` model behind one compiled call with a fixed input signature.

`model.predict()` builds a data pipeline per call; a `tf.function` traced once for (None, 28, 28, 1) float32
skips that, costs well under a millisecond for these models, and is safe to call from several threads at once.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.errors import ModelLoadError
from app.inference.activations import EXPLAIN_MAP_SIDE, EXPLAIN_MAX_CHANNELS, pool_maps  # noqa: F401 (re-exported)
from app.modeling import layers as _custom_layers  # noqa: F401  (registers Maxout for loading)
from app.preprocess import FIELD

INPUT_SIGNATURE = [tf.TensorSpec([None, FIELD, FIELD, 1], tf.float32, name="image")]


class KerasRuntime:
    """Probabilities (and, on request, hidden activations and logits) from a saved Keras model."""

    name = "keras"

    def __init__(self, path: Path) -> None:
        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many types for a bad file; all mean the same here
            raise ModelLoadError(f"cannot load {path.name}: {type(error).__name__}: {error}") from None
        model = self.model
        # Concrete functions: traced once here, and each call skips tf.function's argument dispatch.
        self._probabilities = tf.function(lambda x: model(x, training=False),
                                          input_signature=INPUT_SIGNATURE).get_concrete_function()
        hidden = [layer for layer in model.layers if layer.name.startswith("act_")]
        outputs = [layer.output for layer in hidden] + [model.get_layer("logits").output]
        explainer = keras.Model(model.input, outputs)
        self.explained_layers = [layer.name for layer in hidden]
        self._explain = tf.function(lambda x: explainer(x, training=False),
                                    input_signature=INPUT_SIGNATURE).get_concrete_function()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28, 1) float32 → (n, 10) probabilities."""
        return self._probabilities(images).numpy()

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
        """One (1, 28, 28, 1) image → [(layer name, activations)], logits. Conv maps are pooled."""
        *activations, logits = (value.numpy()[0] for value in self._explain(image))
        return [
            (name, pool_maps(values)) for name, values in zip(self.explained_layers, activations, strict=True)
        ], logits

    def warm(self) -> None:
        """Run both graph paths once so the first request pays nothing for tracing."""
        blank = np.zeros((2, FIELD, FIELD, 1), dtype=np.float32)
        self.predict(blank)
        self.explain(blank[:1])
