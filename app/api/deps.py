"""Dependencies: the settings and the model registry the app was built with (loaded once, in the lifespan),
and the content-type checks that turn "wrong kind of body" into one clear 415 before any body is validated.

They are `async def` because they only read request state: FastAPI runs a plain `def` dependency in its thread
pool, and four thread hops per request cost more than the work they wrap."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.errors import UnsupportedMediaError
from app.inference.registry import Registry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
Model = TypeVar("Model", bound=BaseModel)


def media_type(request: Request) -> str:
    """The request's media type without parameters (`application/json; charset=utf-8` → `application/json`)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_json_type(request: Request) -> None:
    """JSON routes read only JSON: anything else is a 415 that says what to send (FastAPI alone gives a vague 422)."""
    kind = media_type(request)
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        shown = f"{kind!r}" if kind else "no Content-Type"
        raise UnsupportedMediaError(
            f"This endpoint reads JSON, but the request sent {shown[:80]}; "
            "send the header 'Content-Type: application/json' with a JSON body."
        )


async def require_json(request: Request) -> None:
    """require_json_type as a dependency (`JsonBody`), for the routes that take a FastAPI body parameter."""
    require_json_type(request)


def parse_body(schema: type[Model], body: bytes) -> Model:
    """A JSON body validated against its schema, failing exactly as FastAPI's body parameter does (the same
    422 and 400 messages through the app's handlers): for a route that reads its own body."""
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPException(400, "There was an error parsing the body") from error
    try:
        return schema.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError([{**item, "loc": ("body", *item["loc"])} for item in error.errors()]) from None


def json_body_doc(schema: type[BaseModel]) -> dict:
    """OpenAPI for a route that reads its own JSON body: the schema FastAPI would have listed."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema.model_json_schema(
        ref_template="#/components/schemas/{model}")}}}}


async def require_multipart(request: Request) -> None:
    """The upload route reads a multipart form; anything else is a 415 that says what to send."""
    kind = media_type(request)
    if kind != "multipart/form-data":
        shown = f"{kind!r}" if kind else "no Content-Type"
        raise UnsupportedMediaError(
            f"This endpoint reads an uploaded file, but the request sent {shown[:80]}; "
            "send multipart/form-data with the image in a field named 'file'."
        )


JsonBody = Depends(require_json)
MultipartBody = Depends(require_multipart)
