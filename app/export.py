"""`.keras` → `.tflite`: the trained model for the LiteRT runtime, with the outputs `explain` needs.

One signature (`serving_default`, input `image` of shape (None, 28, 28, 1) float32) whose named outputs
are `probabilities`, `logits` and every `act_*` layer. The path is the one Keras itself uses
(ExportArchive → SavedModel → TFLiteConverter.from_saved_model): converting a concrete function
directly drops Keras 3's resource variables and yields NaNs. Only builtin ops are allowed, so the file
runs on plain `ai_edge_litert` without the TensorFlow (flex) delegate. Float32 weights, no quantisation:
the LiteRT answer must equal the Keras one within 1e-5.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

INPUT_NAME = "image"
SIGNATURE = "serving_default"


def multi_output(model):  # -> keras.Model
    """The trained model with named outputs: probabilities, logits and each hidden activation."""
    import keras

    hidden = [layer for layer in model.layers if layer.name.startswith("act_")]
    outputs = {
        "probabilities": model.outputs[0],
        "logits": model.get_layer("logits").output,
        **{layer.name: layer.output for layer in hidden},
    }
    return keras.Model(model.input, outputs, name=f"{model.name}_served")


def convert(model) -> bytes:
    """A loaded Keras model → the bytes of its `.tflite` file."""
    import keras
    import tensorflow as tf

    from app.preprocess import FIELD

    served = multi_output(model)
    signature = [tf.TensorSpec([None, FIELD, FIELD, 1], tf.float32, name=INPUT_NAME)]
    with tempfile.TemporaryDirectory(prefix="digit-lab-export-") as saved_model_dir:
        archive = keras.export.ExportArchive()
        archive.track(served)
        archive.add_endpoint(SIGNATURE, functools.partial(served.__call__, training=False),
                             input_signature=signature)
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()


def export_model(keras_path: Path, out_path: Path | None = None, model=None) -> Path:
    """Write `<id>.tflite` next to `<id>.keras` (or at out_path); pass `model` to skip reloading it."""
    if model is None:
        import keras

        from app.modeling import layers as _custom_layers  # noqa: F401  (registers Maxout for loading)

        model = keras.models.load_model(keras_path, compile=False)
    out_path = out_path or keras_path.with_suffix(".tflite")
    data = convert(model)
    partial = out_path.with_name(out_path.name + ".part")  # never leave a half-written model behind
    partial.write_bytes(data)
    partial.replace(out_path)
    return out_path


def export_dir(models_dir: Path, ids: list[str] | None = None) -> list[Path]:
    """Export the named models (default: every `<id>.keras` in models_dir)."""
    ids = ids or sorted(path.stem for path in models_dir.glob("*.keras"))
    return [export_model(models_dir / f"{model_id}.keras") for model_id in ids]
