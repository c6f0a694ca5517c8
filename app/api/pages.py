"""HTML pages (the drawing page, the number pad and the lesson) and the string catalogues their scripts read.

The language comes from ?lang= (and is then remembered in a cookie), else the cookie, else the
browser's Accept-Language; every visible string comes from app/i18n, for templates and scripts alike.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from app import __version__
from app.assets import asset_dir
from app.errors import UnknownLanguageError
from app.i18n import LANGUAGES, catalogue, choose_language, supported
from app.modeling.pen import page_pen

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=asset_dir("templates"))
LANG_COOKIE = "lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def render(request: Request, template: str, page: str) -> Response:
    """Render a page in the chosen language; an explicit ?lang= is remembered for a year."""
    query = request.query_params.get("lang")
    lang = choose_language(query, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    context = {"lang": lang, "t": catalogue(lang), "languages": LANGUAGES, "page": page, "version": __version__,
               "pen": page_pen()}
    response = templates.TemplateResponse(request, template, context)
    if supported(query):
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=False)
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return render(request, "index.html", "index")


@router.get("/number", response_class=HTMLResponse)
def number(request: Request) -> Response:
    return render(request, "number.html", "number")


@router.get("/lesson", response_class=HTMLResponse)
def lesson(request: Request) -> Response:
    return render(request, "lesson.html", "lesson")


@router.get("/i18n/{lang}.json")
def strings(lang: str) -> JSONResponse:
    """The same catalogue the templates use, for the scripts' dynamic text."""
    known = supported(lang)
    if known is None:
        raise UnknownLanguageError(lang, list(LANGUAGES))
    return JSONResponse(catalogue(known), headers={"Cache-Control": "public, max-age=300"})
