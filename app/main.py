"""create_app(): the FastAPI application — lifespan (models), middleware, routers, pages, error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from app import __version__
from app.admission import AdmissionMiddleware
from app.admission import configure as configure_admission
from app.api import docs, health, models, pages, predict
from app.assets import asset_dir
from app.config import Settings, get_settings
from app.errors import DigitLabError
from app.hygiene import HygieneMiddleware
from app.inference.registry import Registry
from app.json_guard import JsonGuardMiddleware
from app.middleware import SECURITY_HEADERS, BodyLimitMiddleware, SecurityHeadersMiddleware
from app.schemas import ErrorResponse

log = logging.getLogger("digit_lab")
DESCRIPTION = (
    "Recognise handwritten digits with Keras models trained on MNIST, and compare networks that differ "
    "only in their activation function. Errors are JSON `{\"detail\": \"...\"}` with a 4xx status."
)
# Any route can fail unexpectedly; the answer is then this generic body, never a traceback.
SERVER_ERROR = {500: {"model": ErrorResponse, "description": "Unexpected server error (logged; no details sent)."}}
MAX_FIELD_NAME = 60  # field names come from the client: never echo an unbounded one
MAX_ERRORS_SHOWN = 3  # an error body stays small whatever the input: a few problems and a count of the rest


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and warm the default model before the server accepts a connection; the others follow in the
    background (or before it too, with preload_all). Each model loads once per worker."""
    settings: Settings = app.state.settings
    if getattr(app.state, "registry", None) is None:
        app.state.registry = Registry.load(settings.models_dir, settings.default_model, settings.runtime,
                                           background=not settings.preload_all)
    registry = app.state.registry
    log.info("ready: %s (%s runtime)", ", ".join(sorted(registry.models)), settings.runtime)
    yield
    registry.close()


def validation_message(error: RequestValidationError) -> str:
    """Pydantic's error list → one sentence per problem, without echoing the (possibly huge) input."""
    parts = []
    errors = error.errors()
    for item in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")[:MAX_FIELD_NAME] or "body"
        if item.get("type") == "json_invalid":
            parts.append("The body is not valid JSON.")
        elif item.get("type") == "missing" and where == "body":
            parts.append("The request body is missing: send JSON like {\"image\": \"data:image/png;base64,...\"}.")
        elif where == "body" and item.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            parts.append("The body must be a JSON object, like {\"image\": \"data:image/png;base64,...\"}.")
        elif item.get("type") == "missing":
            parts.append(f"The field {where!r} is required but missing.")
        elif item.get("type") == "extra_forbidden":
            parts.append(f"The field {where!r} is not accepted here.")
        else:
            parts.append(f"{where}: {str(item.get('msg', 'invalid'))[:200]}.")
    if len(errors) > MAX_ERRORS_SHOWN:
        parts.append(f"(And {len(errors) - MAX_ERRORS_SHOWN:,} more problems.)")
    return " ".join(parts) or "The request is not valid."


def add_error_handlers(app: FastAPI) -> None:
    """One mapping from errors to JSON `{"detail": ...}`; no traceback or path ever reaches a client."""

    @app.exception_handler(DigitLabError)
    async def known_error(_: Request, error: DigitLabError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(error)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = str(error.detail)
        if isinstance(error.__cause__, UnicodeDecodeError):  # FastAPI's words: "There was an error parsing the body"
            detail = "The body is not valid JSON: it is not UTF-8 text."
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Starlette answers this one outside every middleware, so the security headers are added here.
        headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
        return JSONResponse({"detail": "Something went wrong on our side; it has been logged."}, status_code=500,
                            headers=headers)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the app. Tests may pass a ready registry to share loaded models between apps."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # /docs and /redoc come from app.api.docs, with their scripts served here instead of from a CDN.
    app = FastAPI(title="digit-lab", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  responses=SERVER_ERROR, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.registry = registry
    add_error_handlers(app)
    # Innermost first: the JSON shape check reads the body only once admitted, and admission buffers nothing
    # past the body limit.
    app.add_middleware(JsonGuardMiddleware, max_items=settings.max_batch, budget_bytes=settings.body_budget_bytes)
    configure_admission(settings.heavy_concurrency, settings.heavy_queue, settings.heavy_queue_wait_s)
    app.add_middleware(AdmissionMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    # Starlette spools an upload over 1 MiB to a temporary file; the body limit caps every upload, so a spool
    # that large keeps what people send in memory and never on disk.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"])
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HygieneMiddleware)
    app.router.routes.extend(predict.FAST_ROUTES)  # first: see app/api/predict.py
    for router in (predict.router, models.router, health.router, pages.router, docs.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=asset_dir("static")), name="static")
    return app
