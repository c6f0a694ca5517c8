"""Bytes → one greyscale array: input limits first, then any format and mode.

The pixel limit is checked from the header, before any pixel is decoded, so a tiny file that declares
50000x50000 pixels costs nothing. Transparency is composited onto the background that contrasts with
the ink, so a black stroke on a transparent canvas stays visible (and so does a white one).

Greyscale comes back as uint8 levels (0-255) whenever the image has 8-bit levels and no transparency to
composite — the page's opaque canvas, most PNGs and JPEGs — and as float32 in [0, 1] otherwise; `to_mnist`
reads both alike. Keeping the levels saves a float copy of every pixel.

The page's canvas PNG (8-bit, opaque RGBA) takes a fast path: libspng (pyspng) decodes it in about 40% of
Pillow's time, after we have checked the chunk CRCs and the size ourselves. Anything else goes to Pillow.
"""

from __future__ import annotations

import binascii
import io
import re
import struct
import warnings
import zlib

import numpy as np
import pyspng
from PIL import Image, ImageSequence, UnidentifiedImageError

from app.decode_budget import check_decode_budget
from app.errors import NotAnImageError, PayloadTooLargeError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's "L"
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?)(?P<b64>;base64)?,", re.I)
IMAGE_MIME_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif", "image/bmp"}
# Larger images are box-averaged down to about this side before any float copy (see _shrink).
WORK_SIDE = 1024
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "I", "F", "CMYK"}  # Image.reduce() averages these correctly
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types the fast path reads: greyscale, RGB, RGBA — at 8 bits, not interlaced, no palette.
PNG_FAST_COLOUR_TYPES = {0: "L", 2: "RGB", 6: "RGBA"}
# The fast path's CRC walk runs on the event loop: a PNG of more chunks than this (a canvas has 3 or 4) goes to
# Pillow's path, off the loop and under the chunk limit of app.decode_budget.
PNG_FAST_MAX_CHUNKS = 64
OPAQUE_RGBA = 0xFF000000  # an RGBA pixel read as little-endian uint32 is at least this when alpha is 255

# Pillow's own bomb guard would raise its own warning/error; ours is stricter and speaks plainly.
Image.MAX_IMAGE_PIXELS = None


def decode_base64_image(text: str, max_bytes: int) -> bytes:
    """Accept a data URL (`data:image/png;base64,...`) or bare base64; return the raw image bytes."""
    text = text.strip()
    match = DATA_URL.match(text)
    if match:
        mime = (match.group("mime") or "").lower()
        if mime and mime not in IMAGE_MIME_TYPES:
            raise NotAnImageError(
                f"The data URL holds {mime!r}, which is not an image format we read; send PNG, JPEG, WebP, GIF or BMP."
            )
        if not match.group("b64"):
            raise NotAnImageError("The data URL is not base64-encoded; use 'data:image/png;base64,...'.")
        text = text[match.end() :]
    if not text:
        raise NotAnImageError("The image is empty.")
    if len(text) * 3 // 4 > max_bytes:
        raise PayloadTooLargeError(f"The image is larger than the limit of {max_bytes:,} bytes.")
    try:
        # strict_mode checks the alphabet and padding in C; b64decode(validate=True) runs a regex over the text
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise NotAnImageError("The image is not valid base64 (or a base64 data URL).") from None


