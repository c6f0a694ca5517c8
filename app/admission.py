"""Admission control: heavy work waits in a short queue of its own, and beyond it gets a fast 503.

Why: plain `def` routes share one thread pool of 40. Forty slow uploads at once used to take every thread, and
the page, /models and even cheap uploads then waited about a minute while /healthz stayed green. Heavy work —
uploads, batches, compare, and any /predict image that is not the page's small canvas PNG — now passes one
gate per worker: at most `heavy_concurrency` run at once (so they hold at most that many threads and that many
decoded images in memory), `heavy_queue` more wait without a thread (for at most `heavy_queue_wait_s`), and
anything beyond is answered 503 with Retry-After at once, before its body is read. The page's canvas
predictions, pages and metadata never enter it.

A request still waiting in the queue when its client leaves is dropped before it does any work (the wait races
the connection). Work already running is bounded by the decode budget (app.decode_budget) and finishes.

The gate is one per process (a worker serves one app); it is loop-agnostic, so apps built by tests on
different event loops in turn can share it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import DigitLabError

T = TypeVar("T")
HEAVY_ROUTES = {("POST", "/predict/file"), ("POST", "/predict/batch"), ("POST", "/predict/compare")}
RETRY_AFTER_S = 2
BUSY = "The server is busy with other uploads right now; try again in a few seconds."


class ServerBusyError(DigitLabError):
    """The queue for this kind of work is full: come back shortly (Retry-After says when)."""

    status_code = 503
    headers: ClassVar[dict[str, str]] = {"Retry-After": str(RETRY_AFTER_S)}


class Gate:
    """At most `running` holders at once and `waiting` more in line; enter() beyond that raises ServerBusyError."""

    def __init__(self, name: str, running: int, waiting: int, max_wait_s: float = 30.0) -> None:
        self.name = name
        self.running = running
        self.waiting = waiting
        self.max_wait_s = max_wait_s
        self.active = 0
        self._line: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._line)

    @property
    def saturated(self) -> bool:
        """No room left: the next heavy request would be refused."""
        return self.active + len(self._line) >= self.running + self.waiting

    async def enter(self) -> None:
        if self.active < self.running and not self._line:
            self.active += 1
            return
        if self.saturated:
            raise ServerBusyError(BUSY)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            # leave() hands its slot over by resolving `turn`; a turn that does not come in time is a 503 too
            await asyncio.wait_for(asyncio.shield(turn), self.max_wait_s)
        except (TimeoutError, asyncio.CancelledError) as stopped:
            if turn.done() and not turn.cancelled():
                self.leave()  # the slot was handed to us as we stopped waiting: pass it on
            else:
                turn.cancel()
                self._line.remove(turn)
            if isinstance(stopped, asyncio.TimeoutError):
                raise ServerBusyError(BUSY) from None
            raise

    def leave(self) -> None:
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.active -= 1

    def report(self) -> dict[str, int]:
        return {"running": self.active, "waiting": len(self._line), "capacity": self.running,
                "queue": self.waiting}


heavy = Gate("heavy", running=1, waiting=32)


def configure(running: int, waiting: int, max_wait_s: float) -> None:
    """Size the heavy gate from the settings (create_app calls this)."""
    heavy.running, heavy.waiting, heavy.max_wait_s = running, waiting, max_wait_s


async def run_heavy(function: Callable[..., T], *args: Any) -> T:
    """Run `function` in a worker thread once the heavy gate admits it."""
    await heavy.enter()
    try:
        return await run_in_threadpool(function, *args)
    finally:
        heavy.leave()


class AdmissionMiddleware:
    """Heavy routes pass the heavy gate for their whole request; a full queue is a 503 before the body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"].rstrip("/")) not in HEAVY_ROUTES:
            await self.app(scope, receive, send)
            return
        if heavy.saturated:
            await busy(send)
            return
        early: list[Message] = []
        failure: HTTPException | None = None
        entering = asyncio.ensure_future(heavy.enter())
        try:
            # While in line, keep reading the connection: a client that leaves is noticed and its turn given up.
            while not entering.done() and failure is None:
                reading = asyncio.ensure_future(receive())
                await asyncio.wait({entering, reading}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    break
                try:
                    message = reading.result()
                except HTTPException as error:  # the body limit: the app meets it where it reads the body
                    failure = error
                    break
                if message["type"] == "http.disconnect":
                    await give_up(entering)
                    return
                early.append(message)
            await entering
        except ServerBusyError:
            await busy(send)
            return
        except asyncio.CancelledError:
            await give_up(entering)
            raise

        async def replay() -> Message:
            if early:
                return early.pop(0)
            if failure is not None:
                raise failure
            return await receive()

        try:
            await self.app(scope, replay, send)
        finally:
            heavy.leave()


async def give_up(entering: asyncio.Future[None]) -> None:
    """Leave the line; if the slot was granted meanwhile, hand it on."""
    entering.cancel()
    try:
        await entering
    except (asyncio.CancelledError, ServerBusyError):
        return
    heavy.leave()


async def busy(send: Send) -> None:
    body = json.dumps({"detail": BUSY}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(RETRY_AFTER_S).encode())]})
    await send({"type": "http.response.body", "body": body})
