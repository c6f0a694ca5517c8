"""Hostile load against a real `digit-lab serve` on loopback: each attack of issue 17, measured against its target.

Every attack is bounded in count and time and stops by itself; the server is started here on 127.0.0.1 (or
given with --url/--pid, which must be a loopback address). Figures are printed as a table and, with --json,
written out. The machine is shared, so timings are noisy: run it twice and compare.

    python -m benchmarks.attack                          # every attack, ~3 minutes plus a 60 s soak
    python -m benchmarks.attack --only scan-bomb json header
    python -m benchmarks.attack --soak-seconds 300       # the full 5-minute mixed soak
    python -m benchmarks.attack --slow-connections 20000 # the issue's slowloris size (spread over helpers)

Linux only (CPU time, memory and descriptors are read from /proc/<pid>).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
from PIL import Image

from app.benchmark.inputs import data_url, png
from benchmarks.soak import Kind, request_mix, rss_bytes, start_server, stop_server, wait_ready, worker

MiB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")


# --- hostile inputs ----------------------------------------------------------------------------------------------


def scan_bomb(repeats: int = 1000, side: int = 4000) -> bytes:
    """A flat progressive JPEG whose last scan is repeated `repeats` times before EOI (libjpeg decodes each)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 200).save(buffer, "JPEG", progressive=True, quality=75)
    data = buffer.getvalue()
    last_scan = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    return data[:end] + data[last_scan:end] * repeats + data[end:]


def corrupt_jpeg(side: int = 4000) -> bytes:
    """A real 280x280 JPEG whose frame header was patched to claim side x side pixels."""
    page = np.full((280, 280), 255, np.uint8)
    page[50:230, 125:155] = 0
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = side.to_bytes(2, "big") + side.to_bytes(2, "big")
    return bytes(data)


def heavy_jpeg(side: int = 2000) -> bytes:
    """A legal, slow-ish upload: a noisy progressive colour JPEG with a digit."""
    rng = np.random.default_rng(3)
    page = rng.integers(200, 256, size=(side, side, 3), dtype=np.uint8)
    page[side // 5 : 4 * side // 5, 9 * side // 20 : 11 * side // 20] = 0
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, "JPEG", progressive=True, quality=60)
    return buffer.getvalue()


def large_webp(side: int = 3000, seed: int = 0) -> bytes:
    """A large (side x side) but tiny-to-send WebP with a digit stroke."""
    page = np.full((side, side), 255, np.uint8)
    x = side // 3 + seed % 7 * 10
    page[side // 5 : 4 * side // 5, x : x + side // 10] = 0
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, "WEBP", quality=50)
    return buffer.getvalue()


def canvas() -> bytes:
    page = np.full((280, 280), 255, np.uint8)
    page[50:230, 125:155] = 0
    return png(page)


# --- the server and /proc ----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def probe_loop(url: str, path: str, every: float, timeout: float, stopping, results) -> None:
    """In a process of its own: GET `path` every `every` seconds on a keep-alive connection until stopped."""
    latencies, statuses = [], Counter()
    with httpx.Client(base_url=url, timeout=timeout) as client:
        while not stopping.is_set():
            started = time.perf_counter()
            try:
                statuses[client.get(path).status_code] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
            latencies.append(time.perf_counter() - started)
            stopping.wait(every)
    results.put((latencies, dict(statuses)))


class Probe:
    """A prober in a process of its own, so that the attack's own client work (on the same two cores, under the
    same GIL otherwise) does not show up as server latency."""

    def __init__(self, url: str, path: str, every: float = 0.05, timeout: float = 5.0) -> None:
        self.stopping = multiprocessing.Event()
        self.results = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=probe_loop,
                                               args=(url, path, every, timeout, self.stopping, self.results))
        self.latencies: list[float] = []
        self.statuses: dict = {}

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.stopping.set()
        self.latencies, self.statuses = self.results.get(timeout=60)
        self.process.join()

    def summary(self) -> dict:
        return {"n": len(self.latencies), "p50_ms": round(percentile(self.latencies, 50), 1),
                "p99_ms": round(percentile(self.latencies, 99), 1), "statuses": self.statuses}


async def with_probes(url: str, paths: list[str], attack) -> tuple[object, list[Probe]]:
    probes = [Probe(url, path) for path in paths]
    for probe in probes:
        probe.start()
    await asyncio.sleep(1.5)  # the probers' own start-up
    try:
        result = await attack
    finally:
        await asyncio.sleep(0.5)
        for probe in probes:
            probe.stop()
    return result, probes


# --- the attacks -------------------------------------------------------------------------------------------------


