"""/docs (Swagger UI) and /redoc served with their scripts from this server, so they work offline.

FastAPI's own pages fetch Swagger UI and ReDoc from a CDN: without internet they stay blank. The files come
from the `fastapi-offline` package (MIT; it carries Swagger UI, Apache-2.0, and ReDoc, MIT), served here from
a fixed list of names, never a path taken from the request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from app.errors import DigitLabError

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
}
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# ReDoc's sidebar credits Redocly with a logo fetched from Redocly's CDN: offline that is a failed request (and a
# CSP error), so the copy served here draws an empty image there; the credit's link and text stay.
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
PATCHES = {"redoc.standalone.js": [(b"https://cdn.redoc.ly/redoc/logo-mini.svg", EMPTY_IMAGE)]}

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


@lru_cache(maxsize=len(ASSETS))
def asset_bytes(name: str) -> bytes:
    """One asset, read once, with its patches applied."""
    content = (ASSETS_DIR / name).read_bytes()
    for old, new in PATCHES.get(name, []):
        content = content.replace(old, new)
    return content


@router.get(f"{ASSETS_URL}/{{name}}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise UnknownAssetError(name)
    return Response(asset_bytes(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})
