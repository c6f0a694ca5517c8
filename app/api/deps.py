"""Dependencies: the settings and the model registry the app was built with (loaded once, in the lifespan),
and the content-type checks that turn "wrong kind of body" into one clear 415 before any body is validated.

They are `async def` because they only read request state: FastAPI runs a plain `def` dependency in its thread
pool, and four thread hops per request cost more than the work they wrap."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.errors import UnsupportedMediaError
from app.inference.registry import Registry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def media_type(request: Request) -> str:
    """The request's media type without parameters (`application/json; charset=utf-8` → `application/json`)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def require_json(request: Request) -> None:
    """JSON routes read only JSON: anything else is a 415 that says what to send (FastAPI alone gives a vague 422)."""
    kind = media_type(request)
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        shown = f"{kind!r}" if kind else "no Content-Type"
        raise UnsupportedMediaError(
            f"This endpoint reads JSON, but the request sent {shown[:80]}; "
            "send the header 'Content-Type: application/json' with a JSON body."
        )


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
