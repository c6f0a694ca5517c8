"""MNIST's own recipe, so that any digit image reaches the model looking like an MNIST digit.

LeCun et al. normalised each NIST digit to fit a 20x20 box (keeping its aspect ratio, anti-aliased),
then placed it in a 28x28 field so that its centre of mass sits at the centre. We do the same after
making the image a white digit on black, whatever it arrived as. This is the only implementation:
the API and `digit-lab evaluate` both call `to_mnist`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.errors import BlankImageError

FIELD = 28  # MNIST's image side
BOX = 20  # the longer side of the digit after scaling
# Where MNIST puts the centre of mass, in array-index coordinates: measured on the 10,000 test digits
# as (13.99, 14.01) — so 14.0, not the geometric 13.5.
MNIST_CENTRE = 14.0
BORDER = 2  # pixels of the outer ring used to judge the background
MIN_CONTRAST = 0.15  # below this difference between ink and background the image is blank
NOISE_FLOOR = 0.12  # after normalising, fainter pixels are background noise (JPEG, paper grain)
MIN_INK_PIXELS = 4  # fewer ink pixels than this is a speck, not a digit


def border_level(image: np.ndarray) -> float:
    """Median of the outer ring: what the background looks like."""
    ring = min(BORDER, max(1, min(image.shape) // 4))
    edges = np.concatenate(
        [image[:ring].ravel(), image[-ring:].ravel(), image[:, :ring].ravel(), image[:, -ring:].ravel()]
    )
    return float(np.median(edges))


def to_ink(grey: np.ndarray) -> np.ndarray:
    """Greyscale in [0, 1] → ink in [0, 1] (white digit on black), background removed and stretched.

    Polarity comes from the border: a light border means dark ink on paper, so we invert.
    Raises BlankImageError when there is no ink to speak of.
    """
    background = border_level(grey)
    ink = 1.0 - grey if background > 0.5 else grey
    floor = min(background, 1.0 - background)
    peak = float(ink.max()) if ink.size else 0.0
    if peak - floor < MIN_CONTRAST:
        raise BlankImageError("The image is blank: there is no digit to read. Draw or send a digit.")
    ink = (ink - floor) * (1.0 / (peak - floor))
    ink[ink < NOISE_FLOOR] = 0.0
    if np.count_nonzero(ink) < MIN_INK_PIXELS:
        raise BlankImageError("The image is blank: there is no digit to read. Draw or send a digit.")
    return ink


def fit_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink's bounding box and scale so the longer side is BOX pixels, keeping the aspect."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32), mode="F").resize(
        size, Image.Resampling.LANCZOS
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre."""
    total = float(image.sum())
    rows = float(image.sum(axis=1) @ np.arange(image.shape[0])) / total
    cols = float(image.sum(axis=0) @ np.arange(image.shape[1])) / total
    return rows, cols


def place_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste the digit into a FIELD x FIELD field with its centre of mass at MNIST_CENTRE (whole pixels)."""
    height, width = digit.shape
    row, col = centre_of_mass(digit)
    top = int(np.clip(round(MNIST_CENTRE - row), 0, FIELD - height))
    left = int(np.clip(round(MNIST_CENTRE - col), 0, FIELD - width))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def to_mnist(grey: np.ndarray) -> np.ndarray:
    """Greyscale image of a digit (any size, any polarity) → 28x28 float32 in [0, 1], MNIST-style."""
    return place_by_mass(fit_box(to_ink(np.asarray(grey, dtype=np.float32))))
