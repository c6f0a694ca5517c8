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
# Language ranges (lower case) → the catalogue that serves them; the longest matching prefix of subtags wins,
# so zh-Hant-HK is zh-hant and zh-Hans-CN is zh-hans. None: no catalogue for it (Simplified Chinese readers get
# English rather than Traditional characters).
RANGES: dict[str, str | None] = {
    "en": "en",
    "zh": "zh-TW",
    "zh-tw": "zh-TW",
    "zh-hant": "zh-TW",
    "zh-hk": "zh-TW",
    "zh-mo": "zh-TW",
    "zh-cn": None,
    "zh-sg": None,
    "zh-hans": None,
}

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


def quality(params: list[str]) -> float:
    """An Accept-Language item's weight: its q parameter (RFC 9110: 0 to 1), 1 without one, 0 when malformed."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 0.0
            return weight if 0.0 <= weight <= 1.0 else 0.0
    return 1.0


def catalogue_for(tag: str) -> str | None:
    """The catalogue for one language tag, by the longest prefix of its subtags that RANGES knows."""
    subtags = tag.lower().split("-")
    for length in range(len(subtags), 0, -1):
        prefix = "-".join(subtags[:length])
        if prefix in RANGES:
            return RANGES[prefix]
    return None


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (highest q, then the earliest listed), or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, *params = item.split(";")
        weight = quality(params)
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        if (lang := catalogue_for(tag)) is not None:
            return lang
    return None


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """?lang= first (an explicit choice), then the remembered cookie, then the browser's preference."""
    return supported(query) or supported(cookie) or from_accept_language(accept_language) or DEFAULT_LANGUAGE
