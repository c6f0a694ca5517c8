"""A bounded soak: valid and invalid requests mixed, at fixed concurrency, against a real `digit-lab serve`.

Passes (exit 0) when there are zero 5xx answers, zero dropped connections, every answer has the status its
request deserves, and the server's resident memory grows less than 10% from the end of the warm-up to the end.

    python -m benchmarks.soak                       # 60 s at concurrency 32 against a fresh server on loopback
    python -m benchmarks.soak --duration 20 --concurrency 8 --model-dir /tmp/models --json soak.json
    python -m benchmarks.soak --url http://127.0.0.1:8000 --pid 1234   # an already-running server

Linux only (memory is read from /proc/<pid>/status). Needs httpx (the project's `test` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from app.benchmark.bench import free_port
from app.benchmark.inputs import MNIST_DIR, data_url, png

ROOT = Path(__file__).resolve().parent.parent

MAX_RSS_GROWTH = 0.10


# --- the request mix ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of request: how to send it, the status it must get, and how often it is drawn."""

    name: str
    weight: int
    expect: int
    method: str
    path: str
    request: dict = field(hash=False)


def digits(count: int) -> list[bytes]:
    """Canvas-sized PNGs of real MNIST test digits (dark on white), or drawn strokes when MNIST is absent."""
    try:
        from app.training.data import load_mnist

        images = load_mnist(MNIST_DIR).x_test[:count]
    except Exception:  # no MNIST here: thick strokes at different places still exercise the whole path
        images = []
        for i in range(count):
            page = np.zeros((28, 28), dtype=np.uint8)
            page[4 + i % 6 : 22 + i % 6, 10 + i % 8 : 14 + i % 8] = 255
            images.append(page)
    return [png(255 - np.asarray(Image.fromarray(d).resize((280, 280), Image.Resampling.BILINEAR))) for d in images]


def bomb() -> bytes:
    """A 100-byte PNG declaring 50000x50000 pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(
        b"IEND", b"")


def request_mix() -> list[Kind]:
    pages = digits(32)
    one = data_url(pages[0])
    blank = data_url(png(np.full((280, 280), 255, dtype=np.uint8)))
    huge_legal = np.zeros((4000, 4000), dtype=np.uint8)
    huge_legal[800:3200, 1800:2200] = 255
    as_json = {"content-type": "application/json"}
    return [
        Kind("predict", 30, 200, "POST", "/predict", {"json": {"image": one}}),
        Kind("predict-other-digit", 10, 200, "POST", "/predict", {"json": {"image": data_url(pages[7])}}),
        Kind("predict-explain", 6, 200, "POST", "/predict", {"json": {"image": one, "explain": True}}),
        Kind("upload", 8, 200, "POST", "/predict/file", {"files": {"file": ("d.png", pages[3], "image/png")}}),
        Kind("batch-8", 4, 200, "POST", "/predict/batch", {"json": {"images": [data_url(p) for p in pages[:8]]}}),
        Kind("compare", 3, 200, "POST", "/predict/compare", {"json": {"image": one}}),
        Kind("models", 3, 200, "GET", "/models", {}),
        Kind("huge-legal-image", 1, 200, "POST", "/predict/file", {"files": {"file": ("big.png", png(huge_legal))}}),
        Kind("invalid-base64", 4, 422, "POST", "/predict", {"json": {"image": "data:image/png;base64,!!"}}),
        Kind("text-data-url", 3, 422, "POST", "/predict", {"json": {"image": data_url(b"hello", "text/plain")}}),
        Kind("truncated-png", 3, 422, "POST", "/predict", {"json": {"image": data_url(pages[1][:200])}}),
        Kind("blank", 3, 422, "POST", "/predict", {"json": {"image": blank}}),
        Kind("bomb", 3, 413, "POST", "/predict", {"json": {"image": data_url(bomb())}}),
        Kind("unknown-model", 3, 404, "POST", "/predict", {"json": {"image": one, "model": "../../etc/passwd"}}),
        Kind("wrong-content-type", 3, 415, "POST", "/predict", {"content": b"image=1",
                                                                "headers": {"content-type": "text/plain"}}),
        Kind("invalid-json", 3, 422, "POST", "/predict", {"content": b'{"image": ', "headers": as_json}),
        Kind("extra-field", 2, 422, "POST", "/predict", {"json": {"image": one, "x": 1}}),
        Kind("batch-over-limit", 2, 413, "POST", "/predict/batch", {"json": {"images": ["eA=="] * 500}}),
        Kind("body-over-limit", 2, 413, "POST", "/predict", {"content": b"A" * (2 * 1024 * 1024 + 1),
                                                             "headers": as_json}),
        Kind("body-10MB", 1, 413, "POST", "/predict", {"content": b"A" * (10 * 1024 * 1024), "headers": as_json}),
        Kind("no-such-route", 1, 404, "GET", "/wp-login.php", {}),
    ]


# --- the server and its memory -------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_server(model_dir: Path | None, access_log: bool = True) -> tuple[subprocess.Popen, str]:
    """`digit-lab serve` on a free loopback port, from the repository root (the attack turns the access log off:
    twenty thousand slow connections would measure the log)."""
    port = free_port()
    script = Path(sys.executable).with_name("digit-lab")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    command += ["serve", "--port", str(port), "--host", "127.0.0.1"]
    if model_dir:
        command += ["--model-dir", str(model_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DIGIT_LAB_LOG_LEVEL": "warning",
           "DIGIT_LAB_ACCESS_LOG": str(access_log).lower()}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, f"http://127.0.0.1:{port}"


def stop_server(process: subprocess.Popen | None) -> None:
    """SIGTERM, as an orchestrator would; killed if it has not finished within 30 s."""
    if process is None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_ready(url: str, process: subprocess.Popen | None, timeout: float = 300) -> None:
    """Until /readyz answers with no model still loading (a fresh server loads the others in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5).json()
            if ready.get("ready") and not ready.get("loading"):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


