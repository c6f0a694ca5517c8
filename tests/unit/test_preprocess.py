"""Properties of the MNIST recipe that could fail: invariances, centring, blank detection."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.errors import BlankImageError, NotAnImageError, PayloadTooLargeError
from app.imaging import decode_base64_image, decode_image
from app.preprocess import BOX, FIELD, MNIST_CENTRE, border_level, centre_of_mass, to_mnist
from tests.conftest import canvas_png, data_url, png_bytes

LIMITS = dict(max_pixels=16_000_000, max_side=10_000)


def stroke_digit(size: int = 280, offset: tuple[int, int] = (0, 0), scale: float = 1.0) -> np.ndarray:
    """A dark '7'-like shape (bar and slanted stem) on a white page, greyscale in [0, 1].

    The shape is drawn in its own box, then pasted `offset` pixels away from the page centre.
    """
    width, height, thick = int(120 * scale), int(170 * scale), max(2, int(18 * scale))
    shape = np.ones((height, width), dtype=np.float32)
    shape[:thick, :] = 0.0
    for row in range(height):
        col = width - thick - int(row * 0.45 * (width - thick) / width)
        shape[row, max(0, col - thick) : col] = 0.0
    top, left = (size - height) // 2 + offset[0], (size - width) // 2 + offset[1]
    assert 0 <= top and top + height <= size and 0 <= left and left + width <= size, "shape must fit the page"
    image = np.ones((size, size), dtype=np.float32)
    image[top : top + height, left : left + width] = shape
    return image


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def test_output_is_28x28_in_unit_range() -> None:
    out = to_mnist(stroke_digit())
    assert out.shape == (FIELD, FIELD) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.max() > 0.9


def test_longer_side_is_20_pixels() -> None:
    out = to_mnist(stroke_digit())
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == BOX


@pytest.mark.parametrize("offset", [(0, 0), (-35, -60), (35, 60), (20, -65)])
@pytest.mark.parametrize("scale", [0.4, 1.0, 1.2])
def test_centre_of_mass_within_half_a_pixel(offset: tuple[int, int], scale: float) -> None:
    row, col = centre_of_mass(to_mnist(stroke_digit(offset=offset, scale=scale)))
    assert abs(row - MNIST_CENTRE) <= 0.5 and abs(col - MNIST_CENTRE) <= 0.5


def test_translation_invariance() -> None:
    reference = to_mnist(stroke_digit())
    for offset in [(-40, -70), (50, 70), (30, -75)]:
        assert similarity(to_mnist(stroke_digit(offset=offset)), reference) > 0.99


def test_scale_invariance() -> None:
    reference = to_mnist(stroke_digit())
    for scale in (0.5, 1.4):
        assert similarity(to_mnist(stroke_digit(scale=scale)), reference) > 0.9


def test_polarity_invariance() -> None:
    dark_on_light = stroke_digit()
    assert np.allclose(to_mnist(dark_on_light), to_mnist(1.0 - dark_on_light), atol=1e-5)


def test_mnist_digits_pass_through_almost_unchanged(mnist) -> None:
    """MNIST is already in this format: the recipe must keep it (so serving matches training)."""
    scores = [similarity(to_mnist(x / 255.0), x / 255.0) for x in mnist.x_test[:200]]
    assert np.median(scores) > 0.95


@pytest.mark.parametrize("fill", [0.0, 1.0, 0.5])
def test_uniform_images_are_blank(fill: float) -> None:
    with pytest.raises(BlankImageError, match="no digit"):
        to_mnist(np.full((280, 280), fill, dtype=np.float32))


def test_faint_noise_is_blank() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(BlankImageError):
        to_mnist(0.95 + 0.04 * rng.random((280, 280), dtype=np.float32))


def test_single_speck_is_blank() -> None:
    page = np.ones((280, 280), dtype=np.float32)
    page[140, 140] = 0.0
    with pytest.raises(BlankImageError):
        to_mnist(page)


def test_transparent_canvas_keeps_black_strokes(mnist) -> None:
    digit = mnist.x_test[0]
    opaque = to_mnist(decode_image(canvas_png(digit, variant="inverted"), **LIMITS))
    transparent = to_mnist(decode_image(canvas_png(digit, variant="transparent"), **LIMITS))
    assert similarity(opaque, transparent) > 0.99


def test_white_strokes_on_transparent_canvas_stay_visible(mnist) -> None:
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    big = np.asarray(Image.fromarray(mnist.x_test[0]).resize((280, 280)))
    rgba[..., :3] = 255
    rgba[..., 3] = big
    out = to_mnist(decode_image(png_bytes(rgba, "RGBA"), **LIMITS))
    reference = to_mnist(decode_image(canvas_png(mnist.x_test[0]), **LIMITS))
    assert similarity(out, reference) > 0.99


@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("WEBP", "RGB"), ("BMP", "RGB"), ("GIF", "P"),
                                      ("JPEG", "CMYK"), ("PNG", "LA"), ("PNG", "I;16")])
def test_formats_and_modes_decode_alike(mnist, fmt: str, mode: str) -> None:
    digit = np.asarray(Image.fromarray(255 - mnist.x_test[1]).resize((112, 112)))
    image = Image.fromarray(digit)
    if mode == "I;16":
        image = Image.fromarray((digit.astype(np.uint16) * 257))
    elif mode != "L":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    out = to_mnist(decode_image(buffer.getvalue(), **LIMITS))
    reference = to_mnist(digit / 255.0)
    assert similarity(out, reference) > 0.97


def test_pixel_limit_checked_before_decoding() -> None:
    header_only = png_bytes(np.zeros((1, 1), dtype=np.uint8))
    # A PNG header that declares 50000 x 50000 pixels: only the IHDR is read before we refuse.
    big = Image.new("1", (50_000, 50_000))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 1_000_000 and len(header_only) < 100
    with pytest.raises(PayloadTooLargeError, match="50000x50000"):
        decode_image(buffer.getvalue(), **LIMITS)


@pytest.mark.parametrize("data", [b"", b"not an image", png_bytes(np.zeros((28, 28), np.uint8))[:40]])
def test_garbage_is_not_an_image(data: bytes) -> None:
    with pytest.raises(NotAnImageError):
        decode_image(data, **LIMITS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_border_level_is_the_median_of_the_outer_ring(dtype) -> None:
    rng = np.random.default_rng(17)
    for _ in range(50):
        image = (rng.random((int(rng.integers(8, 30)), int(rng.integers(8, 30)))) * 255).astype(dtype)
        ring = np.concatenate([image[:2].ravel(), image[-2:].ravel(), image[:, :2].ravel(), image[:, -2:].ravel()])
        assert border_level(image) == float(np.median(ring))


def test_base64_forms() -> None:
    raw = png_bytes(np.zeros((2, 2), dtype=np.uint8))
    assert decode_base64_image(data_url(raw), 10_000) == raw
    assert decode_base64_image(data_url(raw).split(",", 1)[1], 10_000) == raw
    with pytest.raises(NotAnImageError, match="not an image"):
        decode_base64_image("data:text/plain;base64,aGVsbG8=", 10_000)
    with pytest.raises(NotAnImageError, match="base64"):
        decode_base64_image("@@@@", 10_000)
