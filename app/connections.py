"""Connection hygiene in the server itself, so the demo is safe without a proxy in front.

Uvicorn gives us some of it, and we use it: `timeout_keep_alive` (idle keep-alive connections close), no
`server: uvicorn` header, and its own protocol classes. What it lacks, for the httptools protocol it runs by
default, we add in a subclass of that protocol, which uvicorn loads by import path (`http=`):

- limits on the request head: bytes (the parser otherwise keeps concatenating one header value — 128 MiB froze
  a worker for seconds, 512 MiB for minutes) and header count: 431 beyond either;
- time limits while reading: the request head (a client that connects and sends nothing, or headers a byte at
  a time, was held for ever), each pause in a body, and the whole request read: 408 and close;
- a cap on open connections per worker: at the cap, a new connection evicts the oldest one that is idle or
  still sending its head (a slowloris connection), so descriptors are never exhausted and new clients are
  served; when every connection is busy with a real request, the new one gets a 503;
- a cap on requests in flight per worker (uvicorn's limit_concurrency counts idle connections too, so slow
  connections would turn every new request away): 503 with Retry-After beyond it;
- a cap on requests per keep-alive connection;
- the security headers on the answers the protocol writes itself (400, 408, 431, 503), which never pass
  through the app's middleware.

h11 (uvicorn's other protocol) has a head size limit (`h11_max_incomplete_event_size`) but no timeouts or
counts either, and is slower; this keeps httptools.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.config import Settings, get_settings
from app.middleware import SECURITY_HEADERS

PROTOCOL = "app.connections:GuardedHttpToolsProtocol"
RETRY_AFTER_S = 1


@dataclass(frozen=True)
class Limits:
    max_connections: int
    max_in_flight: int
    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    body_timeout_s: float
    request_read_s: float
    max_requests_per_connection: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.max_connections, settings.limit_concurrency, settings.max_header_bytes,
                   settings.max_headers, settings.header_timeout_s, settings.body_timeout_s,
                   settings.request_read_s, settings.max_requests_per_connection)


@lru_cache
def limits() -> Limits:
    """Read once per worker, from the same environment the app's settings come from."""
    return Limits.from_settings(get_settings())


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config options for the hygiene above (picklable: workers get them too)."""
    return {"http": PROTOCOL, "server_header": False, "timeout_keep_alive": settings.keep_alive_s,
            "limit_concurrency": None}


def canned(status: int, detail: str, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A complete HTTP/1.1 answer with a JSON body, the security headers and `Connection: close`."""
    body = json.dumps({"detail": detail}).encode()
    head = [STATUS_LINE[status]]
    for name, value in [*SECURITY_HEADERS, (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()), (b"connection", b"close"), *extra]:
        head += [name, b": ", value, b"\r\n"]
    return b"".join([*head, b"\r\n", body])


BUSY = "The server has too many requests in progress; try again in a moment."


async def overloaded(scope: Any, receive: Any, send: Any) -> None:
    """Stands in for the app when too many requests are in flight."""
    body = json.dumps({"detail": BUSY}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [*SECURITY_HEADERS, (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                            (b"retry-after", str(RETRY_AFTER_S).encode())]})
    await send({"type": "http.response.body", "body": body})


