"""A trained `.keras` model behind one compiled call with a fixed input signature.

`model.predict()` builds a data pipeline per call (~50 ms); a `tf.function` traced once for
(None, 28, 28, 1) float32 costs well under a millisecond for this model, and is safe to call from
several threads at once. A single image — the live page's case — goes through a second function,
compiled by XLA for exactly (1, 28, 28, 1): about 15% faster than the plain graph, while XLA is no faster
for batches and would compile once per batch size. XLA's compilation (~0.4 s of CPU) starts in the
background — for the default model right after it is warm, for the others when they first answer a single
image — so it never delays readiness and models nobody asks for never compile; until it is done, single
images take the plain path.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.errors import ModelLoadError
from app.inference.activations import EXPLAIN_MAP_SIDE, EXPLAIN_MAX_CHANNELS, pool_maps  # noqa: F401 (re-exported)
from app.modeling import layers as _custom_layers  # noqa: F401  (registers Maxout for loading)

INPUT_SIGNATURE = [tf.TensorSpec([None, 28, 28, 1], tf.float32, name="image")]
SINGLE_SIGNATURE = [tf.TensorSpec([1, 28, 28, 1], tf.float32, name="image")]
log = logging.getLogger("digit_lab.keras")


class KerasRuntime:
    """Probabilities (and, on request, hidden activations and logits) from a saved Keras model."""

    name = "keras"

    def __init__(self, path: Path) -> None:
        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many types for a bad file; all mean the same here
            raise ModelLoadError(f"cannot load {path.name}: {type(error).__name__}: {error}") from None
        model = self.model
        # Concrete functions: traced once here, and each call skips tf.function's argument dispatch (~15%).
        self._probabilities = tf.function(lambda x: model(x, training=False),
                                          input_signature=INPUT_SIGNATURE).get_concrete_function()
        self._single = None  # the XLA function, once compiled
        self._compiling = threading.Lock()  # held by whoever starts the compilation, once
        self.compiled = threading.Event()  # set when the XLA path is in use (or has failed and never will be)
        hidden = [layer for layer in model.layers if layer.name.startswith("act_")]
        outputs = [layer.output for layer in hidden] + [model.get_layer("logits").output]
        explainer = keras.Model(model.input, outputs)
        self.explained_layers = [layer.name for layer in hidden]
        self._explain = tf.function(lambda x: explainer(x, training=False),
                                    input_signature=INPUT_SIGNATURE).get_concrete_function()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28, 1) float32 → (n, 10) probabilities."""
        if len(images) == 1:
            single = self._single
            if single is not None:
                return single(images).numpy()
            self.optimise_in_background()
        return self._probabilities(images).numpy()

    def explain(self, image: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
        """One (1, 28, 28, 1) image → [(layer name, activations)], logits. Conv maps are pooled."""
        *activations, logits = (value.numpy()[0] for value in self._explain(image))
        return [
            (name, pool_maps(values)) for name, values in zip(self.explained_layers, activations, strict=True)
        ], logits

    def warm(self) -> None:
        """Run both graph paths once so the first request pays nothing for tracing."""
        blank = np.zeros((2, 28, 28, 1), dtype=np.float32)
        self.predict(blank)
        self.explain(blank[:1])

    def optimise_in_background(self) -> None:
        """Start compiling the XLA single-image path in a background thread (once; later calls do nothing)."""
        if not self.compiled.is_set() and self._compiling.acquire(blocking=False):
            threading.Thread(target=self._compile_single, daemon=True, name="digit-lab-xla").start()

    def _compile_single(self) -> None:
        model = self.model
        try:
            single = tf.function(lambda x: model(x, training=False), input_signature=SINGLE_SIGNATURE,
                                 jit_compile=True).get_concrete_function()
            single(np.zeros((1, 28, 28, 1), dtype=np.float32))
        except Exception as error:  # XLA missing or failing on this platform: the plain path serves on
            log.warning("XLA compilation failed, single images use the plain graph: %s", error)
        else:
            self._single = single
        finally:
            self.compiled.set()
