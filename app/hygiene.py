"""Small HTTP courtesies as one outer ASGI middleware: HEAD, redirects, and requests cut by shutdown.

- HEAD is answered as GET without the body (FastAPI's routes answer HEAD with 405; monitors and link checkers
  send HEAD to / and /healthz).
- A redirect's Location is made path-only: Starlette builds it from the request's Host header, so
  `GET /static` with `Host: evil.example` sent visitors to evil.example.
- A request still running when the graceful-shutdown timeout cancels it gets a 503 with Retry-After and
  `Connection: close` instead of uvicorn's 500 and a traceback in the log: the client may simply retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("digit_lab")
SHUTTING_DOWN = "The server is restarting; send the request again in a moment."


def path_only(location: bytes) -> bytes:
    """`http://any.host/static/?q` → `/static/?q`; a relative location is kept."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ("/" + path.lstrip("/")).encode("latin-1")


class HygieneMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        started = False

        async def courteous_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if 300 <= message["status"] < 400:
                    message["headers"] = [(n, path_only(v) if n.lower() == b"location" else v)
                                          for n, v in message.get("headers", [])]
            elif head and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, receive, courteous_send)
        except asyncio.CancelledError:
            if started:
                raise
            log.warning("%s %s cut short by shutdown: answered 503", scope["method"], scope["path"])
            body = json.dumps({"detail": SHUTTING_DOWN}).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"retry-after", b"1"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": b"" if head else body})
