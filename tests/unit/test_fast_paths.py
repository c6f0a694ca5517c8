"""The fast paths must give what the general paths give: libspng for plain PNGs, uint8 levels in to_mnist."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app import imaging
from app.errors import NotAnImageError, PayloadTooLargeError
from app.imaging import decode_image
from app.preprocess import to_mnist
from tests.conftest import canvas_png, png_bytes

LIMITS = {"max_pixels": 16_000_000, "max_side": 10_000}


def canvas_rgba(digit: np.ndarray, size: int = 280) -> np.ndarray:
    """An opaque RGBA canvas with dark, slightly coloured strokes (so the three channels differ)."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))
    rgba = np.empty((size, size, 4), dtype=np.uint8)
    rgba[..., 0] = 255 - big
    rgba[..., 1] = 255 - big // 2
    rgba[..., 2] = 255 - big // 3
    rgba[..., 3] = 255
    return rgba


def pillow_grey(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


@pytest.fixture
def libspng_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = imaging.pyspng.load

    def counting(data: bytes):
        calls.append(1)
        return real(data)

    monkeypatch.setattr(imaging.pyspng, "load", counting)
    return calls


@pytest.mark.parametrize("kind", ["RGBA", "RGB", "L"])
def test_plain_png_decodes_as_pillow_does(mnist, libspng_calls, kind: str) -> None:
    rgba = canvas_rgba(mnist.x_test[3])
    array = {"RGBA": rgba, "RGB": rgba[..., :3], "L": rgba[..., 0]}[kind]
    data = png_bytes(np.ascontiguousarray(array), kind)
    grey = decode_image(data, **LIMITS)
    assert libspng_calls, "the plain-PNG path was not taken"
    assert grey.dtype == np.uint8
    np.testing.assert_array_equal(grey, pillow_grey(data))


def test_translucent_rgba_png_is_composited_not_read_as_rgb(mnist, libspng_calls) -> None:
    """Through the fast decoder too, strokes on a transparent canvas stay visible (composited, as floats)."""
    transparent = decode_image(canvas_png(mnist.x_test[0], variant="transparent"), **LIMITS)
    assert libspng_calls and transparent.dtype == np.float32
    opaque = to_mnist(decode_image(canvas_png(mnist.x_test[0], variant="inverted"), **LIMITS))
    assert np.abs(to_mnist(transparent) - opaque).max() < 0.05


def with_chunk_crc_broken(data: bytes, kind: bytes) -> bytes:
    at = data.index(kind) - 4
    (length,) = struct.unpack_from(">I", data, at)
    end = at + 12 + length
    return data[: end - 4] + struct.pack(">I", (zlib.crc32(data[at + 4 : end - 4]) + 1) & 0xFFFFFFFF) + data[end:]


def test_damaged_pngs_are_left_to_pillow(mnist, libspng_calls) -> None:
    """A wrong CRC, a cut-off stream or a missing IEND never reaches libspng; Pillow decides (as before)."""
    data = png_bytes(canvas_rgba(mnist.x_test[0]), "RGBA")
    with pytest.raises(NotAnImageError):
        decode_image(data[: len(data) // 2], **LIMITS)
    for damaged in (with_chunk_crc_broken(data, b"IDAT"), with_chunk_crc_broken(data, b"IHDR"), data[:-12]):
        try:
            decode_image(damaged, **LIMITS)
        except NotAnImageError:
            pass
    assert not libspng_calls, "a damaged PNG must not reach libspng"


def test_other_pngs_go_to_pillow(mnist, libspng_calls) -> None:
    digit = mnist.x_test[5]
    palette = io.BytesIO()
    Image.fromarray(digit).convert("P").save(palette, format="PNG")
    interlaced = io.BytesIO()
    Image.fromarray(digit).save(interlaced, format="PNG", interlace=1)
    with_trns = io.BytesIO()
    Image.fromarray(digit).save(with_trns, format="PNG", transparency=0)
    sixteen = png_bytes(digit.astype(np.uint16) * 257)
    for data in (palette.getvalue(), with_trns.getvalue(), sixteen):
        decode_image(data, **LIMITS)
    assert not libspng_calls
    # (Pillow does not write interlaced PNGs; the header check covers them.)


def test_size_limit_holds_on_the_fast_path() -> None:
    data = png_bytes(np.zeros((300, 200), dtype=np.uint8))
    with pytest.raises(PayloadTooLargeError, match="200x300"):
        decode_image(data, max_pixels=50_000, max_side=10_000)
    with pytest.raises(PayloadTooLargeError):
        decode_image(data, max_pixels=10**6, max_side=250)


def test_levels_and_floats_give_identical_inputs(mnist) -> None:
    """to_mnist on uint8 levels is bit for bit to_mnist on levels / 255, whatever the size or polarity."""
    for digit in mnist.x_test[:150]:
        big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
        wide = np.asarray(Image.fromarray(255 - digit).resize((200, 90)))
        for levels in (digit, 255 - digit, big, 255 - big, wide):
            np.testing.assert_array_equal(to_mnist(levels), to_mnist(levels.astype(np.float32) * (1 / 255.0)))


def test_only_small_plain_pngs_count_as_quick_to_decode(mnist) -> None:
    """What POST /predict decodes on the event loop: the canvas, not a big or non-PNG upload."""
    from app.recognizer import INLINE_MAX_PIXELS

    canvas = png_bytes(canvas_rgba(mnist.x_test[0]), "RGBA")
    jpeg = io.BytesIO()
    Image.fromarray(mnist.x_test[0]).save(jpeg, format="JPEG")
    big = png_bytes(np.zeros((1000, 1000), dtype=np.uint8))
    assert imaging.quick_to_decode(canvas, INLINE_MAX_PIXELS)
    assert not imaging.quick_to_decode(big, INLINE_MAX_PIXELS)
    assert not imaging.quick_to_decode(jpeg.getvalue(), INLINE_MAX_PIXELS)
    assert not imaging.quick_to_decode(with_chunk_crc_broken(canvas, b"IDAT"), INLINE_MAX_PIXELS)
