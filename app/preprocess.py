"""MNIST's own recipe, so that any digit image reaches the model looking like an MNIST digit.

LeCun et al. normalised each NIST digit to fit a 20x20 box (keeping its aspect ratio, anti-aliased),
then placed it in a 28x28 field so that its centre of mass sits at the centre. We do the same after
making the image a white digit on black, whatever it arrived as. This is the only implementation:
the API and `digit-lab evaluate` both call `to_mnist`.

Greyscale arrives as float32 in [0, 1] or as uint8 levels. For levels, the per-pixel arithmetic runs once per
level (256 values) instead of once per pixel, and only the digit's bounding box is ever made float: the
result is bit for bit what the float path gives for `levels / 255`, in about a third of the time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.errors import BlankImageError

FIELD = 28  # MNIST's image side
BOX = 20  # the longer side of the digit after scaling
# Where MNIST puts the centre of mass, in array-index coordinates: measured on the 10,000 test digits
# as (13.99, 14.01) — so half the field, not the geometric centre of the middle pixels (13.5).
MNIST_CENTRE = FIELD / 2
BORDER = 2  # pixels of the outer ring used to judge the background
MIN_CONTRAST = 0.15  # below this difference between ink and background the image is blank
NOISE_FLOOR = 0.12  # after normalising, fainter pixels are background noise (JPEG, paper grain)
MIN_INK_PIXELS = 4  # fewer ink pixels than this is a speck, not a digit
# A crop over twice the box is first box-averaged by whole factors (Pillow's reducing_gap, as in thumbnail()),
# then Lanczos-resampled: 4x faster on a 280x280 canvas. MNIST-sized inputs (what training sees) are unaffected.
REDUCING_GAP = 2.0
LEVELS = np.arange(256, dtype=np.float32) * (1 / 255.0)  # uint8 level → the float grey it stands for
BLANK = "The image is blank: there is no digit to read. Draw or send a digit."


def _border_ring(image: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring (corners twice), flat."""
    ring = min(BORDER, max(1, min(image.shape) // 4))
    return np.concatenate(
        [image[:ring].ravel(), image[-ring:].ravel(), image[:, :ring].ravel(), image[:, -ring:].ravel()]
    )


def border_level(image: np.ndarray) -> float:
    """Median of the outer ring: what the background looks like. np.median's result exactly (the mean of the two
    middle values, in the ring's own dtype), from one np.partition: np.median's wrappers cost twice the work."""
    ring = _border_ring(image)
    if ring.dtype.kind != "f":
        ring = ring.astype(np.float64)  # as np.median does: a mean of two uint8 levels must not wrap round
    low, high = (ring.size - 1) // 2, ring.size // 2
    middle = np.partition(ring, (low, high))
    return float((middle[low] + middle[high]) / ring.dtype.type(2))


def stretch(ink: np.ndarray, floor: float, peak: float) -> np.ndarray:
    """Background level → 0, the strongest ink → 1; faint leftovers (under NOISE_FLOOR) → 0."""
    ink = (ink - floor) * (1.0 / (peak - floor))
    ink[ink < NOISE_FLOOR] = 0.0
    return ink


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
        raise BlankImageError(BLANK)
    ink = stretch(ink, floor, peak)
    if np.count_nonzero(ink) < MIN_INK_PIXELS:
        raise BlankImageError(BLANK)
    return ink


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the non-zero pixels."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def ink_table(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 greyscale → (the ink of each of the 256 levels, the mask of inked pixels), as `to_ink(levels / 255)`
    decides them, touching each pixel only with integer compares: the stretch runs on the 256 levels, and ink is
    an interval of levels (the mapping is monotonic)."""
    ring = np.sort(_border_ring(levels))
    # np.median's own arithmetic (the float32 mean of the middle pair), on the two middle levels only
    background = float(LEVELS[ring[[(ring.size - 1) // 2, ring.size // 2]]].mean())
    inverted = background > 0.5
    ink_of_level = 1.0 - LEVELS if inverted else LEVELS
    floor = min(background, 1.0 - background)
    peak = float(ink_of_level[levels.min() if inverted else levels.max()]) if levels.size else 0.0
    if peak - floor < MIN_CONTRAST:
        raise BlankImageError(BLANK)
    table = stretch(ink_of_level, floor, peak)
    inked = np.flatnonzero(table)
    mask = levels <= inked[-1] if inverted else levels >= inked[0]
    if np.count_nonzero(mask) < MIN_INK_PIXELS:
        raise BlankImageError(BLANK)
    return table, mask


def ink_crop_from_levels(levels: np.ndarray) -> np.ndarray:
    """uint8 greyscale → `crop_to_ink(to_ink(levels / 255))`, exactly (see ink_table)."""
    table, mask = ink_table(levels)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return table.take(levels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def ink_image(grey: np.ndarray) -> np.ndarray:
    """The whole image as ink, float32 white on black, same size: what a number is separated into digits from.
    Each digit's crop of it goes through `to_mnist` again (its background is then 0, so nothing changes but
    the crop)."""
    grey = np.asarray(grey)
    if grey.dtype == np.uint8:
        table, _ = ink_table(grey)
        return table.take(grey)
    return to_ink(np.asarray(grey, dtype=np.float32))


def fit_box(crop: np.ndarray, box_height: int = BOX, box_width: int = BOX) -> np.ndarray:
    """Scale the cropped digit to fit the box (BOX square: its longer side BOX pixels), keeping the aspect."""
    height, width = crop.shape
    scale = min(box_height / height, box_width / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    crop = np.ascontiguousarray(crop, dtype=np.float32)
    resized = Image.frombuffer("F", (width, height), crop, "raw", "F", 0, 1).resize(
        size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP
    )
    # Lanczos overshoots a little at sharp edges; np.clip costs several times these two calls on a 20x20 array
    out = np.asarray(resized, dtype=np.float32).copy()
    return np.minimum(np.maximum(out, 0.0, out=out), 1.0, out=out)


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
    top = min(max(round(MNIST_CENTRE - row), 0), FIELD - height)
    left = min(max(round(MNIST_CENTRE - col), 0), FIELD - width)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def to_mnist(grey: np.ndarray) -> np.ndarray:
    """Greyscale image of a digit (any size, any polarity; uint8 levels or floats in [0, 1]) → 28x28 float32
    in [0, 1], MNIST-style."""
    grey = np.asarray(grey)
    if grey.dtype == np.uint8:
        crop = ink_crop_from_levels(grey)
    else:
        crop = crop_to_ink(to_ink(np.asarray(grey, dtype=np.float32)))
    return place_by_mass(fit_box(crop))
