"""The request path's work, apart from HTTP: bytes → 28x28 input → model → answer schema.

Two ways in. POST /predict, the page's route, is async: a small plain PNG (the canvas) is decoded and
prepared right on the event loop (~1 ms; a hop to a worker thread and back would cost a fifth of that again,
and the work holds the GIL either way), then the model is called through `LoadedModel.predict_async`: right
on the loop when that is cheaper than a hop (LiteRT with an interpreter free; Keras when the request is alone),
otherwise awaited on the model's inference thread, where TensorFlow or LiteRT releases the GIL, so the loop
prepares the next requests meanwhile and they share the following model call. Anything larger or slower to
decode goes to a worker thread, so one big upload cannot stall other connections. The other routes are plain
`def` routes: all their work runs in worker threads.
"""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image
from starlette.concurrency import run_in_threadpool

from app.admission import run_heavy
from app.config import Settings
from app.errors import PayloadTooLargeError
from app.imaging import decode_base64_image, decode_image, quick_to_decode
from app.inference.registry import LoadedModel, Registry
from app.pairs import PairReader
from app.preprocess import to_mnist
from app.schemas import (
    Alternative,
    CompareResponse,
    Explanation,
    LayerActivations,
    ModelAnswer,
    NumberDigit,
    NumberPrediction,
    Prediction,
)
from app.segment import read_digits
from app.touching import TouchDetector
from app.verdict import decide

INLINE_MAX_PIXELS = 512 * 512  # plain PNGs up to this size are decoded on the event loop (the canvas is 140x140)
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


async def image_from_text_async(text: str, settings: Settings) -> np.ndarray:
    """Data URL or bare base64 → the 28x28 input: on the event loop when it is a small plain PNG."""
    data = decode_base64_image(text, settings.max_request_bytes)
    if quick_to_decode(data, INLINE_MAX_PIXELS):
        return image_from_bytes(data, settings)
    return await run_heavy(image_from_bytes, data, settings)  # admitted with the uploads, or a 503


async def loaded_model(registry: Registry, model_id: str | None) -> LoadedModel:
    """The model to use; only a model still loading in the background is waited for, in a worker thread."""
    loaded = registry.models.get(model_id or registry.default)
    return loaded if loaded is not None else await run_in_threadpool(registry.get, model_id)


async def recognise_async(image: np.ndarray, loaded: LoadedModel, started: float) -> Prediction:
    """One 28x28 input through the model, awaited on the event loop."""
    probabilities = await loaded.predict_async(image[..., np.newaxis])
    return build_prediction(loaded, probabilities, image, round((time.perf_counter() - started) * 1000, 3))


def build_prediction(loaded: LoadedModel, probabilities: np.ndarray, image: np.ndarray, elapsed_ms: float,
                explanation: Explanation | None = None) -> Prediction:
    """Built without validation: every field comes from our own arrays (validating the 784 input values of
    each answer cost more than serialising them)."""
    answer = _answer(loaded, probabilities, image)
    return Prediction.model_construct(
        digit=answer.digit, probabilities=answer.probabilities, verdict=answer.verdict, reason=answer.reason,
        alternatives=answer.alternatives, model=loaded.card.id, input=_grid(image), elapsed_ms=elapsed_ms,
        explain=explanation)


def _answer(loaded: LoadedModel, probabilities: np.ndarray, image: np.ndarray) -> ModelAnswer:
    """The model's answer with its verdict (app/verdict.py: the ink's shape and the card's thresholds)."""
    rounded = [round(float(p), OUTPUT_DECIMALS) for p in probabilities]
    decision = decide(image, probabilities, loaded.card.verdict)
    alternatives = [Alternative.model_construct(digit=d, probability=round(p, OUTPUT_DECIMALS))
                    for d, p in decision.alternatives] or None
    return ModelAnswer.model_construct(model=loaded.card.id, digit=int(np.argmax(probabilities)),
                                       probabilities=rounded, verdict=decision.verdict, reason=decision.reason,
                                       alternatives=alternatives)


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


def recognise_blocking(images: list[np.ndarray], loaded: LoadedModel, started: float,
                       explain: bool = False) -> list[Prediction]:
    """28x28 inputs through one model, waiting in this (worker) thread; answers in order. One image goes through
    the batcher, so it shares a model call with concurrent requests; several go in one call of their own."""
    batch = np.stack(images)[..., np.newaxis]
    if len(images) == 1:  # single images from concurrent requests share model calls
        probabilities = loaded.batcher.predict_blocking(batch[0])[np.newaxis]
    else:
        probabilities = loaded.runtime.predict(batch)
    explanation = _explanation(loaded, batch[:1]) if explain else None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return [
        build_prediction(loaded, p, image, elapsed_ms, explanation)
        for image, p in zip(images, probabilities, strict=True)
    ]


def every_model_answers(image: np.ndarray, registry: Registry, started: float) -> CompareResponse:
    """One 28x28 input answered by every loaded model (default first)."""
    batch = image[np.newaxis, ..., np.newaxis]
    registry.wait()  # every model answers, even in the first seconds while some still load
    order = [registry.default] + sorted(m for m in registry.models if m != registry.default)
    answers = [_answer(registry.models[model_id], registry.models[model_id].runtime.predict(batch)[0], image)
               for model_id in order]
    return CompareResponse(
        input=_grid(image), answers=answers, elapsed_ms=round((time.perf_counter() - started) * 1000, 3)
    )


def _submitted_size(data: bytes) -> tuple[int, int]:
    """(width, height) of the image as sent, from its header (already decoded once, so it opens): decoding
    box-averages a huge image, and the boxes are in the pixels that were sent."""
    return Image.open(io.BytesIO(data)).size


def read_number(text: str, loaded: LoadedModel, settings: Settings, started: float,
                detector: TouchDetector | None = None, pairs: PairReader | None = None) -> NumberPrediction:
    """A written number → its digits left to right, each through `to_mnist` and the model (one batched call,
    a second only when a narrow group is unsure and may hide touching digits)."""
    data = decode_base64_image(text, settings.max_request_bytes)
    if len(data) > settings.max_request_bytes:
        raise PayloadTooLargeError(f"The image is larger than the limit of {settings.max_request_bytes:,} bytes.")
    grey = decode_image(data, settings.max_image_pixels, settings.max_image_side)
    width, height = _submitted_size(data)
    scale_x, scale_y = width / grey.shape[1], height / grey.shape[0]
    digits = read_digits(grey, lambda batch: loaded.runtime.predict(batch[..., np.newaxis]), settings.max_digits,
                         detector, pairs)
    answers = []
    for digit in digits:
        x0, y0, x1, y1 = digit.box
        box = [int(x0 * scale_x), int(y0 * scale_y), min(width, round(x1 * scale_x)), min(height, round(y1 * scale_y))]
        answer = _answer(loaded, digit.probabilities, digit.image)  # each digit's own verdict (app/verdict.py)
        answers.append(NumberDigit.model_construct(
            digit=answer.digit, probabilities=answer.probabilities, verdict=answer.verdict, reason=answer.reason,
            alternatives=answer.alternatives, box=box))
    return NumberPrediction.model_construct(
        number="".join(str(d.digit) for d in answers), digits=answers, model=loaded.card.id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
