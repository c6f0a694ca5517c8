"""POST /predict/number latency at c=1: a 4-digit number as the number pad sends it (512x128 PNG).

Starts the real server (uvicorn, one worker, the shipped models) on a free loopback port, sends `--requests`
requests one after another over one keep-alive connection, and prints the median and 90th percentile; then
times the in-process stages (decode, segmentation with its model calls) the same number of times. Bounded in
count and time; 127.0.0.1 only.

    PYTHONPATH=$PWD python benchmarks/number_bench.py --requests 300
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.benchmark.inputs import png  # noqa: E402  (after the sys.path line)

PEN_DIR = Path(os.environ.get("DIGIT_LAB_PEN", "/work/shared/data/pen-digits"))
MAX_SECONDS = 120.0


def four_digit_number() -> np.ndarray:
    """A held-out writer's 2026, drawn as the number pad sends it."""
    from app.training.numbers_eval import draw_number, layout
    from app.training.pen import load_pen_digits

    digits = load_pen_digits(PEN_DIR)
    rng = np.random.default_rng(2026)
    own = {d.label: i for i, d in enumerate(digits) if d.writer == 7}  # one writer's own digits
    return draw_number(digits, layout(digits, [own[2], own[0], own[2], own[6]], rng, 7))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def over_http(body: bytes, requests: int) -> list[float]:
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                              cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + MAX_SECONDS
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/readyz")
                if json.loads(connection.getresponse().read()).get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.25)
        headers = {"Content-Type": "application/json"}
        times, answer = [], None
        for _ in range(requests + 20):  # the first 20 warm up
            started = time.perf_counter()
            connection.request("POST", "/predict/number", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            times.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {answer}")
            if time.monotonic() > deadline + MAX_SECONDS:
                break
        print(f"read: {answer['number']} (server elapsed_ms of the last: {answer['elapsed_ms']})")
        return times[20:]
    finally:
        server.terminate()
        server.wait(timeout=15)


def in_process(data: bytes, requests: int) -> dict[str, list[float]]:
    from app.config import Settings
    from app.imaging import decode_image
    from app.inference.keras_runtime import KerasRuntime
    from app.pairs import load_pair_reader
    from app.segment import read_digits
    from app.touching import load_detector

    settings = Settings()
    detector, pairs = load_detector(settings.models_dir), load_pair_reader(settings.models_dir)
    runtime = KerasRuntime(settings.models_dir / f"{settings.default_model}.keras")
    runtime.warm()
    calls = []

    def classify(batch: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        out = runtime.predict(batch[..., np.newaxis])
        calls.append((time.perf_counter() - started) * 1000)
        return out

    stages: dict[str, list[float]] = {"decode": [], "segment + to_mnist + detector (no model)": [], "model calls": []}
    for _ in range(requests):
        started = time.perf_counter()
        grey = decode_image(data, settings.max_image_pixels, settings.max_image_side)
        decoded = time.perf_counter()
        calls.clear()
        read_digits(grey, classify, settings.max_digits, detector, pairs)
        done = time.perf_counter()
        stages["decode"].append((decoded - started) * 1000)
        stages["model calls"].append(sum(calls))
        stages["segment + to_mnist + detector (no model)"].append((done - decoded) * 1000 - sum(calls))
    return stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    data = png(four_digit_number())
    body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(data).decode()}).encode()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    times = over_http(body, args.requests)
    print(f"POST /predict/number, 4 digits, c=1, {len(times)} requests: p50 {statistics.median(times):.2f} ms, "
          f"p90 {percentile(times, 0.9):.2f} ms")
    for name, values in in_process(data, args.requests).items():
        print(f"  in process, {name}: median {statistics.median(values):.2f} ms")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
