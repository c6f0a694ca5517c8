"""HTML pages rendered by Jinja2 (placeholder until the drawing page lands)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index() -> str:
    return "<!doctype html><title>digit-lab</title><p>digit-lab: POST /predict — see <a href=/docs>/docs</a>."