# --- the load ------------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    wrong: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"valid": [], "invalid": []})
    count: int = 0


async def worker(client: httpx.AsyncClient, kinds: list[Kind], until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    weights = [kind.weight for kind in kinds]
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            response = await client.request(kind.method, kind.path, **kind.request)
        except httpx.TransportError as error:
            tally.dropped[f"{kind.name}: {type(error).__name__}"] += 1
            continue
        tally.latencies["valid" if kind.expect == 200 else "invalid"].append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        tally.count += 1
        if response.status_code != kind.expect:
            tally.wrong[f"{kind.name}: {response.status_code}"] += 1


async def sample_memory(pid: int | None, until: float, samples: list[tuple[float, int]]) -> None:
    while pid is not None and time.monotonic() < until:
        samples.append((time.monotonic(), rss_bytes(pid)))
        await asyncio.sleep(1.0)


async def run_load(url: str, pid: int | None, seconds: float, concurrency: int, kinds: list[Kind], seed: int,
                   ) -> tuple[Tally, list[tuple[float, int]], float]:
    tally, samples = Tally(), []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(sample_memory(pid, until, samples),
                             *(worker(client, kinds, until, tally, seed + n) for n in range(concurrency)))
    return tally, samples, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) >= 2 else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="measured seconds (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=15,
                        help="seconds of the same load before memory is measured (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default: %(default)s)")
    parser.add_argument("--model-dir", type=Path, help="models for the server this script starts")
    parser.add_argument("--url", help="soak a running server instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for its memory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    process = None
    if args.url:
        url, pid = args.url.rstrip("/"), args.pid
    else:
        process, url = start_server(args.model_dir)
        pid = process.pid
    try:
        wait_ready(url, process)
        kinds = request_mix()
        warm, _, _ = asyncio.run(run_load(url, pid, args.warmup, args.concurrency, kinds, args.seed))
        tally, samples, elapsed = asyncio.run(run_load(url, pid, args.duration, args.concurrency, kinds,
                                                       args.seed + 1000))
        healthy = httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    finally:
        stop_server(process)

    baseline = samples[0][1] if samples else 0
    final = samples[-1][1] if samples else 0
    growth = (final - baseline) / baseline if baseline else float("nan")
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    figures = {
        "command": "python -m benchmarks.soak " + " ".join(argv if argv is not None else sys.argv[1:]),
        "duration_s": round(elapsed, 1),
        "concurrency": args.concurrency,
        "requests": tally.count,
        "requests_per_s": round(tally.count / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_errors_5xx": server_errors,
        "dropped_connections": sum(tally.dropped.values()) + sum(warm.dropped.values()),
        "dropped_by_kind": dict(tally.dropped + warm.dropped),
        "unexpected_statuses": dict(tally.wrong + warm.wrong),
        "latency_ms": {
            group: {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
                    "p99": round(percentile(values, 99), 1)}
            for group, values in tally.latencies.items()
        },
        "rss_mb": {"after_warmup": round(baseline / 2**20, 1), "end": round(final / 2**20, 1),
                   "peak": round(max((s[1] for s in samples), default=0) / 2**20, 1)},
        "rss_growth_pct": round(growth * 100, 2),
        "healthy_after": healthy,
    }
    passed = (server_errors == 0 and figures["dropped_connections"] == 0 and not figures["unexpected_statuses"]
              and healthy and (pid is None or growth < MAX_RSS_GROWTH))
    figures["passed"] = passed
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
