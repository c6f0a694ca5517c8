"""Bytes → one greyscale float32 array in [0, 1]: input limits first, then any format and mode.

The pixel limit is checked from the header, before any pixel is decoded, so a tiny file that declares
50000x50000 pixels costs nothing. Transparency is composited onto the background that contrasts with
the ink, so a black stroke on a transparent canvas stays visible (and so does a white one).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from app.errors import NotAnImageError, PayloadTooLargeError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's "L"
DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?)(?P<b64>;base64)?,", re.I)
IMAGE_MIME_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif", "image/bmp"}
# Larger images are box-averaged down to about this side before any float copy (see _shrink).
WORK_SIDE = 1024
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "I", "F", "CMYK"}  # Image.reduce() averages these correctly

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
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NotAnImageError("The image is not valid base64 (or a base64 data URL).") from None


def decode_image(data: bytes, max_pixels: int, max_side: int) -> np.ndarray:
    """Decode image bytes to greyscale float32 in [0, 1], shape (height, width)."""
    if not data:
        raise NotAnImageError("The image is empty (zero bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width * height > max_pixels or max(width, height) > max_side:
                raise PayloadTooLargeError(
                    f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels in all "
                    f"and {max_side:,} on the longer side."
                )
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
    """Any Pillow mode → greyscale in [0, 1], with transparency composited against the ink."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float32)
        top = float(array.max()) or 1.0
        return np.clip(array / (65535.0 if top > 255 else 255.0), 0.0, 1.0)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        if image.mode == "L":
            return np.asarray(image, dtype=np.float32) * (1 / 255.0)
        return np.asarray(image.convert("L"), dtype=np.float32) * (1 / 255.0)
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:  # 4x faster than getextrema()
        # An opaque canvas (what the page sends) is plain RGB: Pillow's "L" has the same BT.601 weights, in C,
        # without a float copy of four channels (a third of the decode time of a 280x280 canvas).
        return np.asarray(image.convert("L"), dtype=np.float32) * (1 / 255.0)
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
