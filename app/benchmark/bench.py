"""The serving benchmark: start the real server, load it with wrk over loopback, write JSON + Markdown.

Run it with `digit-lab bench` (options: `digit-lab bench --help`).
Every figure comes from this one run, so ratios (/predict vs /healthz, LiteRT vs Keras) compare like
with like on the same machine at the same moment; absolute numbers depend on the machine, which the
report names. For each runtime and worker count it:

1. starts `digit-lab serve` as a child process and times start → ready (first /readyz 200, and every
   worker's "Application startup complete"), then reads each worker's resident memory;
2. runs wrk (one thread, keep-alive connections = concurrency, bounded by --duration and --max-requests)
   against GET /healthz, POST /predict with the page's canvas PNG, with a 28x28 PNG, and
   POST /predict/batch, each after a short warm-up run;
3. stops the server, then in a separate process times each stage of one request in-process
   (base64, decode, preprocess, inference, answer + JSON), median of many calls after warm-up.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the app is imported lazily: the benchmark's own process stays light
    from fastapi import FastAPI

    from app.config import Settings
    from app.inference.registry import LoadedModel

from app.benchmark.inputs import MNIST_DIR, data_url, png
from app.modeling.pen import NUMBER_ASPECT, NUMBER_SENT_HEIGHT, SENT_SIDE
from app.preprocess import FIELD

STARTUP_LINE = "Application startup complete."
READY_TIMEOUT_S = 120.0
BATCH_SIZE = 16

# wrk script: optional POST body from a file, a per-thread request cap, and one JSON line of results.
WRK_LUA = r"""
local body_path = "%(body)s"
if body_path ~= "" then
  local f = assert(io.open(body_path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  f:close()
end
local limit = %(limit)d
local count = 0
function response(status, headers, body)
  count = count + 1
  if count >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %%d, "duration_us": %%d, "errors_connect": %%d, "errors_read": %%d, ' ..
    '"errors_write": %%d, "errors_status": %%d, "errors_timeout": %%d, "p50_us": %%d, "p90_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class LoadResult:
    endpoint: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    images_per_request: int = 1


@dataclass
class ServerRun:
    runtime: str
    workers: int
    first_ready_s: float
    all_ready_s: float
    all_models_s: float
    rss_mb_after_start: dict[str, float]
    rss_mb_after_load: dict[str, float] = field(default_factory=dict)
    loads: list[LoadResult] = field(default_factory=list)


# ---------------------------------------------------------------- inputs


def sample_digits(count: int) -> list[np.ndarray]:
    """Real MNIST test digits (uint8 28x28), or a drawn 7 when the MNIST files are not here."""
    try:
        from app.training.data import load_mnist

        data = load_mnist(MNIST_DIR)
        return [data.x_test[i] for i in range(count)]
    except Exception:  # the benchmark must still run anywhere the server runs
        digit = np.zeros((FIELD, FIELD), dtype=np.uint8)
        digit[6:9, 7:21] = 255
        for row in range(9, 23):
            digit[row, 19 - (row - 9) // 2 : 22 - (row - 9) // 2] = 255
        return [digit] * count


CAPTURED_CANVAS = Path(__file__).with_name("canvas-chromium.png")  # made by benchmarks/capture_canvas.py


def canvas_png(digit: np.ndarray) -> bytes:
    """What the page sends: the PNG Chromium's canvas produced when a 7 was drawn on the pad (captured once);
    where that file is missing, a stand-in with the same size and mode written by Pillow."""
    if CAPTURED_CANVAS.is_file():
        return CAPTURED_CANVAS.read_bytes()
    from PIL import Image

    big = np.asarray(Image.fromarray(digit).resize((SENT_SIDE, SENT_SIDE), Image.Resampling.BILINEAR))
    rgba = np.empty((SENT_SIDE, SENT_SIDE, 4), dtype=np.uint8)
    rgba[..., :3] = (255 - big)[..., np.newaxis]
    rgba[..., 3] = 255
    return png(rgba, "RGBA")


def number_png(digits: list[np.ndarray]) -> bytes:
    """A 4-digit number as the number pad sends it (NUMBER_ASPECT x NUMBER_SENT_HEIGHT, dark ink on white): four
    MNIST digits scaled to 5/8 of the height and set side by side with gaps, so the benchmark needs no pen data."""
    from PIL import Image

    height = NUMBER_SENT_HEIGHT
    side, step, top = height * 5 // 8, height * 75 // 128, height * 3 // 16
    page = np.full((height, height * NUMBER_ASPECT), 255, dtype=np.uint8)
    for k, digit in enumerate(digits[:4]):
        big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
        left = height * 25 // 32 + k * step
        page[top : top + side, left : left + side] = np.minimum(page[top : top + side, left : left + side], 255 - big)
    return png(page)


def request_bodies(folder: Path) -> dict[str, tuple[str, Path | None, int]]:
    """endpoint label → (path, JSON body file or None for GET, images per request)."""
    digits = sample_digits(BATCH_SIZE)
    bodies = {
        "predict_canvas": {"image": data_url(canvas_png(digits[0]))},
        "predict_28": {"image": data_url(png(digits[0]))},
        "predict_batch": {"images": [data_url(png(d)) for d in digits]},
        "predict_number": {"image": data_url(number_png(digits))},
    }
    files = {}
    for name, body in bodies.items():
        files[name] = folder / f"{name}.json"
        files[name].write_text(json.dumps(body))
    return {
        "healthz": ("/healthz", None, 1),
        "predict_canvas": ("/predict", files["predict_canvas"], 1),
        "predict_28": ("/predict", files["predict_28"], 1),
        "predict_batch": ("/predict/batch", files["predict_batch"], BATCH_SIZE),
        "predict_number": ("/predict/number", files["predict_number"], 4),
    }


# ---------------------------------------------------------------- the server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def descendants(pid: int) -> list[int]:
    """Child processes (uvicorn's workers), from /proc, without psutil."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            children += [child, *descendants(child)]
    return children


def worker_pids(pid: int) -> list[int]:
    """The worker processes under a supervisor (multiprocessing's resource tracker is not one)."""
    return sorted(c for c in descendants(pid) if b"resource_tracker" not in cmdline(c))


def memory(pid: int, workers: int) -> dict[str, float]:
    """Resident MB of the server process and each worker (the supervisor, when workers > 1)."""
    if workers == 1:
        return {"worker": rss_mb(pid)}
    result = {"supervisor": rss_mb(pid)}
    for n, child in enumerate(worker_pids(pid)):
        result[f"worker_{n + 1}"] = rss_mb(child)
    return result


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def get(url: str, timeout: float = 1.0) -> tuple[int, dict]:
    """Status and JSON body of a GET (0 and {} when the server does not answer yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except Exception:
        return 0, {}


class Server:
    """`digit-lab serve` in a child process, its log in a file (a pipe would fill up and stall it)."""

    def __init__(self, runtime: str, workers: int, models_dir: Path, log_dir: Path) -> None:
        self.runtime, self.workers = runtime, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{runtime}-{workers}w.log"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DIGIT_LAB_LOG_LEVEL": "info"}
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--workers",
                   str(workers), "--runtime", runtime, "--model-dir", str(models_dir)]
        self.log = self.log_path.open("w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self) -> tuple[float, float, float]:
        """Seconds to the first /readyz 200, to every worker's startup line, and to every model loaded
        (/readyz lists none still loading, on several answers in a row so that each worker has been asked)."""
        first = every = None
        settled = 0
        while time.perf_counter() - self.started < READY_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.log_tail()}")
            status, body = get(self.url + "/readyz", timeout=0.5)
            now = time.perf_counter() - self.started
            if first is None and status == 200:
                first = now
            if every is None and first is not None and self.log_path.read_text().count(STARTUP_LINE) >= self.workers:
                every = now
            if every is not None:
                settled = settled + 1 if status == 200 and not body.get("loading") else 0
                if settled >= 2 * self.workers:
                    return first, every, now
            time.sleep(0.02)
        raise RuntimeError(f"the server was not ready after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log: the folder that holds it is removed when the benchmark stops."""
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------- the load


def wrk(url: str, body: Path | None, concurrency: int, seconds: float, max_requests: int, folder: Path) -> dict:
    """One wrk run; returns its JSON summary line."""
    script = folder / "bench.lua"
    limit = max(1, max_requests // 1)  # one wrk thread, so the cap is per run
    script.write_text(WRK_LUA % {"body": str(body) if body else "", "limit": limit})
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{output}")
    return json.loads(line[len("BENCH "):])


def measure(server: Server, label: str, target: tuple[str, Path | None, int], concurrency: int,
            seconds: float, max_requests: int, folder: Path) -> LoadResult:
    path, body, images = target
    wrk(server.url + path, body, concurrency, max(1.0, seconds / 5), max_requests // 5, folder)  # warm-up
    raw = wrk(server.url + path, body, concurrency, seconds, max_requests, folder)
    elapsed = raw["duration_us"] / 1e6
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return LoadResult(
        endpoint=label, concurrency=concurrency, requests=raw["requests"], seconds=round(elapsed, 2),
        rps=round(raw["requests"] / elapsed, 1), p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000, max_ms=raw["max_us"] / 1000, errors=errors, images_per_request=images,
    )


def serve_and_load(runtime: str, workers: int, options, targets: dict, folder: Path) -> ServerRun:
    server = Server(runtime, workers, options.model_dir, folder)
    try:
        first, every, models = server.wait_ready()
        time.sleep(0.5)  # let the supervisor settle before reading memory
        run = ServerRun(runtime, workers, round(first, 2), round(every, 2), round(models, 2),
                        memory(server.process.pid, workers))
        print(f"  {runtime}, {workers} worker(s): ready in {first:.2f} s (all workers {every:.2f} s, all models "
              f"{models:.2f} s), RSS {run.rss_mb_after_start}", file=sys.stderr)
        for label in options.endpoints:
            for concurrency in options.concurrency:
                result = measure(server, label, targets[label], concurrency, options.duration,
                                 options.max_requests, folder)
                run.loads.append(result)
                print(f"    {label:15} c={concurrency:<3} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
                      f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}", file=sys.stderr)
        run.rss_mb_after_load = memory(server.process.pid, workers)
        return run
    finally:
        server.stop()


# ---------------------------------------------------------------- in-process stages


def stage_times(runtime: str, models_dir: str, calls: int) -> dict:
    """Median µs per call of each stage of one request, in this process (run in a fresh child)."""
    settings, loaded = default_model(runtime, Path(models_dir))
    digit = sample_digits(1)[0]
    result = {}
    for label, data in (("canvas", canvas_png(digit)), ("png_28", png(digit))):
        stages, pipeline = request_stages(settings, loaded, data)
        body = json.dumps({"image": data_url(data)}).encode()
        app = app_for(settings, loaded)
        # Rounds alternate the stages and the whole request, so that the machine slowing down for a while (it
        # does: other tenants) weighs on both sides of the ratio alike instead of on whichever ran then.
        ratios = ("whole_over_stages", "pipeline_over_stages", "whole_over_pipeline")
        rounds: dict[str, list[float]] = {name: [] for name in (*stages, "pipeline", "whole_app", *ratios)}
        per_round = max(1, calls // STAGE_ROUNDS)
        for _ in range(STAGE_ROUNDS):
            for name, fn in stages.items():
                rounds[name].append(median_us(fn, per_round))
            rounds["pipeline"].append(median_us(pipeline, per_round))
            rounds["whole_app"].append(app_request_us(app, body, per_round))
            work = sum(rounds[k][-1] for k in stages)
            rounds["whole_over_stages"].append(rounds["whole_app"][-1] / work)
            rounds["pipeline_over_stages"].append(rounds["pipeline"][-1] / work)
            rounds["whole_over_pipeline"].append(rounds["whole_app"][-1] / rounds["pipeline"][-1])
        result[label] = {name: round(statistics.median(values), 3 if name in ratios else 1)
                         for name, values in rounds.items()}
        result[label]["inside"] = stages_inside_requests(settings, loaded, body, calls)
    return result


def default_model(runtime: str, models_dir: Path | None = None) -> tuple[Settings, LoadedModel]:
    """The settings from the environment and the default model (from `models_dir`, else the settings' own),
    loaded and warmed in this process."""
    from app.config import Settings
    from app.inference.registry import LoadedModel, load_runtime
    from app.modeling.card import ModelCard

    settings = Settings()
    models_dir = models_dir or settings.models_dir
    loaded_runtime = load_runtime(runtime, models_dir, settings.default_model)
    loaded_runtime.warm()
    return settings, LoadedModel(ModelCard.read(models_dir / f"{settings.default_model}.json"), loaded_runtime)


def request_stages(settings: Settings, loaded: LoadedModel,
                   data: bytes) -> tuple[dict[str, Callable[[], object]], Callable[[], str]]:
    """The five stages of POST /predict for one image, each a call on fixed inputs (the intermediates computed
    once), and the pipeline: the five back to back on fresh intermediates, as a request runs them, no app around."""
    from app.imaging import decode_base64_image, decode_image
    from app.preprocess import to_mnist
    from app.recognizer import build_prediction

    text = data_url(data)
    raw = decode_base64_image(text, settings.max_request_bytes)
    grey = decode_image(raw, settings.max_image_pixels, settings.max_image_side)
    image = to_mnist(grey)
    batch = image[np.newaxis, ..., np.newaxis]
    probabilities = loaded.runtime.predict(batch)[0]
    stages = {
        "base64": lambda: decode_base64_image(text, settings.max_request_bytes),
        "decode": lambda: decode_image(raw, settings.max_image_pixels, settings.max_image_side),
        "preprocess": lambda: to_mnist(grey),
        "inference": lambda: loaded.runtime.predict(batch),
        "answer_json": lambda: build_prediction(loaded, probabilities, image, 0.0).model_dump_json(),
    }

    def pipeline() -> str:
        image_ = to_mnist(decode_image(decode_base64_image(text, settings.max_request_bytes),
                                       settings.max_image_pixels, settings.max_image_side))
        answer = loaded.runtime.predict(image_[np.newaxis, ..., np.newaxis])[0]
        return build_prediction(loaded, answer, image_, 0.0).model_dump_json()

    return stages, pipeline


def stages_inside_requests(settings: Settings, loaded: LoadedModel, body: bytes, calls: int) -> dict[str, float]:
    """Median µs of each stage as it runs inside whole POST /predict requests, of the whole request, and of what
    is left outside the stages (per request, then the median): timers wrapped around the app and the functions
    the route calls, in this benchmark's child process only. The tight loops above run each stage hot in the
    caches; inside a request each runs once among everything else, and that difference is not overhead around
    the stages but the stages themselves running colder."""
    import app.api.predict as routes
    import app.recognizer as recognizer
    from app.inference.registry import LoadedModel

    times: dict[str, list[float]] = {name: [] for name in (*STAGES, "whole")}

    def timed(function, stage: str):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[stage].append(time.perf_counter() - started)
        return wrapper

    runtime = copy.copy(loaded.runtime)  # the model's call is timed on a copy; the loaded model stays as it was
    model_call = "predict_now" if hasattr(runtime, "predict_now") else "predict"
    setattr(runtime, model_call, timed(getattr(runtime, model_call), "inference"))
    app = app_for(settings, LoadedModel(loaded.card, runtime))

    async def timed_app(scope, receive, send) -> None:
        started = time.perf_counter()
        await app(scope, receive, send)
        times["whole"].append(time.perf_counter() - started)

    wrapped = {(recognizer, "decode_base64_image"): "base64", (recognizer, "decode_image"): "decode",
               (recognizer, "to_mnist"): "preprocess", (recognizer, "build_prediction"): "answer_json",
               (routes, "as_json"): "answer_json"}
    originals = {key: getattr(*key) for key in wrapped}
    try:
        for (module, name), stage in wrapped.items():
            setattr(module, name, timed(originals[module, name], stage))
        app_request_us(timed_app, body, calls)
    finally:
        for (module, name), function in originals.items():
            setattr(module, name, function)
    per_request = {name: np.array(values[-calls:]) for name, values in times.items() if name != "answer_json"}
    answers = np.array(times["answer_json"][-2 * calls:])  # two timers a request: the answer, then its JSON
    per_request["answer_json"] = answers[::2] + answers[1::2]
    per_request["outside"] = per_request["whole"] - sum(per_request[name] for name in STAGES)
    return {name: round(float(np.median(values)) * 1e6, 1) for name, values in per_request.items()}


def app_for(settings: Settings, loaded: LoadedModel) -> FastAPI:
    """The real FastAPI app around one loaded model, as `digit-lab serve` builds it (no lifespan needed)."""
    from app.inference.registry import Registry
    from app.main import create_app

    return create_app(settings, Registry(default=loaded.card.id, models={loaded.card.id: loaded}))


def app_request_us(app: FastAPI, body: bytes, calls: int) -> float:
    """Median µs of one POST /predict through the ASGI app in this process: routing, validation, middleware, the
    stages above and any hand-off to the model's thread and back; no socket, no HTTP parsing, no access log."""
    import asyncio

    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def once() -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses = []

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(dict(scope), receive, send)
        if statuses != [200]:
            raise RuntimeError(f"POST /predict through the app answered {statuses}")

    async def timed() -> float:
        for _ in range(max(10, calls // 10)):
            await once()
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await once()
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1e6, 1)

    return asyncio.run(timed())


STAGES = ("base64", "decode", "preprocess", "inference", "answer_json")
STAGE_ROUNDS = 5  # the in-process timings are taken in this many alternating rounds (see stage_times)


def round_options(doc: str, rounds: int, calls: int, calls_help: str) -> argparse.Namespace:
    """The command line the in-process benchmarks in benchmarks/ share: --runtime, --rounds, --calls."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    parser.add_argument("--runtime", choices=("keras", "litert"), default="litert")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--calls", type=int, default=calls, help=calls_help)
    return parser.parse_args()


def median_us(fn, calls: int) -> float:
    for _ in range(max(10, calls // 10)):
        fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e6, 1)


def stages_in_child(runtime: str, models_dir: Path, calls: int) -> dict:
    code = (f"import json; from app.benchmark.bench import stage_times; "
            f"print('STAGES', json.dumps(stage_times({runtime!r}, {str(models_dir)!r}, {calls})))")
    from app.cli import serving_threads

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    serving_threads(env)  # the child times inference with the threads `digit-lab serve` gives TensorFlow
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=600)
    line = next((x for x in output.stdout.splitlines() if x.startswith("STAGES ")), None)
    if line is None:
        raise RuntimeError(f"stage timing failed:\n{output.stderr[-2000:]}")
    return json.loads(line[len("STAGES "):])


# ---------------------------------------------------------------- report


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
                   if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_kb = 0
    try:
        memory_kb = int(next(x.split()[1] for x in Path("/proc/meminfo").read_text().splitlines()
                             if x.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("fastapi", "uvicorn", "tensorflow-cpu", "keras", "ai-edge-litert", "numpy", "pillow"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            pass
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" Copyright")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "os": platform.platform(), "python": platform.python_version(), "wrk": wrk_version.strip(),
            "versions": versions}


def fmt_load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "?"


def find(run: ServerRun, endpoint: str, concurrency: int) -> LoadResult | None:
    return next((x for x in run.loads if x.endpoint == endpoint and x.concurrency == concurrency), None)


def rows_with(report: dict, key: str) -> list[tuple[str, str, dict]]:
    """(runtime, input, stage times) of every in-process measurement that recorded `key` (older runs lack some)."""
    return [(runtime, label, stages) for runtime, by_input in report["stages"].items()
            for label, stages in by_input.items() if key in stages]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown table lines: the first two columns name the row, the others are figures (right-aligned)."""
    return ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2),
            *("| " + " | ".join(row) + " |" for row in rows)]


def stages_sum(stages: dict) -> float:
    """The sum of the five stages' tight-loop medians: what the in-process ratio targets divide by."""
    return sum(stages[k] for k in STAGES)


def optional_table(report: dict, key: str, intro: str, header: list[str], cells: Callable[[dict], list[str]],
                   after: str | None = None) -> list[str]:
    """A section of the in-process tables that only newer runs measured (`key`): its intro, table and note."""
    rows = rows_with(report, key)
    if not rows:
        return []
    return ["", intro, "", *table(header, [[runtime, label, *cells(stages)] for runtime, label, stages in rows]),
            *(["", after] if after else [])]


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# digit-lab benchmark",
        "",
        f"Run {report['started']} with `{report['command']}` ({report['duration_s']:.0f} s per load run, "
        f"at most {report['max_requests']:,} requests, after a warm-up run).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['os']}; Python {m['python']}; "
        f"{m['wrk']}. Server and load generator share these cores (loopback). Load average (1, 5, 15 min) "
        f"before: {fmt_load(report.get('load_average_before'))}, after: {fmt_load(report.get('load_average_after'))} "
        "(anything above the benchmark's own share means other work ran on the machine meanwhile).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        "## Throughput and latency (wrk, 1 thread, keep-alive; p50/p99 in ms)",
        "",
        "| runtime | workers | endpoint | conc. | req/s | images/s | p50 | p99 | errors | vs /healthz |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in map(lambda r: ServerRun(**{**r, "loads": [LoadResult(**x) for x in r["loads"]]}), report["runs"]):
        for load in run.loads:
            health = find(run, "healthz", load.concurrency)
            ratio = f"{load.rps / health.rps:.1%}" if health and load.endpoint != "healthz" else ""
            lines.append(
                f"| {run.runtime} | {run.workers} | {load.endpoint} | {load.concurrency} | {load.rps:,.0f} | "
                f"{load.rps * load.images_per_request:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} | "
                f"{load.errors} | {ratio} |"
            )
    lines += [
        "",
        f"`predict_canvas`: POST /predict with a {SENT_SIDE}x{SENT_SIDE} opaque RGBA canvas PNG (what the page sends: "
        "app/benchmark/canvas-chromium.png, captured from Chromium by benchmarks/capture_canvas.py); "
        "`predict_28`: a 28x28 greyscale PNG; "
        f"`predict_batch`: POST /predict/batch with {BATCH_SIZE} 28x28 PNGs (images/s counts images).",
        f"`predict_number`: POST /predict/number with a {NUMBER_ASPECT * NUMBER_SENT_HEIGHT}x{NUMBER_SENT_HEIGHT} "
        "PNG of four MNIST digits side by side (the number pad's size; images/s counts digits).",
        "",
        "## Start-up and memory",
        "",
        "| runtime | workers | first /readyz 200 (s) | all workers ready (s) | all models loaded (s) | "
        "RSS after start (MB) | RSS after load (MB) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for run in report["runs"]:
        fmt = lambda d: ", ".join(f"{k} {v:.0f}" for k, v in d.items())  # noqa: E731
        lines.append(f"| {run['runtime']} | {run['workers']} | {run['first_ready_s']:.2f} | "
                     f"{run['all_ready_s']:.2f} | {run['all_models_s']:.2f} | "
                     f"{fmt(run['rss_mb_after_start'])} | {fmt(run['rss_mb_after_load'])} |")
    lines += [
        "",
        "Start = `digit-lab serve` process spawned; ready = first `GET /readyz` 200 (the default model is "
        "loaded and warm), then every worker's `Application startup complete.` log line, then /readyz listing "
        "no model still loading in the background. Load runs start after that.",
        "",
        "## In-process time per stage (median µs per call, default model, one image)",
        "",
    ]
    lines += table(["runtime", "input", "base64", "decode", "preprocess", "inference", "answer + JSON", "sum",
                    "whole request through the app", "of which outside the stages"],
                   [[runtime, label, *(f"{stages[k]:.0f}" for k in STAGES), f"{stages_sum(stages):.0f}",
                     *((f"{stages['whole_app']:.0f}", f"{stages['whole_app'] - stages_sum(stages):.0f}")
                       if "whole_app" in stages else ("", ""))]
                    for runtime, by_input in report["stages"].items() for label, stages in by_input.items()])
    lines += ["", "Whole request through the app: POST /predict called as ASGI in the same process (the routing, "
              "body parsing and validation, the middleware, the stages and, for Keras under load, the hand-off to "
              "the model's thread and back), without the socket, HTTP parsing or the access log."]
    lines += optional_table(
        report, "inside",
        "The same stages timed inside those whole requests (median µs; timers around the functions the route "
        "calls): each runs once per request among everything else, colder in the caches than in the tight loops "
        "above. What is left outside them is the routing, the middleware and the hand-offs.",
        ["runtime", "input", "base64", "decode", "preprocess", "inference", "answer + JSON", "whole request",
         "outside the stages"],
        lambda stages: [f"{stages['inside'][k]:.0f}" for k in (*STAGES, "whole", "outside")],
        "Each column is a median over the same requests; the last is the median of each request's whole time less "
        "its own stages.")
    lines += optional_table(
        report, "pipeline",
        "The stages back to back (median µs): the five stages called in sequence on fresh intermediates, as a "
        "request runs them, with no app around them. Against the tight loops this is what the stages cost each "
        "other in the caches; against the whole request, what the app adds (medians of the rounds' ratios).",
        ["runtime", "input", "sum of the tight loops", "back to back", "× the sum", "whole request",
         "× back to back"],
        lambda stages: [f"{stages_sum(stages):.0f}", f"{stages['pipeline']:.0f}",
                        f"{stages['pipeline_over_stages']:.2f}", f"{stages['whole_app']:.0f}",
                        f"{stages['whole_over_pipeline']:.2f}"])
    lines += ["", "## Targets against this run", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {'yes' if met else 'no'} |" for target, measured, met in targets(report)]
    lines += ["", f"Raw figures: `{report['json_name']}`.", ""]
    return "\n".join(lines)


def targets(report: dict) -> list[tuple[str, str, bool]]:
    """The issue's targets, checked against whatever this run measured (skipped where it did not)."""
    runs = {(r["runtime"], r["workers"]): r for r in report["runs"]}
    rows = []

    def load(runtime: str, workers: int, endpoint: str, concurrency: int) -> dict | None:
        run = runs.get((runtime, workers))
        return next((x for x in run["loads"] if x["endpoint"] == endpoint and x["concurrency"] == concurrency),
                    None) if run else None

    one = load("keras", 1, "predict_canvas", 1)
    if one:
        rows.append(("keras, 1 worker: POST /predict canvas, c=1, p50 ≤ 3 ms", f"{one['p50_ms']:.2f} ms",
                     one["p50_ms"] <= 3.0))
    for runtime, floor in (("keras", 500), ("litert", 1000)):
        busy = load(runtime, 2, "predict_canvas", 16)
        if busy:
            met = busy["rps"] >= floor and not busy["errors"]
            rows.append((f"{runtime}, 2 workers: POST /predict canvas, c=16, ≥ {floor:,} req/s, no errors",
                         f"{busy['rps']:,.0f} req/s, {busy['errors']} errors", met))
    for runtime, limit in (("keras", 6.0), ("litert", 1.5)):
        run = runs.get((runtime, 1))
        if run:
            rows.append((f"{runtime}, 1 worker: ready to serve ≤ {limit:g} s", f"{run['first_ready_s']:.2f} s "
                         f"(every model: {run['all_models_s']:.2f} s)", run["first_ready_s"] <= limit))
    return rows + overhead_targets(report, load)


# Overhead targets (issue 18), as ratios to what the same run measures, so that they hold on any machine.
WHOLE_OVER_STAGES_MAX = 1.3  # a whole request in process costs at most this multiple of its own stages
LOOPBACK_MARGIN_MS = 0.5  # canvas p50 at c=1 ≤ /healthz p50 + the stages + this
HEALTHZ_SHARE_MIN = {"keras": 0.12, "litert": 0.16}  # 2 workers, c=16: canvas req/s over /healthz req/s


def overhead_targets(report: dict, load) -> list[tuple[str, str, bool]]:
    """What surrounds the model's work, relative to that work and to the cheapest request of the same run."""
    rows = []
    for runtime, by_input in report["stages"].items():
        stages = by_input.get("canvas")
        if not stages or "whole_app" not in stages:
            continue
        work = stages_sum(stages)
        ratio = stages.get("whole_over_stages", stages["whole_app"] / work)  # older results: one pass, no rounds
        rows.append((f"{runtime}: whole POST /predict in process ≤ {WHOLE_OVER_STAGES_MAX:g} × its stages",
                     f"{ratio:.2f} × (medians: {stages['whole_app']:.0f} µs whole, {work:.0f} µs of stages)",
                     ratio <= WHOLE_OVER_STAGES_MAX))
        canvas, health = load(runtime, 1, "predict_canvas", 1), load(runtime, 1, "healthz", 1)
        if canvas and health:
            bound = health["p50_ms"] + work / 1000 + LOOPBACK_MARGIN_MS
            rows.append((f"{runtime}, 1 worker, c=1: canvas p50 ≤ /healthz p50 + stages + {LOOPBACK_MARGIN_MS:g} ms",
                         f"{canvas['p50_ms']:.2f} ms vs {health['p50_ms']:.2f} + {work / 1000:.2f} + "
                         f"{LOOPBACK_MARGIN_MS:g} = {bound:.2f} ms", canvas["p50_ms"] <= bound))
    for runtime, share in HEALTHZ_SHARE_MIN.items():
        canvas, health = load(runtime, 2, "predict_canvas", 16), load(runtime, 2, "healthz", 16)
        if canvas and health:
            measured = canvas["rps"] / health["rps"]
            rows.append((f"{runtime}, 2 workers, c=16: canvas ≥ {share:.0%} of /healthz's req/s",
                         f"{measured:.1%} ({canvas['rps']:,.0f} / {health['rps']:,.0f})", measured >= share))
    return rows


# ---------------------------------------------------------------- main


def command_line(options) -> str:
    """The options as a command that reruns this benchmark."""
    return (f"digit-lab bench --runtimes {' '.join(options.runtimes)} --workers {' '.join(map(str, options.workers))} "
            f"--concurrency {' '.join(map(str, options.concurrency))} --endpoints {' '.join(options.endpoints)} "
            f"--duration {options.duration:g} --max-requests {options.max_requests} --calls {options.calls}")


def run(options) -> int:
    """Run the whole benchmark with parsed `digit-lab bench` options; write the report; 0 on success."""
    if shutil.which("wrk") is None:
        print("digit-lab bench: wrk is not installed (Debian/Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    missing = [r for r in options.runtimes if r == "litert" and not any(options.model_dir.glob("*.tflite"))]
    if missing:
        print(f"digit-lab bench: no .tflite files in {options.model_dir}; run `digit-lab export --all`",
              file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    report: dict = {
        "started": started.isoformat(timespec="seconds"),
        "command": command_line(options),
        "duration_s": options.duration,
        "max_requests": options.max_requests,
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "runs": [],
        "stages": {},
    }
    with tempfile.TemporaryDirectory(prefix="digit-lab-bench-") as scratch:
        folder = Path(scratch)
        targets = request_bodies(folder)
        for runtime in options.runtimes:
            for workers in options.workers:
                print(f"serving with {runtime}, {workers} worker(s) …", file=sys.stderr)
                report["runs"].append(asdict(serve_and_load(runtime, workers, options, targets, folder)))
        for runtime in options.runtimes:
            print(f"in-process stage times, {runtime} …", file=sys.stderr)
            report["stages"][runtime] = stages_in_child(runtime, options.model_dir, options.calls)
    report["load_average_after"] = os.getloadavg()
    options.out.mkdir(parents=True, exist_ok=True)
    json_path = options.out / "results.json"
    report["json_name"] = json_path.name
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    markdown_path = options.out / "RESULTS.md"
    markdown_path.write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {markdown_path} and {json_path}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    from app.cli import build_parser

    args = sys.argv[1:] if argv is None else argv
    options = build_parser().parse_args(["bench", *args])
    return options.run(options)


if __name__ == "__main__":
    sys.exit(main())