def decode_image(data: bytes, max_pixels: int, max_side: int) -> np.ndarray:
    """Decode image bytes to greyscale, shape (height, width): uint8 levels, or float32 in [0, 1] where
    transparency was composited or the image has more than 8 bits."""
    if not data:
        raise NotAnImageError("The image is empty (zero bytes).")
    fast = _decode_plain_png(data, max_pixels, max_side)
    if fast is not None:
        return fast
    check_decode_budget(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            check_size(*image.size, max_pixels, max_side)
            if getattr(image, "n_frames", 1) > 1:
                image = next(ImageSequence.Iterator(image))
            image.load()
            return _to_grey(_shrink(image))
    except PayloadTooLargeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise NotAnImageError(
            "This is not an image we can read (or it is corrupt or truncated); "
            "send PNG, JPEG, WebP, GIF or BMP."
        ) from None


def check_size(width: int, height: int, max_pixels: int, max_side: int) -> None:
    if width * height > max_pixels or max(width, height) > max_side:
        raise PayloadTooLargeError(
            f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels in all "
            f"and {max_side:,} on the longer side."
        )


def _plain_png_mode(data: bytes) -> tuple[str, int, int] | None:
    """(mode, width, height) when `data` is a well-formed 8-bit grey/RGB/RGBA PNG, not interlaced, without a
    tRNS chunk, every chunk's CRC right and IEND present; None for anything else (Pillow then decides)."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 45:
        return None
    position, header, seen_data = len(PNG_SIGNATURE), None, False
    for _ in range(PNG_FAST_MAX_CHUNKS):
        if position + 12 > len(data):
            return None  # no IEND: truncated
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            return None
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            return None  # Pillow names the broken file
        if kind == b"IHDR" and length == 13:
            header = struct.unpack_from(">IIBBBBB", data, position + 8)
        elif kind == b"tRNS" or kind == b"PLTE":
            return None
        elif kind == b"IDAT":
            seen_data = True
        elif kind == b"IEND":
            break
        position = end
    else:
        return None  # too many chunks for the fast path (or no IEND)
    if header is None or not seen_data:
        return None
    width, height, depth, colour, _compression, _filter, interlace = header
    if depth != 8 or interlace or colour not in PNG_FAST_COLOUR_TYPES or not width or not height:
        return None
    return PNG_FAST_COLOUR_TYPES[colour], width, height


def quick_to_decode(data: bytes, max_pixels: int) -> bool:
    """True for a plain PNG (the fast path's kind) of at most `max_pixels`: decoding it takes about a millisecond."""
    shape = _plain_png_mode(data)
    return shape is not None and shape[1] * shape[2] <= max_pixels


def _decode_plain_png(data: bytes, max_pixels: int, max_side: int) -> np.ndarray | None:
    """The canvas path: plain 8-bit PNG → greyscale via libspng, or None to let Pillow handle the image."""
    shape = _plain_png_mode(data)
    if shape is None:
        return None
    mode, width, height = shape
    check_size(width, height, max_pixels, max_side)
    if max(width, height) // WORK_SIDE >= 2:
        return None  # huge: Pillow's path box-averages it first
    try:
        pixels = pyspng.load(data)
    except Exception:  # libspng refused it (e.g. a broken zlib stream): Pillow gives the one clear error
        return None
    if pixels.shape[:2] != (height, width):
        return None
    if mode == "L":
        return pixels
    image = Image.frombuffer(mode, (width, height), pixels, "raw", mode, 0, 1)  # shares the array's memory
    if mode == "RGBA" and pixels.view("<u4").min() >= OPAQUE_RGBA:
        return np.asarray(image.convert("L"))  # opaque: plain RGB, Pillow's BT.601 "L" in C
    return _to_grey(image)


def _shrink(image: Image.Image) -> Image.Image:
    """Box-average a huge image to about WORK_SIDE pixels: the digit ends up 20 px tall anyway, and a
    16-megapixel RGBA image as float32 would cost half a gigabyte (and seconds) per request."""
    factor = max(image.size) // WORK_SIDE
    if factor < 2:
        return image
    if image.mode not in REDUCIBLE_MODES or "transparency" in image.info:
        transparent = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "I" if image.mode.startswith("I;16") else "L")
    return image.reduce(factor)


def _to_grey(image: Image.Image) -> np.ndarray:
    """Any Pillow mode → greyscale (uint8 levels, or float32 in [0, 1]), with transparency composited
    against the ink."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float32)
        top = float(array.max()) or 1.0
        return np.clip(array / (65535.0 if top > 255 else 255.0), 0.0, 1.0)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(image if image.mode == "L" else image.convert("L"))
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:  # 4x faster than getextrema()
        # An opaque canvas (what the page sends) is plain RGB: Pillow's "L" has the same BT.601 weights, in C,
        # without a float copy of four channels (a third of the decode time of a 280x280 canvas).
        return np.asarray(image.convert("L"))
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) * (1 / 255.0)
    alpha = rgba[..., 3]
    luma = rgba[..., :3] @ LUMA_WEIGHTS
    if alpha.min() >= 1.0:
        return luma
    # The opaque pixels are the drawing; put them on the background that makes them stand out.
    weight = float(alpha.sum())
    ink_luma = float((luma * alpha).sum() / weight) if weight > 0 else 0.0
    background = 1.0 if ink_luma < 0.5 else 0.0
    hidden = alpha == 0.0
    if hidden.any() and not ((alpha > 0.0) & (alpha < 1.0)).any():
        # On/off transparency (a palette PNG or GIF) carries no alpha anti-aliasing: its edges are opaque pixels
        # blended toward the colour it was drawn on, which is the colour its transparent pixels keep. Use it
        # when it differs from the ink; a canvas stroke on transparent black (same colour as the ink) does not.
        hidden_luma = float(np.median(luma[hidden]))
        if abs(hidden_luma - ink_luma) >= 0.25:
            background = hidden_luma
    return luma * alpha + background * (1.0 - alpha)
