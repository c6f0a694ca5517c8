"""Faults the operator or the load causes: bad model files at start-up, one model of several broken, SIGTERM
with a request in flight, and many different digits at once (no answer may carry another request's data).

The start-up and SIGTERM tests run the real `digit-lab serve` in a subprocess on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.imaging import decode_image
from app.inference.registry import Registry
from app.main import create_app
from app.preprocess import to_mnist
from tests.conftest import canvas_png, data_url, png_bytes
from tests.helpers import START_TIMEOUT_S, free_port, wait_until_ready


def digit_lab() -> list[str]:
    """The installed console script (what an operator runs), else the module."""
    script = Path(sys.executable).with_name("digit-lab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def serve_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIT_LAB_")}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


def copy_models(settings: Settings, tmp_path: Path, ids: list[str]) -> Path:
    """A private models directory holding only `ids` (never touch the shipped models/)."""
    target = tmp_path / "models"
    target.mkdir()
    for model_id in ids:
        for suffix in (".json", ".keras"):
            shutil.copy(settings.models_dir / f"{model_id}{suffix}", target)
    return target


def own_lines(stderr: str) -> list[str]:
    """stderr without TensorFlow's unconditional start-up chatter (absl/oneDNN notices it prints on import)."""
    noise = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "oneDNN custom operations")
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(noise)]


# --- start-up faults -------------------------------------------------------------------------------------------


def start_failure(models_dir: Path, workers: int = 1) -> tuple[int, list[str]]:
    result = subprocess.run([*digit_lab(), "serve", "--model-dir", str(models_dir), "--port", "0",
                             "--workers", str(workers)],
                            capture_output=True, text=True, timeout=START_TIMEOUT_S, env=serve_env())
    return result.returncode, own_lines(result.stderr)


def assert_one_clear_line(code: int, lines: list[str], says: str) -> None:
    assert code != 0, "the server must not start"
    text = "\n".join(lines)
    assert "Traceback" not in text and 'File "' not in text, text
    assert len(lines) <= 3, f"a wall of text instead of one clear line:\n{text}"
    errors = [line for line in lines if line.startswith("digit-lab serve: cannot start:")]
    assert errors and says in errors[0], text


def test_an_empty_model_directory_stops_start_up_with_one_line(tmp_path: Path) -> None:
    code, lines = start_failure(tmp_path)
    assert_one_clear_line(code, lines, "no model cards")


def test_a_missing_model_file_stops_start_up_with_one_line(settings: Settings, tmp_path: Path) -> None:
    models = copy_models(settings, tmp_path, [settings.default_model])
    (models / f"{settings.default_model}.keras").unlink()
    code, lines = start_failure(models)
    assert_one_clear_line(code, lines, f"default model {settings.default_model!r} is not available")


def test_a_corrupt_model_file_stops_start_up_with_one_line(settings: Settings, tmp_path: Path) -> None:
    models = copy_models(settings, tmp_path, [settings.default_model])
    (models / f"{settings.default_model}.keras").write_bytes(b"PK\x03\x04 not really a zip")
    code, lines = start_failure(models)
    assert_one_clear_line(code, lines, f"default model {settings.default_model!r} is not available")


def test_several_workers_check_the_default_model_first_with_one_line(settings: Settings, tmp_path: Path) -> None:
    """With --workers 2 the check runs in a child process (the supervisor keeps no TensorFlow); same one line."""
    models = copy_models(settings, tmp_path, [settings.default_model])
    (models / f"{settings.default_model}.keras").write_bytes(b"PK\x03\x04 not really a zip")
    code, lines = start_failure(models, workers=2)
    assert_one_clear_line(code, lines, f"default model {settings.default_model!r} is not available")


