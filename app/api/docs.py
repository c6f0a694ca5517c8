"""/docs (Swagger UI) and /redoc served with their scripts from this server, so they work offline.

FastAPI's own pages fetch Swagger UI and ReDoc from a CDN: without internet they stay blank. The files come
from the `fastapi-offline` package (MIT; it carries Swagger UI, Apache-2.0, and ReDoc, MIT), served here from
a fixed list of names, never a path taken from the request.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from app.errors import DigitLabError

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
}
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)


class UnknownAssetError(DigitLabError):
    status_code = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no documentation asset named {name[:60]!r}.")


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} · API",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL, swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css", swagger_favicon_url="/static/favicon.svg",
    )


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} · API",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js", redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )


@router.get(f"{ASSETS_URL}/{{name}}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise UnknownAssetError(name)
    return FileResponse(ASSETS_DIR / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})
