"""Request inputs shared by the benchmark and the soak: PNG bytes and data URLs of digit images."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from app.assets import SOURCE_ROOT

# The MNIST IDX files: $DIGIT_LAB_MNIST, else the shared data folder beside a checkout.
MNIST_DIR = Path(os.environ.get("DIGIT_LAB_MNIST", SOURCE_ROOT.parent / "shared" / "data" / "mnist"))


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    """A numpy image (uint8 greyscale, RGB or RGBA) as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()
