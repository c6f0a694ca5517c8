"""What a public demo owes its visitors: nothing they send is written to disk or logged, responses carry strict
security headers, CORS is off unless an allow-list turns it on, and no error shows a traceback or a file path.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.formparsers import MultiPartParser

from app.config import Settings
from app.inference.registry import LoadedModel, Registry
from app.main import create_app
from tests.conftest import canvas_png, data_url, png_bytes

# --- nothing reaches the disk -----------------------------------------------------------------------------------

_WRITES: list[str] = []
_RECORDING = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    """Process-wide audit hook (it cannot be removed, so it only records while a test asks it to)."""
    if not _RECORDING:
        return
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        if writing and not str(path).endswith((".pyc", ".pyc.tmp")) and "__pycache__" not in str(path):
            _WRITES.append(f"open {path!r} mode={mode!r} flags={flags!r}")
    elif event in ("tempfile.mkstemp", "tempfile.mkdtemp", "shutil.copyfile", "os.rename", "os.link"):
        _WRITES.append(f"{event} {args!r}")


sys.addaudithook(_audit)


@contextmanager
def disk_writes() -> Iterator[list[str]]:
    global _RECORDING
    _WRITES.clear()
    _RECORDING = True
    try:
        yield _WRITES
    finally:
        _RECORDING = False


def noise_png(side: int = 740) -> bytes:
    """An incompressible ~1.6 MB PNG: bigger than Starlette's default 1 MiB upload spool, under our 2 MiB limit."""
    return png_bytes(np.random.default_rng(1).integers(0, 256, size=(side, side, 3), dtype=np.uint8))


def every_kind_of_request(client: TestClient, mnist) -> list[int]:
    digit = canvas_png(mnist.x_test[0], variant="inverted")
    big = noise_png()
    assert len(big) > 1024 * 1024
    statuses = [
        client.post("/predict", json={"image": data_url(digit), "explain": True}).status_code,
        client.post("/predict/file", files={"file": ("d.png", digit, "image/png")}).status_code,
        client.post("/predict/file", files={"file": ("big.png", big, "image/png")}).status_code,
        client.post("/predict/batch", json={"images": [data_url(digit)] * 3}).status_code,
        client.post("/predict/compare", json={"image": data_url(digit)}).status_code,
        client.post("/predict", json={"image": "data:image/png;base64,AAAA"}).status_code,
        client.post("/predict", content=b"A" * (3 * 1024 * 1024), headers={"content-type": "application/json"}
                    ).status_code,
    ]
    return statuses


def test_nothing_a_visitor_sends_is_written_to_disk(client: TestClient, mnist) -> None:
    every_kind_of_request(client, mnist)  # warm-up: lazy imports may write bytecode caches
    with disk_writes() as writes:
        statuses = every_kind_of_request(client, mnist)
    assert statuses[:5] == [200, 200, statuses[2], 200, 200] and statuses[2] in (200, 422), statuses
    assert statuses[5:] == [422, 413]
    assert writes == [], "request data reached the disk"


def test_the_disk_detector_catches_a_spooled_upload(client: TestClient, monkeypatch) -> None:
    """Proof the previous test can fail: with Starlette's default 1 MiB spool, a big upload hits a temp file."""
    monkeypatch.setattr(MultiPartParser, "spool_max_size", 1024 * 1024)
    with disk_writes() as writes:
        client.post("/predict/file", files={"file": ("big.png", noise_png(), "image/png")})
    assert writes, "the audit hook saw no temporary file"


# --- nothing reaches the logs -----------------------------------------------------------------------------------


def test_logs_hold_no_image_data(client: TestClient, mnist, caplog: pytest.LogCaptureFixture) -> None:
    digit = canvas_png(mnist.x_test[0], variant="inverted")
    secret = base64.b64encode(b"SECRET-VISITOR-DRAWING" * 4).decode()
    caplog.set_level(logging.DEBUG)
    client.post("/predict", json={"image": data_url(digit)})
    client.post("/predict", json={"image": "data:image/png;base64," + secret})
    client.post("/predict", json={"image": secret + "!!"})
    client.post("/predict", json={"image": data_url(digit), "surprise": secret})
    client.post("/predict/file", files={"file": ("d.png", base64.b64decode(secret), "image/png")})
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
    for fragment in (secret[:24], base64.b64encode(digit).decode()[20:60], "SECRET-VISITOR"):
        assert fragment not in logged


