"""Hostile input that is cheap to send and used to be expensive to answer (issue 17), in-process.

Each defence is shown to act: scan bombs and lying JPEG headers are refused before libjpeg runs, hostile JSON
is refused before validation with a small body, heavy work beyond its queue gets a fast 503 while pages and
canvas predictions go on, and the HTTP courtesies (HEAD, redirects, shutdown) hold. The figures under real load
come from benchmarks/attack.py; the connection limits, which need a real server, are in test_connections.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import time
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app import admission
from app.decode_budget import MAX_JPEG_SCANS, check_jpeg
from app.errors import NotAnImageError, PayloadTooLargeError
from app.hygiene import HygieneMiddleware
from app.imaging import quick_to_decode
from benchmarks.attack import corrupt_jpeg, scan_bomb
from tests.conftest import data_url, png_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stroke(side: int = 280) -> np.ndarray:
    page = np.full((side, side), 255, np.uint8)
    page[side // 5 : 4 * side // 5, 9 * side // 20 : 11 * side // 20] = 0
    return page


def jpeg(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- decoding under a budget --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return scan_bomb(repeats=1000)


def test_a_scan_bomb_is_refused_before_libjpeg_runs(client: TestClient, bomb: bytes, monkeypatch) -> None:
    opened = []
    monkeypatch.setattr("app.imaging.Image.open", lambda *a, **k: opened.append(1))
    started = time.perf_counter()
    upload = client.post("/predict/file", files={"file": ("b.jpg", bomb, "image/jpeg")})
    inline = client.post("/predict", json={"image": data_url(bomb, "image/jpeg")})
    assert time.perf_counter() - started < 2.0
    for response in (upload, inline):
        assert response.status_code == 413 and "scans" in response.json()["detail"], response.text
    assert opened == [], "the decoder must not see a scan bomb"


def test_a_few_repeated_scans_over_a_huge_frame_are_too_much_work(bomb: bytes) -> None:
    """Under the scan count, but 26 passes over 16 Mpx: refused by the work budget."""
    with pytest.raises(PayloadTooLargeError, match="decoding work"):
        check_jpeg(scan_bomb(repeats=20), 16_000_000)
    with pytest.raises(PayloadTooLargeError, match=f"more than {MAX_JPEG_SCANS} scans"):
        check_jpeg(bomb, 16_000_000)


def test_ordinary_and_progressive_jpegs_pass_the_budget() -> None:
    for options in ({}, {"optimize": True}, {"progressive": True}, {"progressive": True, "optimize": True}):
        for page in (stroke(), np.stack([stroke(1200)] * 3, axis=-1)):
            check_jpeg(jpeg(page, **options), 16_000_000)
    flat = io.BytesIO()
    Image.new("L", (4000, 4000), 255).save(flat, "JPEG", progressive=True, optimize=True)
    check_jpeg(flat.getvalue(), 16_000_000)  # the smallest honest 16 Mpx JPEG is still ~1 bit per block


def test_a_progressive_jpeg_digit_is_still_recognised(client: TestClient) -> None:
    response = client.post("/predict", json={"image": data_url(jpeg(stroke(), progressive=True), "image/jpeg")})
    assert response.status_code == 200 and response.json()["digit"] == 1


def test_a_jpeg_whose_header_claims_more_than_its_data_is_refused(client: TestClient) -> None:
    data = corrupt_jpeg(4000)
    assert Image.open(io.BytesIO(data)).size == (4000, 4000)
    for response in (client.post("/predict", json={"image": data_url(data, "image/jpeg")}),
                     client.post("/predict/file", files={"file": ("c.jpg", data, "image/jpeg")})):
        assert response.status_code == 422 and "corrupt" in response.json()["detail"]


def test_arithmetic_coded_jpegs_are_refused_plainly() -> None:
    data = bytearray(jpeg(stroke()))
    frame = data.index(b"\xff\xc0")
    data[frame + 1] = 0xC9  # SOF9: arithmetic coding
    with pytest.raises(NotAnImageError, match="arithmetic"):
        check_jpeg(bytes(data), 16_000_000)


def png_with_empty_chunks(count: int) -> bytes:
    plain = png_bytes(stroke())
    iend = plain.rindex(b"IEND") - 4
    return plain[:iend] + chunk(b"teXt", b"") * count + plain[iend:]


def test_a_png_of_120000_empty_chunks_is_refused_off_the_event_loop(client: TestClient) -> None:
    data = png_with_empty_chunks(120_000)
    started = time.perf_counter()
    assert not quick_to_decode(data, 512 * 512)  # the event loop's check gives up after a few chunks
    assert time.perf_counter() - started < 0.05
    response = client.post("/predict", json={"image": data_url(data)})
    assert response.status_code == 413 and "chunks" in response.json()["detail"]


def test_a_png_of_a_few_hundred_chunks_is_still_read(client: TestClient) -> None:
    response = client.post("/predict", json={"image": data_url(png_with_empty_chunks(300))})
    assert response.status_code == 200 and response.json()["digit"] == 1


# --- hostile JSON -------------------------------------------------------------------------------------------------


def post_raw(client: TestClient, path: str, body: bytes):
    return client.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("name,path,body,status", [
    ("300,000 list items", "/predict/batch", b'{"images": [' + b",".join([b"1"] * 300_000) + b"]}", 413),
    ("150,000 keys", "/predict", b"{" + b",".join(b'"k%d": 1' % i for i in range(150_000)) + b"}", 413),
    ("40 keys", "/predict", json.dumps({f"k{i}": 1 for i in range(40)}).encode(), 422),
    ("100 non-strings in a batch", "/predict/batch", json.dumps({"images": [1] * 100}).encode(), 413),
    ("nesting 5,000 deep", "/predict", b'{"image": ' + b"[" * 5000 + b"]" * 5000 + b"}", 422),
    ("nesting 20 deep", "/predict", b'{"image": ' + b"[" * 20 + b"]" * 20 + b"}", 422),
])
def test_hostile_json_is_refused_early_with_a_small_body(client: TestClient, monkeypatch, name, path, body,
                                                         status) -> None:
    validated = []
    monkeypatch.setattr("app.main.validation_message", lambda error: validated.append(1) or "x")
    response = post_raw(client, path, body)
    assert response.status_code == status, response.text
    assert len(response.content) < 4096
    assert validated == [], "refused before pydantic built any error"


def test_duplicate_json_keys_are_refused(client: TestClient) -> None:
    response = post_raw(client, "/predict", b'{"image": "eA==", "image": "eA=="}')
    assert response.status_code == 422
    assert "'image' appears more than once" in response.json()["detail"]


def test_validation_errors_are_capped_at_a_few_and_a_count(client: TestClient) -> None:
    body = {"image": "eA==", **{f"extra{i}": 1 for i in range(20)}}
    response = client.post("/predict", json=body)
    detail = response.json()["detail"]
    assert response.status_code == 422 and "And 17 more problems" in detail and len(detail) < 600, detail


def test_a_valid_request_passes_the_json_guard_unchanged(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"images": [data_url(png_bytes(stroke()))] * 3, "model": None})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 3


# --- admission --------------------------------------------------------------------------------------------------


@pytest.fixture
def saturated():
    """The heavy gate as if its slots and queue were all taken."""
    gate = admission.heavy
    saved = gate.active, list(gate._line)
    gate.active = gate.running
    loop = asyncio.new_event_loop()
    fillers = [loop.create_future() for _ in range(gate.waiting)]
    gate._line.extend(fillers)
    try:
        yield gate
    finally:
        gate._line.clear()
        gate._line.extend(saved[1])
        gate.active = saved[0]
        loop.close()


def test_heavy_work_beyond_the_queue_gets_a_fast_503_while_pages_go_on(client: TestClient, saturated) -> None:
    upload = client.post("/predict/file", files={"file": ("d.png", png_bytes(stroke()), "image/png")})
    assert upload.status_code == 503 and upload.headers["retry-after"].isdigit()
    assert "busy" in upload.json()["detail"]
    assert upload.headers["x-content-type-options"] == "nosniff"
    for path in ("/predict/batch", "/predict/compare"):
        assert client.post(path, json={"images": ["eA=="]} if "batch" in path else {"image": "eA=="}
                           ).status_code == 503
    a_jpeg = client.post("/predict", json={"image": data_url(jpeg(stroke()), "image/jpeg")})
    assert a_jpeg.status_code == 503 and a_jpeg.headers["retry-after"].isdigit()
    # The page, metadata and the canvas never queue behind uploads.
    assert client.get("/").status_code == 200
    assert client.get("/models").status_code == 200
    assert client.post("/predict", json={"image": data_url(png_bytes(stroke()))}).status_code == 200
    ready = client.get("/readyz").json()
    assert ready["saturated"] is True and ready["heavy"]["waiting"] == saturated.waiting


def test_readyz_reports_no_saturation_when_idle(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    assert ready["saturated"] is False and ready["heavy"]["running"] == 0


def test_the_gate_admits_runs_queues_and_refuses() -> None:
    async def scenario() -> list[str]:
        gate = admission.Gate("test", running=1, waiting=1)
        await gate.enter()
        second = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        assert gate.queued == 1 and gate.saturated
        with pytest.raises(admission.ServerBusyError):
            await gate.enter()
        gate.leave()  # hands the slot to the one in line
        await second
        assert gate.active == 1 and gate.queued == 0
        third = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        third.cancel()  # a client that leaves while in line gives up its place
        await asyncio.gather(third, return_exceptions=True)
        assert gate.queued == 0
        gate.leave()
        return [str(gate.active)]

    assert asyncio.run(scenario()) == ["0"]


def test_a_client_that_leaves_while_queued_is_dropped_before_any_work() -> None:
    called = []

    async def app(scope, receive, send) -> None:
        called.append(1)

    async def scenario() -> None:
        gate = admission.heavy
        gate.active = gate.running  # every slot busy: this request must wait in line
        try:
            messages = [{"type": "http.request", "body": b"{}", "more_body": False}, {"type": "http.disconnect"}]

            async def receive() -> dict:
                await asyncio.sleep(0.01)
                return messages.pop(0)

            scope = {"type": "http", "method": "POST", "path": "/predict/batch", "headers": []}
            await asyncio.wait_for(admission.AdmissionMiddleware(app)(scope, receive, lambda m: None), timeout=5)
            assert gate.queued == 0
        finally:
            gate.active = 0

    asyncio.run(scenario())
    assert called == []


# --- HTTP courtesies ---------------------------------------------------------------------------------------------


def test_head_is_answered_on_the_page_and_health(client: TestClient) -> None:
    for path in ("/", "/healthz", "/readyz"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b"", path


def test_a_redirect_never_echoes_the_host_header(client: TestClient) -> None:
    response = client.get("/static", headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (301, 307, 308)
    assert response.headers["location"] == "/static/"


def test_a_request_cut_by_shutdown_gets_a_503_not_a_500() -> None:
    sent: list[dict] = []

    async def slow_app(scope, receive, send) -> None:
        await asyncio.sleep(30)

    async def send(message: dict) -> None:
        sent.append(message)

    async def scenario() -> None:
        scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}
        task = asyncio.ensure_future(HygieneMiddleware(slow_app)(scope, None, send))
        await asyncio.sleep(0.05)
        task.cancel()  # what uvicorn does when the graceful-shutdown timeout runs out
        await task

    asyncio.run(scenario())
    assert sent[0]["status"] == 503 and (b"connection", b"close") in sent[0]["headers"]
    assert b"restarting" in sent[1]["body"]


def test_json_bodies_held_at_once_are_bounded_and_always_released(client: TestClient, settings,
                                                                  monkeypatch) -> None:
    from app.json_guard import JsonGuardMiddleware

    canvas = {"image": data_url(png_bytes(stroke()))}
    assert client.post("/predict", json=canvas).status_code == 200
    post_raw(client, "/predict", b'{"image": "x", "image": "y"}')
    post_raw(client, "/predict/batch", b'{"images": [' + b",".join([b"1"] * 1000) + b"]}")
    client.post("/predict", json={"image": "eA=="})
    assert JsonGuardMiddleware.held == 0, "every request gives its bytes back, refused or not"
    monkeypatch.setattr(JsonGuardMiddleware, "held", settings.body_budget_bytes - 100)
    busy = client.post("/predict", json=canvas)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"


def test_a_turn_that_does_not_come_in_time_is_a_503() -> None:
    async def scenario() -> None:
        gate = admission.Gate("test", running=1, waiting=4, max_wait_s=0.05)
        await gate.enter()
        with pytest.raises(admission.ServerBusyError):
            await gate.enter()
        assert gate.queued == 0 and gate.active == 1
        gate.leave()
        assert gate.active == 0

    asyncio.run(scenario())


def test_the_shape_check_skips_long_strings_exactly() -> None:
    from app.json_guard import Refused, check_body, skeleton

    body = json.dumps({"image": "data:image/png;base64," + "A" * 5000, "model": "cnn"}).encode()
    assert json.loads(skeleton(body, 200)) == {"image": "", "model": "cnn"}
    escaped = b'{"image": "a\\"b", "model": "cnn"}'
    assert skeleton(escaped, 200) == escaped, "a body with escapes is checked whole"
    with pytest.raises(Refused, match="more than 192 strings"):
        check_body(json.dumps({"images": ["eA=="] * 300}).encode(), 64)
    with pytest.raises(Refused, match="appears more than once"):
        check_body(b'{"image": "' + b"A" * 5000 + b'", "image": "x"}', 64)