async def attack_scan_bomb(url: str, pid: int, copies: int = 10, rounds: int = 10) -> dict:
    bomb = scan_bomb()
    before = cpu_seconds(pid)

    async def one(client: httpx.AsyncClient) -> tuple[int, float]:
        started = time.perf_counter()
        response = await client.post("/predict/file", files={"file": ("bomb.jpg", bomb, "image/jpeg")})
        return response.status_code, time.perf_counter() - started

    async def attack() -> list[tuple[int, float]]:
        limits = httpx.Limits(max_connections=copies)
        results = []
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            for _ in range(rounds):  # 10 at once, again and again
                results += await asyncio.gather(*(one(client) for _ in range(copies)))
        return results

    results, (health,) = await with_probes(url, ["/healthz"], attack())
    cpu = cpu_seconds(pid) - before
    copies *= rounds
    return {"bomb_bytes": len(bomb), "bombs": copies, "statuses": dict(Counter(s for s, _ in results)),
            "slowest_answer_ms": round(max(t for _, t in results) * 1000, 1),
            "server_cpu_s_per_bomb": round(cpu / copies, 3), "healthz": health.summary(),
            "pass": all(s in (413, 422, 503) for s, _ in results) and cpu / copies < 1.0
            and health.summary()["p99_ms"] < 100}


async def attack_json(url: str) -> dict:
    items = b'{"images": [' + b", ".join([b'"a"'] * 300_000) + b"]}"
    keys = b"{" + b",".join(b'"k%d": 1' % i for i in range(150_000)) + b"}"
    duplicate = b'{"image": "x", "image": "y"}'
    figures = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for name, path, body in (("list_300k", "/predict/batch", items), ("keys_150k", "/predict", keys),
                                 ("duplicate_keys", "/predict", duplicate)):
            times, last = [], None
            for _ in range(5):
                started = time.perf_counter()
                last = await client.post(path, content=body, headers={"content-type": "application/json"})
                times.append(time.perf_counter() - started)
            figures[name] = {"body_bytes": len(body), "status": last.status_code,
                             "median_ms": round(statistics.median(times) * 1000, 1),
                             "error_body_bytes": len(last.content), "detail": last.json()["detail"][:120]}
    figures["pass"] = all(f["status"] in (413, 422) and f["median_ms"] < 100 and f["error_body_bytes"] < 4096
                          for f in figures.values())
    return figures


async def attack_header(url: str, pid: int, size: int = 128 * MiB) -> dict:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    rss_before = rss_bytes(pid)
    peak = rss_before
    reader, writer = await asyncio.open_connection(host, port)
    started = time.perf_counter()
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    chunk = b"a" * MiB
    sent = 0
    answer = b""
    refused_after = None
    try:
        while sent < size:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), timeout=5)
            sent += len(chunk)
            peak = max(peak, rss_bytes(pid))
            if reader.at_eof() or writer.is_closing():
                break
    except (TimeoutError, ConnectionError):
        pass
    try:
        answer = await asyncio.wait_for(reader.read(200), timeout=5)
    except (TimeoutError, ConnectionError):
        pass
    refused_after = time.perf_counter() - started
    writer.close()
    peak = max(peak, rss_bytes(pid))
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
    growth = (peak - rss_before) / MiB
    return {"sent_mib_before_refusal": round(sent / MiB, 1), "answer": status,
            "refused_within_s": round(refused_after, 3), "rss_growth_mib": round(growth, 1),
            "pass": refused_after < 1.0 and growth < 16 and status in ("431", "closed")}