class Refusal(Exception):
    """Raised inside a parser callback to stop parsing; the protocol then answers `status`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head, read timeouts and connection caps."""

    # This worker's connections that are idle or reading a head, oldest first (a dict keeps insertion order):
    # eviction takes the first in O(1), which matters when thousands of connections arrive at once.
    waiting: ClassVar[dict[GuardedHttpToolsProtocol, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits()
        self.limit_concurrency = None  # our own in-flight cap replaces uvicorn's (see the module docstring)
        self.in_head = True  # idle, or still reading a request head: evictable
        self.head_bytes = 0
        self.head_size = 0
        self.header_count = 0
        self.requests = 0
        self.body_pending = False
        self.head_timer: asyncio.TimerHandle | None = None
        self.read_timer: asyncio.TimerHandle | None = None
        self.idle_body_timer: asyncio.TimerHandle | None = None

    # --- connections ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting[self] = None
        if len(self.connections) > self.limits.max_connections and not self.evict_one():
            transport.write(canned(503, BUSY, [(b"retry-after", str(RETRY_AFTER_S).encode())]))
            transport.close()
            return
        self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self.timed_out)

    def evict_one(self) -> bool:
        """Close the connection that has been idle or sending its head the longest; False if there is none."""
        for oldest in self.waiting:
            if oldest is not self:
                del self.waiting[oldest]
                oldest.transport.abort()  # free its descriptor now; it sent no complete request to answer
                return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.waiting.pop(self, None)
        self.cancel_timers()
        super().connection_lost(exc)

    def cancel_timers(self) -> None:
        for timer in (self.head_timer, self.read_timer, self.idle_body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.read_timer = self.idle_body_timer = None

    # --- reading -------------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.in_head:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn does
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            refusal = error.__context__ if isinstance(error.__context__, Refusal) else None
            if refusal is not None:
                self.refuse(refusal.status, refusal.detail)
            else:
                self.send_400_response("Invalid HTTP request received.")
            return
        if self.in_head and self.head_bytes > self.limits.max_header_bytes:
            self.refuse(431, self.head_too_large())  # a head still arriving: measured by the bytes read
        elif self.idle_body_timer is not None:
            self.idle_body_timer.cancel()
            self.idle_body_timer = self.loop.call_later(self.limits.body_timeout_s, self.timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.head_size = self.header_count = 0
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self.timed_out)
        self.read_timer = self.loop.call_later(self.limits.request_read_s, self.timed_out)

    def on_url(self, url: bytes) -> None:
        self.head_size += len(url)
        self.check_head_size()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.limits.max_headers:
            raise Refusal(431, f"The request has more than {self.limits.max_headers} headers.")
        self.head_size += len(name) + len(value) + 4
        self.check_head_size()
        super().on_header(name, value)

    def check_head_size(self) -> None:
        """Inside the parser: a head that arrived whole in one read is measured here."""
        if self.head_size > self.limits.max_header_bytes:
            raise Refusal(431, self.head_too_large())

    def head_too_large(self) -> str:
        return f"The request line and headers are larger than {self.limits.max_header_bytes:,} bytes."

    def on_headers_complete(self) -> None:
        self.waiting.pop(self, None)
        self.in_head = False
        self.body_pending = True
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        self.idle_body_timer = self.loop.call_later(self.limits.body_timeout_s, self.timed_out)
        self.requests += 1
        if len(self.tasks) >= self.limits.max_in_flight:
            app, self.app = self.app, overloaded
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()
        if self.cycle is not None and self.requests >= self.limits.max_requests_per_connection:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        for timer in (self.read_timer, self.idle_body_timer):
            if timer is not None:
                timer.cancel()
        self.read_timer = self.idle_body_timer = None
        self.body_pending = False
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            self.expect_next_request()  # answered early (a 413, a 503): the rest of the body was discarded

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.body_pending:
            self.expect_next_request()

    def expect_next_request(self) -> None:
        """Idle until the next request's head: evictable, and its bytes count against the head limit."""
        self.in_head = True
        self.head_bytes = 0
        self.waiting[self] = None

    # --- refusing ------------------------------------------------------------------------------------------

    def timed_out(self) -> None:
        """Too slow. Still in the head: a 408 if any of it came (nothing else is answered yet), then close.
        In the body: close; the app sees the client leave."""
        if self.transport.is_closing():
            return
        self.cancel_timers()
        if self.in_head and self.head_bytes:
            self.transport.write(canned(408, "The request took too long to arrive."))
        self.transport.close()

    def refuse(self, status: int, detail: str) -> None:
        self.cancel_timers()
        if not self.transport.is_closing():
            self.transport.write(canned(status, detail))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self.refuse(400, msg)
