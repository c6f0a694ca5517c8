"""The project's client-facing errors: each carries its HTTP status and a message a person understands.

Routes and services raise these; `main.py` maps them to JSON once. Nothing else builds error responses.
"""

from __future__ import annotations


class DigitLabError(Exception):
    """Base class: a status code and a human-readable message (never a traceback or a file path)."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAnImageError(DigitLabError):
    """The bytes are not an image we can decode (wrong format, corrupt, truncated, empty)."""

    status_code = 422


class UnsupportedMediaError(DigitLabError):
    """The request's content type is not one this endpoint reads."""

    status_code = 415


class BlankImageError(DigitLabError):
    """The image decoded fine but holds no ink: there is no digit to read."""

    status_code = 422


class PayloadTooLargeError(DigitLabError):
    """The body or the image is larger than the configured limit."""

    status_code = 413


class UnknownModelError(DigitLabError):
    """The requested model id is not loaded."""

    status_code = 404

    def __init__(self, requested: str, known: list[str]) -> None:
        shown = requested if len(requested) <= 64 else requested[:64] + "…"
        super().__init__(f"Unknown model {shown!r}. Known models: {', '.join(sorted(known))}.")
        self.known = sorted(known)


class UnknownLanguageError(DigitLabError):
    """No string catalogue for the requested language."""

    status_code = 404

    def __init__(self, lang: str, known: list[str]) -> None:
        shown = lang if len(lang) <= 32 else lang[:32] + "…"
        super().__init__(f"No strings for language {shown!r}; choose one of: {', '.join(known)}.")


class ModelLoadError(Exception):
    """A model file is missing or corrupt at start-up (an operator error, not a client one)."""


class TooManyDigitsError(DigitLabError):
    """A number with more digits than the configured limit (each digit costs a model input)."""

    status_code = 422

    def __init__(self, found: int, limit: int) -> None:
        super().__init__(f"The image holds at least {found} digits; a number may have {limit} at most.")