def hold_slow_connections(host: str, port: int, count: int, seconds: float, ready: multiprocessing.Event) -> None:
    """In a helper process (each holds at most ~19,000 descriptors): `count` connections sending a header byte
    every few seconds, for `seconds`."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main() -> None:
        held: list[asyncio.StreamWriter] = []
        for n in range(count):
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
                held.append(writer)
            except (TimeoutError, OSError):
                await asyncio.sleep(0.01)
            if n % 500 == 0:
                await asyncio.sleep(0)
        ready.set()
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for writer in held:
                if not writer.is_closing():
                    try:
                        writer.write(b"X-a: b\r\n")
                    except (OSError, RuntimeError):
                        pass
            await asyncio.sleep(2)
        for writer in held:
            writer.close()

    asyncio.run(main())


async def attack_slowloris(url: str, pid: int, count: int, seconds: float) -> dict:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    per_helper = 9_000
    helpers = []
    for n in range(0, count, per_helper):
        ready = multiprocessing.Event()
        process = multiprocessing.Process(target=hold_slow_connections,
                                          args=(host, port, min(per_helper, count - n), seconds, ready))
        process.start()
        helpers.append((process, ready))
    fds: list[int] = []
    probes_started = time.monotonic()

    async def watch() -> None:
        while any(p.is_alive() for p, _ in helpers) and time.monotonic() - probes_started < seconds + 60:
            fds.append(open_fds(pid))
            await asyncio.sleep(0.5)

    async def new_clients() -> Counter:
        seen: Counter = Counter()
        latencies = []
        while any(p.is_alive() for p, _ in helpers):
            started = time.perf_counter()
            try:
                async with httpx.AsyncClient(base_url=url, timeout=5) as client:  # a fresh connection each time
                    seen[(await client.get("/healthz")).status_code] += 1
            except httpx.HTTPError as error:
                seen[type(error).__name__] += 1
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.2)
        return seen, latencies

    watcher = asyncio.create_task(watch())
    seen, latencies = await new_clients()
    await watcher
    for process, _ in helpers:
        process.join(timeout=30)
    limit = int(Path(f"/proc/{pid}/limits").read_text().split("Max open files")[1].split()[0])
    served = seen.get(200, 0)
    clean = served + seen.get(503, 0)
    return {"slow_connections": count, "seconds": seconds, "new_clients": dict(seen),
            "new_client_p50_ms": round(percentile(latencies, 50), 1),
            "new_client_p99_ms": round(percentile(latencies, 99), 1),
            "server_fds_peak": max(fds, default=0), "server_fd_limit": limit,
            "pass": clean == sum(seen.values()) and served > 0 and max(fds, default=0) < limit * 0.9}


async def attack_heavy(url: str, copies: int = 42) -> dict:
    upload = heavy_jpeg()

    async def one(client: httpx.AsyncClient) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            response = await client.post("/predict/file", files={"file": ("big.jpg", upload, "image/jpeg")})
            return response.status_code, time.perf_counter() - started
        except httpx.HTTPError as error:
            return type(error).__name__, time.perf_counter() - started

    host, port = urlsplit(url).hostname, urlsplit(url).port
    decisions: list[tuple[str, float]] = []

    async def decision() -> None:
        """One more upload while the others hold the queue, head only: how soon does the server answer it?"""
        reader, writer = await asyncio.open_connection(host, port)
        started = time.perf_counter()
        writer.write(b"POST /predict/file HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(upload))
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
        except TimeoutError:
            line = b""
        status = line.split()[1].decode() if line.startswith(b"HTTP/") else "no answer"
        decisions.append((status, time.perf_counter() - started))
        writer.close()

    async def attack() -> list[tuple[int, float]]:
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=copies)) as c:
            uploads = asyncio.gather(*(one(c) for _ in range(copies)))
            async with httpx.AsyncClient(base_url=url, timeout=5) as status:
                for _ in range(200):  # until the queue is full, then five more uploads (heads only)
                    if (await status.get("/readyz")).json().get("saturated"):
                        for _ in range(5):
                            await decision()
                        break
                    await asyncio.sleep(0.05)
            return await uploads

    results, (page, models) = await with_probes(url, ["/", "/models"], attack())
    refused = [t for s, t in results if s == 503]
    return {"upload_bytes": len(upload), "statuses": dict(Counter(s for s, _ in results)),
            "extra_upload_head_only": {"statuses": dict(Counter(s for s, _ in decisions)),
                                       "max_ms": round(max((t for _, t in decisions), default=0) * 1000, 1)},
            "refused_503_max_ms_incl_client_upload": round(max(refused, default=0) * 1000, 1),
            "served_max_ms": round(max((t for s, t in results if s == 200), default=0) * 1000, 1),
            "page": page.summary(), "models": models.summary(),
            "pass": page.summary()["p99_ms"] < 200 and models.summary()["p99_ms"] < 200
            and set(Counter(s for s, _ in results)) <= {200, 503}
            and bool(decisions) and all(s == "503" and t < 0.2 for s, t in decisions)}


async def attack_batches(url: str, pid: int, copies: int = 16, per_batch: int = 64, settle_s: float = 10) -> dict:
    images = [data_url(large_webp(seed=n), "image/webp") for n in range(per_batch)]
    body = {"images": images}
    idle = rss_bytes(pid)
    samples: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(rss_bytes(pid))
            await asyncio.sleep(0.05)

    async def one(client: httpx.AsyncClient) -> object:
        try:
            return (await client.post("/predict/batch", json=body)).status_code
        except httpx.HTTPError as error:
            return type(error).__name__

    sampler = asyncio.create_task(sample())
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=copies)) as client:
        statuses = await asyncio.gather(*(one(client) for _ in range(copies)))
    await asyncio.sleep(settle_s)
    done.set()
    await sampler
    after = rss_bytes(pid)
    return {"request_bytes": len(json.dumps(body)), "image_side": 3000, "statuses": dict(Counter(statuses)),
            "rss_idle_mib": round(idle / MiB), "rss_peak_mib": round(max(samples) / MiB),
            "rss_after_mib": round(after / MiB), "ceiling_mib": 1536,
            "pass": max(samples) <= 1536 * MiB and after <= idle * 1.25 and set(statuses) <= {200, 503}}


def hostile_kinds() -> list[Kind]:
    as_json = {"content-type": "application/json"}
    return [
        Kind("scan-bomb", 2, 413, "POST", "/predict/file", {"files": {"file": ("b.jpg", scan_bomb(), "image/jpeg")}}),
        Kind("corrupt-jpeg", 2, 422, "POST", "/predict", {"json": {"image": data_url(corrupt_jpeg(), "image/jpeg")}}),
        Kind("json-list", 1, 413, "POST", "/predict/batch",
             {"content": b'{"images": [' + b",".join([b"1"] * 300_000) + b"]}", "headers": as_json}),
        Kind("json-keys", 1, 413, "POST", "/predict",
             {"content": b"{" + b",".join(b'"k%d": 1' % i for i in range(100_000)) + b"}", "headers": as_json}),
        Kind("duplicate-keys", 1, 422, "POST", "/predict", {"content": b'{"image": "x", "image": "y"}',
                                                            "headers": as_json}),
    ]


async def attack_soak(url: str, pid: int, seconds: float, concurrency: int) -> dict:
    kinds = request_mix() + hostile_kinds()
    from benchmarks.soak import Tally

    idle = rss_bytes(pid)
    tally = Tally()
    samples: list[int] = []
    until = time.monotonic() + seconds

    async def sample() -> None:
        while time.monotonic() < until:
            samples.append(rss_bytes(pid))
            await asyncio.sleep(1)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await asyncio.gather(sample(), *(worker(client, kinds, until, tally, 11 + n) for n in range(concurrency)))
    errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    busy = tally.statuses.get(503, 0)
    tail = samples[len(samples) // 2 :] or samples
    plateau = max(tail) if tail else 0
    return {"seconds": seconds, "concurrency": concurrency, "requests": tally.count,
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())}, "5xx": errors, "503_busy": busy,
            "dropped": dict(tally.dropped), "unexpected": dict(tally.wrong),
            "rss_idle_mib": round(idle / MiB), "rss_plateau_mib": round(plateau / MiB),
            "plateau_over_idle": round(plateau / idle, 2),
            "pass": errors == 0 and not tally.dropped and not tally.wrong and plateau <= 1.5 * idle}


ATTACKS = ["scan-bomb", "json", "header", "slowloris", "heavy", "batches", "soak"]


async def run(args: argparse.Namespace, url: str, pid: int) -> dict:
    results: dict[str, dict] = {}
    attacks = {
        "scan-bomb": lambda: attack_scan_bomb(url, pid),
        "json": lambda: attack_json(url),
        "header": lambda: attack_header(url, pid),
        "slowloris": lambda: attack_slowloris(url, pid, args.slow_connections, args.slow_seconds),
        "heavy": lambda: attack_heavy(url),
        "batches": lambda: attack_batches(url, pid),
        "soak": lambda: attack_soak(url, pid, args.soak_seconds, args.soak_concurrency),
    }
    for name in args.only:
        print(f"… {name}", file=sys.stderr, flush=True)
        results[name] = await attacks[name]()
        async with httpx.AsyncClient(timeout=10) as check:
            results[name]["healthy_after"] = (await check.get(f"{url}/healthz")).status_code == 200
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
        await asyncio.sleep(2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=ATTACKS, default=ATTACKS)
    parser.add_argument("--model-dir", type=Path, help="models for the server this script starts")
    parser.add_argument("--url", help="attack a running server on 127.0.0.1 instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid (CPU, memory, descriptors)")
    parser.add_argument("--slow-connections", type=int, default=20_000)
    parser.add_argument("--slow-seconds", type=float, default=20)
    parser.add_argument("--soak-seconds", type=float, default=60)
    parser.add_argument("--soak-concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    random.seed(7)
    process = None
    if args.url:
        if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("attacks target loopback only")
        if not args.pid:
            parser.error("--url needs --pid")
        url, pid = args.url.rstrip("/"), args.pid
    else:
        process, url = start_server(args.model_dir, access_log=False)
        pid = process.pid
    try:
        wait_ready(url, process)
        results = asyncio.run(run(args, url, pid))
    finally:
        stop_server(process)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if all(r.get("pass") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
