"""Steady, open-loop load for the rolling-restart test: one canvas POST /predict every 1/rate seconds whether or
not earlier ones have answered (as many people drawing would), bounded in count, duration and concurrency, and
stopping by itself. Every answer is recorded: when it was due, its latency, and what went wrong if anything did.

The client is a few lines of HTTP/1.1 over asyncio streams with keep-alive connections, not httpx: on a 2-core
machine shared with the replicas and the balancer, httpx's own CPU per request would cap the rate it can send.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    sent: float  # time.monotonic() when it was due to be sent
    seconds: float  # from then to the answer: time queued behind the in-flight bound counts too
    error: str | None  # None: 200 with the expected digit


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]

    def summary(self) -> dict[str, float | int]:
        latencies = sorted(o.seconds * 1000 for o in self.outcomes)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        elapsed = self.finished - self.started
        return {"requests": len(self.outcomes), "failed": len(self.failures), "seconds": round(elapsed, 2),
                "throughput_rps": round(len(self.outcomes) / elapsed, 1), "p50_ms": round(cuts[49], 2),
                "p99_ms": round(cuts[98], 2), "max_ms": round(latencies[-1], 2)}


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """One request on a keep-alive connection; the status and the body (Content-Length framed, as uvicorn and
    HAProxy send JSON)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), body


async def steady_load(host: str, port: int, body: bytes, expected_digit: int, *, rate: float, duration: float,
                      connections: int = 32, timeout: float = 10, give_up_after: float = 120) -> LoadResult:
    """`give_up_after` seconds past the last due time, requests not yet sent fail unsent: the load ends by
    then plus one `timeout` whatever the server does."""
    result = LoadResult()
    request = (f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    due_times: asyncio.Queue[float | None] = asyncio.Queue()

    async def connection() -> None:
        """One keep-alive connection taking due requests in turn; a broken one is reopened for the next."""
        stream = None
        while (sent := await due_times.get()) is not None:
            if time.monotonic() > result.started + duration + give_up_after:
                result.outcomes.append(Outcome(sent, time.monotonic() - sent, "not sent: the answers fell behind "
                                               f"by more than {give_up_after:.0f} s"))
                continue
            error = None
            try:
                if stream is None:
                    stream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                status, answer = await asyncio.wait_for(post(*stream, request), timeout)
                if status != 200:
                    error = f"HTTP {status}: {answer[:200]!r}"
                elif json.loads(answer).get("digit") != expected_digit:
                    error = f"digit {json.loads(answer).get('digit')}, expected {expected_digit}"
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is not None and stream is not None:
                stream[1].close()
                stream = None
            result.outcomes.append(Outcome(sent, time.monotonic() - sent, error))
        if stream is not None:
            stream[1].close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    result.started = time.monotonic()
    for index in range(int(rate * duration)):
        due = result.started + index / rate
        if due > time.monotonic():
            await asyncio.sleep(due - time.monotonic())
        due_times.put_nowait(due)
    for _ in workers:
        due_times.put_nowait(None)
    await asyncio.gather(*workers)
    result.finished = time.monotonic()
    return result
