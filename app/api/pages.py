"""HTML pages (the drawing page, the number pad and the lesson) and the string catalogues their scripts read.

The language comes from ?lang= (and is then remembered in a cookie), else the cookie, else the
browser's Accept-Language; every visible string comes from app/i18n, for templates and scripts alike.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from app import __version__
from app.api.deps import SettingsDep
from app.assets import asset_dir
from app.errors import UnknownLanguageError
from app.i18n import LANGUAGES, catalogue, choose_language, supported
from app.inference.activations import LEAKY_SLOPE
from app.modeling.pen import page_pen

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=asset_dir("templates"))
LANG_COOKIE = "lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
SCRIPTS = asset_dir("static") / "js"
IMPORT = re.compile(r'^import\b[^;]*?from\s+"\./([\w-]+)\.js"', re.MULTILINE)
# The order the lesson tells the story in (none, then the saturating ones, then the ReLU family); the CNN,
# the page's default, goes first. Every list of models on both pages follows it.
MODEL_ORDER = ("cnn", "linear", "sigmoid", "tanh", "relu", "leaky-relu", "maxout")
# Extra training runs the lesson cites, each a folder of cards beside the served models (no .keras needed).
LESSON_RUNS = ("adam", "dying")


@lru_cache
def module_imports(entry: str) -> tuple[str, ...]:
    """Every module `entry`.js imports, directly or not: the page preloads them all in parallel instead of
    discovering them one import level at a time (read from the scripts, so the list cannot go stale)."""
    seen: list[str] = []
    pending = [entry]
    while pending:
        source = (SCRIPTS / f"{pending.pop()}.js").read_text(encoding="utf-8")
        for name in IMPORT.findall(source):
            if name not in seen and name != entry:
                seen.append(name)
                pending.append(name)
    return tuple(sorted(seen))


def render(request: Request, template: str, page: str) -> Response:
    """Render a page in the chosen language; an explicit ?lang= is remembered for a year."""
    query = request.query_params.get("lang")
    lang = choose_language(query, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    context = {"lang": lang, "t": catalogue(lang), "languages": LANGUAGES, "page": page, "version": __version__,
               "imports": module_imports(page), "leaky_slope": LEAKY_SLOPE, "model_order": " ".join(MODEL_ORDER),
               "path": request.url.path, "pen": page_pen()}
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


@lru_cache(maxsize=8)
def read_cards(folder: Path, stamp: tuple[float, ...]) -> dict[str, dict]:
    """The cards of one lesson run, read once per change of the folder (`stamp`: the files' mtimes)."""
    del stamp
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


@router.get("/lesson/runs.json")
def lesson_runs(settings: SettingsDep) -> JSONResponse:
    """Cards of the contrast runs the lesson quotes (Adam instead of SGD; a learning rate that kills ReLU
    units), so its numbers come from the runs themselves. A run that was not trained is an empty list."""
    runs = {}
    for run in LESSON_RUNS:
        folder = settings.models_dir / run
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        cards = read_cards(folder, tuple(f.stat().st_mtime for f in files)) if files else {}
        runs[run] = list(cards.values())
    return JSONResponse(runs, headers={"Cache-Control": "public, max-age=300"})
