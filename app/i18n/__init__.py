"""One string catalogue per language, shared by the Jinja2 templates and the page's scripts.

The catalogues are flat JSON objects ("section.name": "text"). English is the reference: every other
catalogue must carry the same keys (a test checks it), so a missing translation is a failing test,
not a blank label on the page.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

CATALOGUE_DIR = Path(__file__).resolve().parent
LANGUAGES: tuple[str, ...] = ("en", "zh-TW")
DEFAULT_LANGUAGE = "en"
# Accept-Language tags that Traditional Chinese readers send; Simplified-only tags fall back to English.
ZH_TW_TAGS = ("zh-tw", "zh-hant", "zh-hk", "zh-mo", "zh")


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    """The strings of one supported language (KeyError for an unsupported one)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    return json.loads((CATALOGUE_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def supported(lang: str | None) -> str | None:
    """The supported spelling of `lang` (case-insensitive), or None."""
    if not lang:
        return None
    return next((known for known in LANGUAGES if known.lower() == lang.strip().lower()), None)


def from_accept_language(header: str | None) -> str | None:
    """The best supported language in an Accept-Language header, honouring q-values."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality >= 0:
            continue
        if tag == "zh-cn" or tag == "zh-sg" or tag == "zh-hans":
            continue
        if tag.startswith(ZH_TW_TAGS):
            return "zh-TW"
        if tag.split("-")[0] == "en":
            return "en"
    return None


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """?lang= first (an explicit choice), then the remembered cookie, then the browser's preference."""
    return supported(query) or supported(cookie) or from_accept_language(accept_language) or DEFAULT_LANGUAGE