def test_a_corrupt_card_stops_start_up_with_one_line(settings: Settings, tmp_path: Path) -> None:
    models = copy_models(settings, tmp_path, [settings.default_model])
    (models / f"{settings.default_model}.json").write_text('{"id": "cnn", "title": ')
    code, lines = start_failure(models)
    assert_one_clear_line(code, lines, "is not available")


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_one_broken_model_of_several_leaves_the_others_serving(
    settings: Settings, registry: Registry, tmp_path: Path, damage: str
) -> None:
    other = next(model_id for model_id in sorted(registry.models) if model_id != registry.default)
    models = copy_models(settings, tmp_path, [registry.default, other])
    if damage == "missing":
        (models / f"{other}.keras").unlink()
    else:
        (models / f"{other}.keras").write_bytes(os.urandom(2048))
    broken = Registry.load(models, registry.default, settings.runtime)
    with TestClient(create_app(settings, broken)) as client:
        ready = client.get("/readyz").json()
        assert ready["ready"] is True and ready["loaded"] == [registry.default]
        assert list(ready["failed"]) == [other] and f"{other}.keras" in ready["failed"][other]
        assert str(tmp_path) not in json.dumps(ready), "/readyz must not show the server's directories"
        image = data_url(png_bytes(np.pad(np.full((120, 30), 255, np.uint8), 80)))
        assert client.post("/predict", json={"image": image}).status_code == 200
        refused = client.post("/predict", json={"image": image, "model": other})
        assert refused.status_code == 404 and registry.default in refused.json()["detail"]


# --- SIGTERM with a request in flight ----------------------------------------------------------------------------


def read_response(connection: socket.socket) -> tuple[int, dict]:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish_then_exits(settings: Settings, tmp_path: Path) -> None:
    models = copy_models(settings, tmp_path, [settings.default_model])
    port = free_port()
    process = subprocess.Popen([*digit_lab(), "serve", "--model-dir", str(models), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=serve_env())
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}/healthz")
        # A faint paper grain makes the PNG ~100 kB, so half the body really is still on its way.
        page = np.random.default_rng(0).integers(245, 256, size=(280, 280), dtype=np.uint8)
        page[50:230, 125:155] = 0
        body = json.dumps({"image": data_url(png_bytes(page))}).encode()
        half = len(body) // 2
        assert half > 10_000
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % len(body) + body[:half])
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert process.poll() is None, "the server quit with a request in flight"
        with pytest.raises(OSError):  # it stopped accepting new connections
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        connection.sendall(body[half:])
        status, answer = read_response(connection)
        connection.close()
        assert status == 200 and 0 <= answer["digit"] <= 9
        # Uvicorn re-raises the signal once it has shut down cleanly, so the exit is "terminated by SIGTERM".
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        _, stderr = process.communicate(timeout=5)
        assert "Application shutdown complete" in stderr and "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- concurrency: no request sees another's data ----------------------------------------------------------------


def test_concurrent_requests_each_get_their_own_answer(client: TestClient, registry: Registry, mnist) -> None:
    """48 different digits at once, over two models and both input routes: each answer must show the model the
    image its own request sent, with the probabilities that image gets when sent alone."""
    models = sorted(registry.models)[:2]
    digits = mnist.x_test[:48]
    pngs = [canvas_png(digit, variant="inverted" if i % 2 else "upscaled") for i, digit in enumerate(digits)]
    expected_inputs = [np.round(to_mnist(decode_image(png, 16_000_000, 10_000)), 3) for png in pngs]
    alone = [
        client.post("/predict", json={"image": data_url(png), "model": models[i % len(models)]}).json()
        for i, png in enumerate(pngs)
    ]

    async def fire() -> list[dict]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as concurrent:
            calls = []
            for i, png in enumerate(pngs):
                model = models[i % len(models)]
                if i % 3 == 0:
                    calls.append(concurrent.post(f"/predict/file?model={model}", files={"file": ("d.png", png)}))
                else:
                    calls.append(concurrent.post("/predict", json={"image": data_url(png), "model": model}))
            return [response.json() for response in await asyncio.gather(*calls)]

    for i, answer in enumerate(asyncio.run(fire())):
        assert answer["model"] == models[i % len(models)]
        assert np.allclose(answer["input"], expected_inputs[i], atol=2e-3), f"request {i} saw another image"
        assert np.allclose(answer["probabilities"], alone[i]["probabilities"], atol=1e-5), f"request {i}"
        assert answer["digit"] == alone[i]["digit"]
