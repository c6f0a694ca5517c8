"""Pure ASGI middleware: the request-body limit and the security headers.

The body limit answers 413 from Content-Length before reading anything, and otherwise counts bytes as
they stream in; the overflow is raised as an HTTPException so FastAPI's body reader passes it through
to the one error handler (any other exception there would become a vague 400).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# /docs and /redoc run their own scripts and styles (served from here, see app.api.docs) plus an inline start-up
# script; ReDoc also starts a web worker from a blob: URL. Nothing comes from another host.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; "
    b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"frame-ancestors 'none'"
)


# Up to this multiple of the limit, a refused body is left to the server to discard as it arrives (uvicorn drops
# the rest of a request it has answered, chunk by chunk) so the client reads its 413. Closing at once with the body
# unread makes the kernel reset the connection, and the client may see "connection reset" instead of the answer.
# Beyond it, nobody should wait for the upload: the connection is closed.
DISCARD_FACTOR = 8


def too_large_message(max_bytes: int) -> str:
    return f"The request body is larger than the limit of {max_bytes:,} bytes."


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, never reading more than that."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            status = 413 if declared.isdigit() else 400
            detail = too_large_message(self.max_bytes) if status == 413 else "Content-Length is not a number."
            body = json.dumps({"detail": detail}).encode()
            headers = [(b"content-type", b"application/json")]
            if status == 400 or int(declared) > DISCARD_FACTOR * self.max_bytes:
                headers.append((b"connection", b"close"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, too_large_message(self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeadersMiddleware:
    """Adds CSP (no inline script), nosniff, Referrer-Policy and framing limits to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope["path"].startswith(DOCS_PATHS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                if is_docs:
                    extra = [(n, DOCS_CSP if n == b"content-security-policy" else v) for n, v in extra]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
