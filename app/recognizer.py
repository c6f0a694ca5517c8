"""The request path's work, apart from HTTP: bytes → 28x28 input → model → answer schema.

Routes call these from worker threads (they are plain `def` routes), so decoding, preprocessing and
inference never block the event loop.
"""

from __future__ import annotations

import time

import numpy as np

from app.config import Settings
from app.errors import PayloadTooLargeError
from app.imaging import decode_base64_image, decode_image
from app.inference.registry import LoadedModel, Registry
from app.preprocess import to_mnist
from app.schemas import CompareResponse, Explanation, LayerActivations, ModelAnswer, Prediction

INPUT_DECIMALS = 3  # the preview grid needs no more precision, and it keeps the JSON small
OUTPUT_DECIMALS = 6


def image_from_bytes(data: bytes, settings: Settings) -> np.ndarray:
    """Raw image bytes → the 28x28 float32 input the model sees."""
    if len(data) > settings.max_request_bytes:
        raise PayloadTooLargeError(f"The image is larger than the limit of {settings.max_request_bytes:,} bytes.")
    return to_mnist(decode_image(data, settings.max_image_pixels, settings.max_image_side))


def image_from_text(text: str, settings: Settings) -> np.ndarray:
    """Data URL or bare base64 → the 28x28 float32 input the model sees."""
    return image_from_bytes(decode_base64_image(text, settings.max_request_bytes), settings)


def _answer(model_id: str, probabilities: np.ndarray) -> ModelAnswer:
    rounded = [round(float(p), OUTPUT_DECIMALS) for p in probabilities]
    return ModelAnswer(model=model_id, digit=int(np.argmax(probabilities)), probabilities=rounded)


def rounded(values: np.ndarray) -> list:
    """Nested lists rounded to INPUT_DECIMALS. Rounded in float64: a float32 0.174 becomes 0.17399999499320984
    in JSON, which made answers ~3x longer to write, send and parse."""
    return np.round(values.astype(np.float64), INPUT_DECIMALS).tolist()


def _grid(image: np.ndarray) -> list[list[float]]:
    return rounded(image)


def _explanation(loaded: LoadedModel, batch: np.ndarray) -> Explanation:
    layers, logits = loaded.runtime.explain(batch)
    return Explanation(
        logits=[round(float(v), OUTPUT_DECIMALS) for v in logits],
        layers=[
            LayerActivations(name=name, shape=list(values.shape), values=rounded(values))
            for name, values in layers
        ],
    )


def predict(images: list[np.ndarray], loaded: LoadedModel, started: float, explain: bool = False) -> list[Prediction]:
    """Run prepared 28x28 images through one model in a single call; answers in order."""
    batch = np.stack(images)[..., np.newaxis]
    if len(images) == 1:  # single images from concurrent requests share model calls
        probabilities = loaded.batcher.predict_one(batch[0])[np.newaxis]
    else:
        probabilities = loaded.runtime.predict(batch)
    explanation = _explanation(loaded, batch[:1]) if explain else None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return [
        Prediction(
            **_answer(loaded.card.id, p).model_dump(),
            input=_grid(image),
            elapsed_ms=elapsed_ms,
            explain=explanation,
        )
        for image, p in zip(images, probabilities, strict=True)
    ]


def compare(image: np.ndarray, registry: Registry, started: float) -> CompareResponse:
    """One prepared image answered by every loaded model (default first)."""
    batch = image[np.newaxis, ..., np.newaxis]
    registry.wait()  # every model answers, even in the first seconds while some still load
    order = [registry.default] + sorted(m for m in registry.models if m != registry.default)
    answers = [_answer(model_id, registry.models[model_id].runtime.predict(batch)[0]) for model_id in order]
    return CompareResponse(
        input=_grid(image), answers=answers, elapsed_ms=round((time.perf_counter() - started) * 1000, 3)
    )
