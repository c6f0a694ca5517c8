"""How sure an answer is: "digit", "unsure" or "not-a-digit", decided in one place for every route.

Softmax always sums to 1, so a network must spread all of its belief over the ten digits whatever it is shown:
a letter, a dot or a scribble still gets a "most likely digit". Two things tell such inputs apart:
1. the ink's shape, on the 28x28 input the model saw: a filled blob (a dot, scaled up to the 20-pixel box),
   one straight stroke that is not upright (a dash; an upright one is a "1"), or two shapes side by side
   with empty columns between them (two digits are not one);
2. the calibrated top probability against two thresholds fitted on validation data and kept in the model's
   card (app/training/calibrate.py). The default model was also trained to answer non-digits with a uniform
   distribution (outlier exposure), which pushes their top probability down.
Models whose card has no thresholds (the activation family's MLPs, not calibrated: they are the lesson) use
FALLBACK thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.modeling.card import VerdictThresholds

Verdict = Literal["digit", "unsure", "not-a-digit"]
Reason = Literal["confident", "low-confidence", "several-shapes", "blob", "straight-line"]

FALLBACK = VerdictThresholds(not_digit_below=0.5, unsure_below=0.8, fitted_on="fixed defaults (uncalibrated model)")
INK = 0.2  # a pixel of the 28x28 input with more than this is ink, for the shape checks
# A blob: most of its ink survives BLOB_EROSION pixels of erosion, which wipes out strokes (even MNIST's
# thickest are about 5 pixels wide) but leaves the core of a filled disc.
BLOB_EROSION = 3
BLOB_CORE = 0.3
LINE_THINNESS = 0.16  # minor / major spread of the ink under this: one straight stroke
UPRIGHT_DEGREES = 45  # a straight stroke within this of vertical may be a slanted "1"
SIDE_BY_SIDE_HEIGHT = 0.5  # each of two parts split by empty columns at least this share of the ink's height
SIDE_BY_SIDE_MASS = 0.15  # ... and of its mass
ALTERNATIVES = 3  # at most this many likeliest digits listed when unsure
ALTERNATIVE_FLOOR = 0.05  # ... each at least this probable (the first two always)
_AXIS = np.arange(256, dtype=np.float32)  # pixel coordinates, for the ink's moments


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: Reason
    alternatives: list[tuple[int, float]]  # (digit, probability), likeliest first; only when unsure


def shape_reason(image: np.ndarray) -> Reason | None:
    """Why the ink cannot be one digit, from its shape alone; None when it could be. Vectorised throughout: it
    runs for every answer, and costs tens of microseconds."""
    ink = image > INK
    inked_rows, inked_cols = ink.any(axis=1), ink.any(axis=0)
    if not inked_rows.any():
        return "blob"
    if _eroded(ink, BLOB_EROSION).sum() > BLOB_CORE * ink.sum():
        return "blob"
    if _straight_and_tilted(image):
        return "straight-line"
    if _side_by_side(image, ink, inked_cols):
        return "several-shapes"
    return None


def _eroded(mask: np.ndarray, steps: int) -> np.ndarray:
    """Binary erosion by a (2 steps + 1)-pixel square, from an integral image: a pixel survives when its whole
    window is ink (outside the image counts as empty). The padded array is filled in place: np.pad alone cost
    more than the rest of the verdict."""
    size = 2 * steps + 1
    height, width = mask.shape
    counts = np.zeros((height + size, width + size), dtype=np.int32)
    counts[steps + 1 : steps + 1 + height, steps + 1 : steps + 1 + width] = mask
    counts.cumsum(0, out=counts).cumsum(1, out=counts)
    window = counts[size:, size:] - counts[:-size, size:] - counts[size:, :-size] + counts[:-size, :-size]
    return window == size * size


def _straight_and_tilted(image: np.ndarray) -> bool:
    """One straight stroke away from upright: the ink's second moments (a 2x2 covariance, solved in closed
    form) are long in one direction and thin across it, and that direction is far from vertical."""
    xs, ys = _AXIS[: image.shape[1]], _AXIS[: image.shape[0]]
    cols, rows = image.sum(axis=0), image.sum(axis=1)
    total = float(cols.sum())
    mx, my = float(cols @ xs) / total, float(rows @ ys) / total
    sxx = float(cols @ (xs * xs)) / total - mx * mx
    syy = float(rows @ (ys * ys)) / total - my * my
    sxy = float(ys @ image @ xs) / total - mx * my
    half_trace, gap = (sxx + syy) / 2, ((sxx - syy) ** 2 / 4 + sxy * sxy) ** 0.5
    major, minor = half_trace + gap, max(half_trace - gap, 0.0)
    if major <= 0 or (minor / major) ** 0.5 >= LINE_THINNESS:
        return False
    from_horizontal = 0.5 * np.degrees(np.arctan2(2 * sxy, sxx - syy))  # the major axis, -90..90
    return bool(90 - abs(from_horizontal) > UPRIGHT_DEGREES)


def _side_by_side(image: np.ndarray, ink: np.ndarray, inked_cols: np.ndarray) -> bool:
    """An empty column splitting the ink into two parts that are each a digit's height and a fair share of it."""
    gaps = np.flatnonzero(~inked_cols)
    cols = np.flatnonzero(inked_cols)
    gaps = gaps[(gaps > cols[0]) & (gaps < cols[-1])]
    if gaps.size == 0:
        return False
    rows_idx = np.arange(ink.shape[0])[:, None]
    top = np.where(ink, rows_idx, ink.shape[0]).min(axis=0)  # per column; empty columns neutral
    bottom = np.where(ink, rows_idx, -1).max(axis=0)
    height = bottom.max() - top.min() + 1
    mass = np.cumsum(image.sum(axis=0))
    left_top, left_bottom = np.minimum.accumulate(top), np.maximum.accumulate(bottom)
    right_top, right_bottom = np.minimum.accumulate(top[::-1])[::-1], np.maximum.accumulate(bottom[::-1])[::-1]
    left_mass, right_mass = mass[gaps], mass[-1] - mass[gaps]
    left_height = left_bottom[gaps] - left_top[gaps] + 1
    right_height = right_bottom[gaps] - right_top[gaps] + 1
    fair = np.minimum(left_mass, right_mass) >= SIDE_BY_SIDE_MASS * mass[-1]
    tall = np.minimum(left_height, right_height) >= SIDE_BY_SIDE_HEIGHT * height
    return bool((fair & tall).any())


def decide(image: np.ndarray, probabilities: np.ndarray, thresholds: VerdictThresholds | None) -> Decision:
    """The verdict for one 28x28 input and the model's (calibrated) probabilities."""
    thresholds = thresholds or FALLBACK
    reason = shape_reason(image)
    if reason is not None:
        return Decision("not-a-digit", reason, [])
    top = float(np.max(probabilities))
    if top < thresholds.not_digit_below:
        return Decision("not-a-digit", "low-confidence", [])
    if top < thresholds.unsure_below:
        order = np.argsort(probabilities)[::-1][:ALTERNATIVES]
        listed = [(int(d), float(probabilities[d])) for k, d in enumerate(order)
                  if k < 2 or probabilities[d] >= ALTERNATIVE_FLOOR]
        return Decision("unsure", "low-confidence", listed)
    return Decision("digit", "confident", [])
