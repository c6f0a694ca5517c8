"""Recognition routes. POST /predict is async (see app.recognizer for why and how); the others are plain
`def` routes, which FastAPI runs in worker threads, off the event loop."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from app.api.deps import JsonBody, MultipartBody, RegistryDep, SettingsDep, json_body_doc, parse_body, require_json_type
from app.errors import PayloadTooLargeError
from app.recognizer import (
    every_model_answers,
    image_from_bytes,
    image_from_text,
    image_from_text_async,
    loaded_model,
    read_number,
    recognise_async,
    recognise_blocking,
)
from app.schemas import (
    BatchRequest,
    BatchResponse,
    CompareRequest,
    CompareResponse,
    ErrorResponse,
    NumberPrediction,
    NumberRequest,
    Prediction,
)
from app.schemas import PredictRequest as PredictBody

router = APIRouter(prefix="/predict", tags=["predict"])
ERRORS = {
    400: {"model": ErrorResponse, "description": "A body that cannot be parsed: not UTF-8, or broken multipart."},
    404: {"model": ErrorResponse, "description": "Unknown model id (the message lists the known ones)."},
    413: {"model": ErrorResponse, "description": "Body or image over the configured limit."},
    415: {"model": ErrorResponse, "description": "Content type this endpoint does not read."},
    422: {"model": ErrorResponse, "description": "Not an image, corrupt, blank, or invalid JSON."},
    503: {"model": ErrorResponse, "description": "Busy: the queue for uploads and large images is full (see "
                                                 "Retry-After)."},
}
NUMBER_ERRORS = {**ERRORS, 422: {"model": ErrorResponse, "description": "Not an image, corrupt, blank, invalid "
                                 "JSON, or more digits than DIGIT_LAB_MAX_DIGITS."}}


def as_json(answer: BaseModel) -> Response:
    """Serialise in the worker thread: for a returned model, FastAPI would validate it again, in one more thread
    hop per request. `response_model` still documents the shape."""
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post("", response_model=Prediction, responses=ERRORS, summary="Recognise one digit image",
             openapi_extra=json_body_doc(PredictBody))
async def predict_json(request: Request) -> Response:
    """The page's route, called a dozen times per drawn digit. It reads its body itself instead of through
    FastAPI's body parameter and dependencies, which cost as much as decoding the canvas (docs/serving.md);
    the checks and the error messages are the same, and the schema is still documented."""
    started = time.perf_counter()
    require_json_type(request)
    body = parse_body(PredictBody, await request.body())
    settings, registry = request.app.state.settings, request.app.state.registry
    loaded = await loaded_model(registry, body.model)
    image = await image_from_text_async(body.image, settings)
    if body.explain:
        return as_json((await run_in_threadpool(recognise_blocking, [image], loaded, started, True))[0])
    return as_json(await recognise_async(image, loaded, started))


# The same function served by a plain Starlette route, placed before the documented one (create_app): FastAPI's
# route handler (its dependency solving and exit stack, for a route that has neither) cost ~0.2 ms per request,
# a tenth of the page's whole request. Errors still reach the app's handlers; the APIRoute above stays for the
# OpenAPI schema and the docs.
FAST_ROUTES = [Route(router.prefix, predict_json, methods=["POST"])]


@router.post("/file", response_model=Prediction, responses=ERRORS, dependencies=[MultipartBody],
             summary="Recognise an uploaded image file")
def predict_file(file: UploadFile, registry: RegistryDep, settings: SettingsDep, model: str | None = None) -> Response:
    started = time.perf_counter()
    loaded = registry.get(model)
    data = file.file.read(settings.max_request_bytes + 1)
    return as_json(recognise_blocking([image_from_bytes(data, settings)], loaded, started)[0])


@router.post("/batch", response_model=BatchResponse, responses=ERRORS, dependencies=[JsonBody],
             summary="Recognise several images")
def predict_batch(body: BatchRequest, registry: RegistryDep, settings: SettingsDep) -> Response:
    started = time.perf_counter()
    if len(body.images) > settings.max_batch:
        raise PayloadTooLargeError(
            f"The batch holds {len(body.images)} images; the limit is {settings.max_batch} per request."
        )
    loaded = registry.get(body.model)
    images = [image_from_text(text, settings) for text in body.images]
    return as_json(BatchResponse(predictions=recognise_blocking(images, loaded, started)))


@router.post("/compare", response_model=CompareResponse, responses=ERRORS, dependencies=[JsonBody],
             summary="One image, every model")
def predict_compare(body: CompareRequest, registry: RegistryDep, settings: SettingsDep) -> Response:
    started = time.perf_counter()
    return as_json(every_model_answers(image_from_text(body.image, settings), registry, started))


@router.post("/number", response_model=NumberPrediction, responses=NUMBER_ERRORS, dependencies=[JsonBody],
             summary="Read a written number, digit by digit")
def predict_number(body: NumberRequest, registry: RegistryDep, settings: SettingsDep) -> Response:
    """The ink is separated into digits (strokes of one digit kept together, touching digits cut apart), each
    read like a single digit; digits left to right, each with its box in the image's pixels."""
    started = time.perf_counter()
    loaded = registry.get(body.model)
    return as_json(read_number(body.image, loaded, settings, started, registry.touching, registry.pairs))
