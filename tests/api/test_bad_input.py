"""Garbage in, a clear 4xx out: every bad input named in issue 7 gets a documented status and a message a
person understands, the server stays healthy, and the limits act before the body is read or the image decoded.

Real images in unusual formats (animated GIF, CMYK JPEG, 16-bit PNG, palette PNG with transparency) are not
garbage: they must be accepted and recognised like a plain PNG of the same MNIST digit.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from tests.conftest import canvas_png, data_url, png_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MiB = 1024 * 1024


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header claims width x height greyscale pixels (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 4096, 9)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def stroke_png() -> bytes:
    """A thick dark '1' on a white 280x280 page: a real digit image that needs no MNIST files."""
    page = np.full((280, 280), 255, dtype=np.uint8)
    page[50:230, 125:155] = 0
    return png_bytes(page)


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text y="20">7</text></svg>'
TEXT = b"hello, this is not an image"


def post_json(path: str, body: object) -> Callable[[TestClient], object]:
    return lambda client: client.post(path, json=body)


def post_raw(path: str, content: bytes, content_type: str | None) -> Callable[[TestClient], object]:
    headers = {"content-type": content_type} if content_type else {}
    return lambda client: client.post(path, content=content, headers=headers)


def upload(data: bytes, name: str = "digit.png", query: str = "") -> Callable[[TestClient], object]:
    return lambda client: client.post(f"/predict/file{query}", files={"file": (name, data, "image/png")})


@dataclass(frozen=True)
class Bad:
    """One bad request: what is sent, the status it must get, and words the message must contain."""

    name: str
    path: str
    send: Callable[[TestClient], object]
    status: int
    says: str


def image(data: bytes, mime: str = "image/png") -> dict:
    return {"image": data_url(data, mime)}


CASES = [
    Bad("empty body", "/predict", post_raw("/predict", b"", "application/json"), 422, "body is missing"),
    Bad("wrong content type", "/predict", post_raw("/predict", b'{"image": "x"}', "text/plain"), 415,
        "application/json"),
    Bad("form-encoded body (curl -d)", "/predict",
        post_raw("/predict", b"image=abc", "application/x-www-form-urlencoded"), 415, "application/json"),
    Bad("no content type", "/predict", post_raw("/predict", b'{"image": "x"}', None), 415, "application/json"),
    Bad("invalid JSON", "/predict", post_raw("/predict", b'{"image": ', "application/json"), 422, "not valid JSON"),
    Bad("JSON that is not an object", "/predict", post_json("/predict", [1, 2]), 422, "must be a JSON object"),
    Bad("missing field", "/predict", post_json("/predict", {"model": "cnn"}), 422, "'image' is required"),
    Bad("extra field", "/predict", post_json("/predict", {"image": "eA==", "colour": "red"}), 422,
        "'colour' is not accepted"),
    Bad("wrong type", "/predict", post_json("/predict", {"image": 7}), 422, "image: Input should be a valid string"),
    Bad("wrong type for explain", "/predict", post_json("/predict", {"image": "eA==", "explain": [1]}), 422,
        "explain"),
    Bad("string for a boolean", "/predict", post_json("/predict", {"image": "eA==", "explain": "yes"}), 422,
        "explain: Input should be a valid boolean"),
    Bad("body that is not UTF-8", "/predict", post_raw("/predict", b'{"image": "\xff\xfe"}', "application/json"),
        400, "not UTF-8"),
    Bad("empty image string", "/predict", post_json("/predict", {"image": ""}), 422, "at least 1 character"),
    Bad("invalid base64", "/predict", post_json("/predict", {"image": "data:image/png;base64,!!not*base64"}), 422,
        "not valid base64"),
    Bad("data URL of text", "/predict", post_json("/predict", image(TEXT, "text/plain")), 422, "'text/plain'"),
    Bad("data URL of an SVG", "/predict", post_json("/predict", image(SVG, "image/svg+xml")), 422,
        "'image/svg+xml'"),
    Bad("SVG bytes labelled PNG", "/predict", post_json("/predict", image(SVG)), 422, "not an image we can read"),
    Bad("data URL without base64", "/predict", post_json("/predict", {"image": "data:image/png,abc"}), 422,
        "not base64-encoded"),
    Bad("truncated PNG", "/predict", post_json("/predict", image(stroke_png()[:300])), 422, "truncated"),
    Bad("zero-byte file", "/predict/file", upload(b""), 422, "empty"),
    Bad("zero-byte data URL", "/predict", post_json("/predict", {"image": "data:image/png;base64,"}), 422, "empty"),
    Bad("text file uploaded", "/predict/file", upload(TEXT, "notes.txt"), 422, "not an image we can read"),
    Bad("1x1 image", "/predict", post_json("/predict", image(png_bytes(np.zeros((1, 1), np.uint8)))), 422, "blank"),
    Bad("100000x1 image", "/predict", post_json("/predict", image(png_bytes(np.zeros((1, 100_000), np.uint8)))),
        413, "100000x1 pixels"),
    Bad("decompression bomb 50000x50000", "/predict", post_json("/predict", image(png_declaring(50_000, 50_000))),
        413, "50000x50000 pixels"),
    Bad("decompression bomb as a file", "/predict/file", upload(png_declaring(50_000, 50_000)), 413, "the limit is"),
    Bad("blank canvas", "/predict", post_json("/predict", image(png_bytes(np.full((280, 280), 255, np.uint8)))),
        422, "blank"),
    Bad("10 MB JSON body", "/predict",
        post_raw("/predict", json.dumps({"image": "A" * 10 * MiB}).encode(), "application/json"), 413,
        "larger than the limit"),
    Bad("batch far over the limit", "/predict/batch", post_json("/predict/batch", {"images": ["eA=="] * 1000}), 413,
        "the limit is 64"),
    Bad("empty batch", "/predict/batch", post_json("/predict/batch", {"images": []}), 422, "at least 1 item"),
    Bad("unknown model id", "/predict", post_json("/predict", {"image": "eA==", "model": "resnet"}), 404,
        "Unknown model 'resnet'"),
    Bad("model id that is a path", "/predict",
        post_json("/predict", {"image": "eA==", "model": "../../etc/passwd"}), 404, "Known models"),
    Bad("model id that is a path, on upload", "/predict/file",
        upload(stroke_png(), query="?model=../../etc/passwd"), 404, "Known models"),
    Bad("over-long model id", "/predict", post_json("/predict", {"image": "eA==", "model": "m" * 5000}), 422,
        "at most 200 characters"),
    Bad("multipart without the file", "/predict/file",
        lambda client: client.post("/predict/file", files={"image": ("d.png", stroke_png(), "image/png")}), 422,
        "'file' is required"),
    Bad("JSON sent to the upload route", "/predict/file", post_json("/predict/file", {"image": "eA=="}), 415,
        "multipart/form-data"),
    Bad("compare with text", "/predict/compare", post_json("/predict/compare", image(TEXT, "text/plain")), 422,
        "not an image format we read"),
]


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict:
    return client.get("/openapi.json").json()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_a_documented_4xx_with_a_clear_message(client: TestClient, openapi: dict, case: Bad) -> None:
    response = case.send(client)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and case.says in detail, detail
    assert len(detail) < 400, "a message a person reads, not a dump of the input"
    assert "Traceback" not in detail and ".py" not in detail and "/work" not in detail
    assert str(case.status) in openapi["paths"][case.path]["post"]["responses"], "the status must be documented"
    assert client.get("/healthz").status_code == 200


def test_model_path_in_the_url_is_a_plain_404(client: TestClient) -> None:
    for url in ("/models/..%2F..%2Fetc%2Fpasswd", "/models/../../etc/passwd", "/models/%2e%2e"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "root:" not in response.text and "Traceback" not in response.text


def call_asgi(app, headers: list[tuple[bytes, bytes]], chunk: int = 65536) -> tuple[int, int]:
    """POST /predict straight into the ASGI app with an endless body; → (status, bytes the app pulled)."""
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += chunk
        return {"type": "http.request", "body": b"A" * chunk, "more_body": pulled < 100 * MiB}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/predict", "raw_path": b"/predict", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


def test_an_over_limit_body_is_refused_before_it_is_read(client: TestClient) -> None:
    """A declared 10 MB body is answered 413 at once: the app never asks for a single body chunk."""
    status, pulled = call_asgi(client.app, [(b"content-length", str(10 * MiB).encode())])
    assert status == 413 and pulled == 0


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient, settings) -> None:
    """Without Content-Length (chunked), the body is counted as it arrives and refused once over the limit."""
    status, pulled = call_asgi(client.app, [])
    assert status == 413
    assert pulled <= settings.max_request_bytes + 65536, "the server read past its limit"


def test_a_bomb_is_refused_before_any_pixel_is_decoded(client: TestClient, monkeypatch) -> None:
    loads = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self.size) or original(self))
    response = client.post("/predict", json=image(png_declaring(50_000, 50_000)))
    assert response.status_code == 413 and loads == []


def test_batch_size_is_checked_before_any_image_is_decoded(client: TestClient, monkeypatch) -> None:
    decoded = []
    monkeypatch.setattr("app.recognizer.decode_image", lambda *args: decoded.append(1))
    response = client.post("/predict/batch", json={"images": [data_url(stroke_png())] * 65})
    assert response.status_code == 413 and decoded == []


# --- real digits in unusual formats are accepted and recognised ---------------------------------------------------


def animated_gif(big: np.ndarray) -> bytes:
    """Two frames: the digit (dark on white) first, then a different scribble the server must ignore."""
    first = Image.fromarray(255 - big)
    second = Image.fromarray(np.full_like(big, 255))
    second.paste(0, (20, 20, 260, 60))
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=200, loop=0)
    return buffer.getvalue()


def cmyk_jpeg(big: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(255 - big).convert("CMYK").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def png16(big: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((255 - big).astype(np.uint16) * 257).save(buffer, format="PNG")
    return buffer.getvalue()


def palette_png_with_transparency(big: np.ndarray) -> bytes:
    """Black ink on a transparent page stored as a 16-colour palette PNG with a tRNS entry."""
    palette_image = Image.fromarray(255 - big).quantize(16)
    background = palette_image.getpixel((0, 0))
    buffer = io.BytesIO()
    palette_image.save(buffer, format="PNG", transparency=background)
    return buffer.getvalue()


FORMATS = {
    "animated GIF": (animated_gif, "image/gif"),
    "CMYK JPEG": (cmyk_jpeg, "image/jpeg"),
    "16-bit PNG": (png16, "image/png"),
    "palette PNG with transparency": (palette_png_with_transparency, "image/png"),
}


def big(digit: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))


@pytest.fixture(scope="module")
def known_digits(client: TestClient, mnist) -> list[tuple[np.ndarray, int, np.ndarray]]:
    """MNIST test digits the default model reads correctly as a plain PNG, with the input grid it saw."""
    chosen = []
    for digit, label in zip(mnist.x_test[:30], mnist.y_test[:30], strict=True):
        body = client.post("/predict", json={"image": data_url(canvas_png(digit, variant="inverted"))}).json()
        if body["digit"] == int(label):
            chosen.append((digit, int(label), np.array(body["input"])))
    assert len(chosen) >= 10, "the default model misreads most plain digits"
    return chosen[:10]


def test_the_exotic_formats_really_are_exotic(mnist) -> None:
    digit = big(mnist.x_test[0])
    assert Image.open(io.BytesIO(animated_gif(digit))).n_frames == 2
    assert Image.open(io.BytesIO(cmyk_jpeg(digit))).mode == "CMYK"
    assert Image.open(io.BytesIO(png16(digit))).mode.startswith("I")
    palette = Image.open(io.BytesIO(palette_png_with_transparency(digit)))
    assert palette.mode == "P" and "transparency" in palette.info


@pytest.mark.parametrize("kind", list(FORMATS))
def test_real_digits_in_unusual_formats_are_recognised(client: TestClient, known_digits, kind: str) -> None:
    encode, mime = FORMATS[kind]
    images = [data_url(encode(big(digit)), mime) for digit, _, _ in known_digits]
    response = client.post("/predict/batch", json={"images": images})
    assert response.status_code == 200, response.text
    for (_, label, plain_grid), answer in zip(known_digits, response.json()["predictions"], strict=True):
        assert answer["digit"] == label
        assert np.abs(np.array(answer["input"]) - plain_grid).mean() < 0.03, "the model saw a different image"


@pytest.mark.parametrize("kind", list(FORMATS))
def test_unusual_formats_upload_as_files(client: TestClient, known_digits, kind: str) -> None:
    encode, mime = FORMATS[kind]
    digit, label, _ = known_digits[0]
    files = {"file": ("digit", encode(big(digit)), mime)}
    response = client.post("/predict/file", files=files)
    assert response.status_code == 200 and response.json()["digit"] == label


def test_a_huge_but_legal_image_is_recognised(client: TestClient, known_digits) -> None:
    """4000x4000 RGBA (16 megapixels, within the limit): shrunk before any float copy, still read right."""
    digit, label, _ = known_digits[0]
    page = np.zeros((4000, 4000, 4), dtype=np.uint8)
    page[..., 3] = np.asarray(Image.fromarray(digit).resize((2000, 2000), Image.Resampling.BILINEAR)).repeat(
        2, axis=0).repeat(2, axis=1)
    response = client.post("/predict/file", files={"file": ("big.png", png_bytes(page, "RGBA"), "image/png")})
    assert response.status_code == 200 and response.json()["digit"] == label


def test_bare_base64_of_a_gif_is_accepted(client: TestClient, known_digits) -> None:
    digit, label, _ = known_digits[0]
    text = base64.b64encode(animated_gif(big(digit))).decode()
    response = client.post("/predict", json={"image": text})
    assert response.status_code == 200 and response.json()["digit"] == label


MEMORY_PROBE = """
import io, resource, sys
import numpy as np
from PIL import Image
from app.config import Settings
from app.recognizer import image_from_bytes
page = np.zeros((4000, 4000, 4), np.uint8)
page[1000:3000, 1800:2200] = 255
buffer = io.BytesIO()
Image.fromarray(page, "RGBA").save(buffer, "PNG")
data = buffer.getvalue()
del page
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image_from_bytes(data, Settings())
print(len(data), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_the_largest_legal_image_costs_bounded_memory() -> None:
    """A ~66 kB PNG of 16 Mpx RGBA is legal; decoding it must not cost half a gigabyte (it did, as float32)."""
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, timeout=120,
                            check=True)
    size, peak_mb = map(int, result.stdout.split())
    assert size < 200_000 and peak_mb < 200, f"{size} bytes of PNG cost {peak_mb} MB"
