"""JSON bodies checked for shape before FastAPI validates them: cheap refusal of hostile JSON.

Why a middleware of our own: FastAPI parses the body with plain `json.loads` and hands it to pydantic, which
validates every item before a length limit can act. A 2 MB body of 300,000 wrong items made 300,000 errors
(20 s on the event loop, a 14 MB answer); 150,000 unknown keys did the same. `json.loads` itself is fast
(a 2 MB body in tens of milliseconds, in C), so we parse once here, with a pairs hook that counts keys and
refuses duplicates, and look at list lengths and nesting before the app sees the body. Nothing here builds
an error per item, so a refusal costs the parse and no more.

Bodies that are not JSON at all (invalid, not UTF-8) pass through unchanged: the app's own messages for those
stay as documented.

The JSON bodies held by one worker at a time are bounded too (`body_budget_bytes`): each request may be up to
the body limit, and hundreds of them at once would otherwise hold hundreds of megabytes. A request that would
go over the budget gets a 503 with Retry-After; the page's canvas requests are a few kilobytes each.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_KEYS = 32  # per object; the request schemas have at most 3 fields
MAX_DEPTH = 16  # the request schemas nest 2 deep
BATCH_FIELD = "images"
LONG_STRING = 256  # strings longer than this (images) are not needed to judge the shape
SPARE_VALUES = 64  # beyond the images: the other fields, their names and values
METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


class Refused(Exception):
    """A body refused for its shape: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))
    return False


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object hook: at most MAX_KEYS keys, each once (a duplicate would silently take the last)."""
    if len(pairs) > MAX_KEYS:
        raise Refused(422, f"A JSON object in the body has {len(pairs):,} keys; no object here takes more than "
                           f"{MAX_KEYS}.")
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise Refused(422, f"The key {twice[:60]!r} appears more than once in one JSON object; send each field once.")
    return result


def check_shape(value: Any, max_items: int, depth: int = 0, key: str | None = None) -> None:
    """Lists of at most `max_items`, nesting at most MAX_DEPTH; the batch gets its own (documented) 413."""
    if depth > MAX_DEPTH:
        raise Refused(422, f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    if isinstance(value, list):
        if len(value) > max_items:
            if key == BATCH_FIELD and depth == 1:
                raise Refused(413, f"The batch holds {len(value):,} images; the limit is {max_items} per request.")
            raise Refused(422, f"A JSON list in the body holds {len(value):,} items; no list here takes more than "
                               f"{max_items}.")
        for item in value:
            if isinstance(item, list | dict):
                check_shape(item, max_items, depth + 1)
    elif isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, list | dict):
                check_shape(item, max_items, depth + 1, name)


def skeleton(body: bytes, max_strings: int) -> bytes:
    """The body with long strings emptied, for the shape check: scanning a 50 kB data URL is most of a parse's
    cost, and the app parses the body again anyway. Strings are found with `find` (memchr, in C), so the page's
    body costs a few microseconds; more than `max_strings` strings is refused on the way. Exact when the body
    holds no backslash (no escapes, so every quote delimits a string), which base64 never needs; a body with
    one is returned whole."""
    if b"\\" in body:
        return body
    parts: list[bytes] = []
    position = strings = 0
    while (start := body.find(b'"', position)) >= 0:
        end = body.find(b'"', start + 1)
        if end < 0:
            return body  # unbalanced quotes: invalid JSON, for the app to report
        strings += 1
        if strings > max_strings:
            raise Refused(413, f"The JSON body holds more than {max_strings} strings; the limit is "
                               f"{(max_strings - SPARE_VALUES) // 2} images per batch and a few fields per object.")
        parts += [body[position : start + 1], body[start + 1 : end] if end - start <= LONG_STRING else b"", b'"']
        position = end + 1
    parts.append(body[position:])
    return b"".join(parts)


def check_body(body: bytes, max_items: int) -> None:
    """Raise Refused for a JSON body of a hostile shape; return for anything else (valid or not JSON)."""
    # Parsing many small values is slow (150,000 keys took 0.3 s): strings are counted on the way to the skeleton,
    # and a comma count on the skeleton (in C) bounds the other values before json.loads sees them.
    shape = skeleton(body, 2 * max_items + SPARE_VALUES)
    commas = shape.count(b",")
    if commas > max_items + SPARE_VALUES:
        raise Refused(413, f"The JSON body holds about {commas + 1:,} values; the limit is {max_items} images per "
                           "batch and a few fields per object.")
    try:
        parsed = json.loads(shape, object_pairs_hook=unique_pairs)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError: the app says what is wrong
        return
    except RecursionError:
        raise Refused(422, f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
    check_shape(parsed, max_items)


BUSY = "The server is holding too many large requests right now; try again in a moment."


class JsonGuardMiddleware:
    """Reads a JSON request's body (already capped by BodyLimitMiddleware), checks its shape, replays it."""

    held = 0  # bytes of JSON bodies this worker holds now, across requests

    def __init__(self, app: ASGIApp, max_items: int, budget_bytes: int) -> None:
        self.app = app
        self.max_items = max_items
        self.budget_bytes = budget_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODY or not is_json(scope):
            await self.app(scope, receive, send)
            return
        counted = 0
        try:
            chunks: list[bytes] = []
            try:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left: nothing to answer, no work to do
                    chunk = message.get("body", b"")
                    if JsonGuardMiddleware.held + len(chunk) > self.budget_bytes:
                        await answer(send, 503, BUSY, close=True, retry_after=1)
                        return
                    JsonGuardMiddleware.held += len(chunk)
                    counted += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
                body = b"".join(chunks)
                del chunks
                check_body(body, self.max_items)
            except HTTPException as error:  # the body limit, while streaming
                await answer(send, error.status_code, str(error.detail), close=True)
                return
            except Refused as refused:
                await answer(send, refused.status, refused.message)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        finally:
            JsonGuardMiddleware.held -= counted


async def answer(send: Send, status: int, detail: str, close: bool = False, retry_after: int | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
