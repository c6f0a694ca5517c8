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


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: Reason
    alternatives: list[tuple[int, float]]  # (digit, probability), likeliest first; only when unsure


def shape_reason(image: np.ndarray) -> Reason | None:
    """Why the ink cannot be one digit, from its shape alone; None when it could be."""
    ink = image > INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return "blob"
    height = rows[-1] - rows[0] + 1
    if _eroded(ink, BLOB_EROSION).sum() > BLOB_CORE * ink.sum():
        return "blob"
    if _straight_and_tilted(image):
        return "straight-line"
    if _side_by_side(image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], height):
        return "several-shapes"
    return None


def _eroded(mask: np.ndarray, steps: int) -> np.ndarray:
    """Binary erosion by a 3x3 square, `steps` times (pixels outside the image count as empty)."""
    for _ in range(steps):
        padded = np.pad(mask, 1)
        mask = np.logical_and.reduce([padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    return mask


def _straight_and_tilted(image: np.ndarray) -> bool:
    weights = image.ravel() / image.sum()
    ys, xs = np.indices(image.shape).reshape(2, -1)
    mean_y, mean_x = weights @ ys, weights @ xs
    cov = np.cov(np.stack([xs - mean_x, ys - mean_y]), aweights=weights, bias=True)
    values, vectors = np.linalg.eigh(cov)  # ascending
    if values[1] <= 0 or np.sqrt(max(values[0], 0) / values[1]) >= LINE_THINNESS:
        return False
    major_x, major_y = vectors[:, 1]
    from_vertical = np.degrees(np.arctan2(abs(major_x), abs(major_y)))
    return bool(from_vertical > UPRIGHT_DEGREES)


def _side_by_side(crop: np.ndarray, height: int) -> bool:
    """Empty columns splitting the ink into two parts that are each a digit's height and a fair share of ink."""
    inked = (crop > INK).any(axis=0)
    gaps = np.flatnonzero(~inked)
    total = crop.sum()
    for cut in gaps:
        left, right = crop[:, :cut], crop[:, cut + 1 :]
        if min(left.sum(), right.sum()) < SIDE_BY_SIDE_MASS * total:
            continue
        if min(_ink_height(left), _ink_height(right)) >= SIDE_BY_SIDE_HEIGHT * height:
            return True
    return False


def _ink_height(part: np.ndarray) -> int:
    rows = np.flatnonzero((part > INK).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


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