# --- security headers ---------------------------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("method, path, kwargs", [
    ("get", "/", {}),
    ("get", "/lesson", {}),
    ("get", "/healthz", {}),
    ("get", "/models", {}),
    ("get", "/models/no-such-model", {}),
    ("get", "/static/favicon.svg", {}),
    ("post", "/predict", {"json": {"image": "eA=="}}),
    ("post", "/predict", {"content": b"x" * (3 * 1024 * 1024), "headers": {"content-type": "application/json"}}),
])
def test_every_response_carries_strict_security_headers(client: TestClient, method: str, path: str,
                                                         kwargs: dict) -> None:
    response = getattr(client, method)(path, **kwargs)
    csp = csp_directives(response.headers["content-security-policy"])
    for directive in ("script-src", "default-src"):
        assert "'unsafe-inline'" not in csp.get(directive, []) and "'unsafe-eval'" not in csp.get(directive, [])
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("no-referrer", "strict-origin-when-cross-origin", "same-origin")
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/lesson"])
def test_pages_have_no_inline_script_the_policy_would_block(client: TestClient, path: str) -> None:
    html = client.get(path).text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts, "the page loads no script at all"
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), "inline <script> is blocked by script-src 'self'"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "inline event handlers are blocked too"
    assert "javascript:" not in html.lower()


# --- CORS -----------------------------------------------------------------------------------------------------------


def test_cors_is_off_by_default(client: TestClient) -> None:
    simple = client.get("/models", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in simple.headers
    preflight = client.options("/predict", headers={"Origin": "https://elsewhere.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers and preflight.status_code >= 400


def test_cors_allow_list_admits_only_the_listed_origins(registry: Registry) -> None:
    settings = Settings(cors_origins=["https://teacher.example"])
    with TestClient(create_app(settings, registry)) as client:
        allowed = client.get("/models", headers={"Origin": "https://teacher.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://teacher.example"
        other = client.get("/models", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options("/predict", headers={"Origin": "https://teacher.example",
                                                        "Access-Control-Request-Method": "POST",
                                                        "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200 and "POST" in preflight.headers["access-control-allow-methods"]
        refused = client.options("/predict", headers={"Origin": "https://elsewhere.example",
                                                      "Access-Control-Request-Method": "POST"})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGIT_LAB_CORS_ORIGINS", '["https://a.example", "https://b.example"]')
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


# --- errors never show internals ----------------------------------------------------------------------------------


class ExplodingRuntime:
    """A runtime that fails the way a bug would, with a message full of internals."""

    name = "keras"

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise RuntimeError("secret internals at /srv/digit-lab/app/inference/keras_runtime.py line 42")

    explain = predict

    def warm(self) -> None:
        pass


def test_an_unexpected_error_is_a_generic_500_without_internals(registry: Registry, caplog) -> None:
    card = registry.models[registry.default].card
    broken = Registry(default=card.id, models={card.id: LoadedModel(card, ExplodingRuntime())})
    page = np.full((280, 280), 255, dtype=np.uint8)
    page[50:230, 125:155] = 0
    with TestClient(create_app(Settings(), broken), raise_server_exceptions=False) as client:
        response = client.post("/predict", json={"image": data_url(png_bytes(page))})
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on our side; it has been logged."}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    for leak in ("secret", "Traceback", ".py", "/srv", "RuntimeError"):
        assert leak not in response.text
    assert any("secret internals" in (record.exc_text or "") or record.exc_info for record in caplog.records), \
        "the operator's log must keep the details"


def test_the_schema_documents_error_responses_for_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(spec), "FastAPI's default error shape is not what we send"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            assert "500" in errors, f"{method.upper()} {path}"
            for code, response in errors.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), f"{method.upper()} {path} {code}"
            if method == "post":
                assert {"413", "415", "422"} <= set(errors), f"{method.upper()} {path}"
