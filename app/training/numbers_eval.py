"""Whole numbers written by the held-out pen writers, read the way POST /predict/number reads them.

Each number is one writer's own digits, placed left to right on the number pad (NUMBER_ASPECT wide for its
height) with the gaps, size changes and baseline wobble of handwriting, drawn with the number pad's pen rule
and read by `app.segment.read_digits`. Touching pairs are two of a writer's digits pushed together until their
ink touches, then by up to TOUCH_OVERLAP_PX more pixels at MNIST scale (a digit 20 px tall), so they overlap.

Only HELD_OUT_WRITERS are drawn here: the segmentation's thresholds were tuned on the other writers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.modeling.pen import NUMBER_ASPECT, NUMBER_SENT_HEIGHT, SENT_PEN_RATIO, sent_pen_width
from app.pairs import PairReader
from app.segment import Classify, read_digits
from app.touching import TouchDetector
from app.training.pen import HELD_OUT_WRITERS, PenDigit, place, render

HEIGHTS = (0.4, 0.75)  # a digit's height as a share of the pad's height
GAPS = (0.08, 0.4)  # the space between two digits' ink (not their pen's centre lines), a share of the digit height
WOBBLE = 0.06  # the baseline moves up or down by up to this share of the digit height, digit to digit
SIZE_JITTER = 0.1  # each digit's height varies by up to this share
MARGIN = 0.03  # share of the pad's height kept clear at the edges
LENGTHS = (2, 3, 4, 5)
TOUCH_OVERLAP_PX = 4  # at MNIST scale: a digit is 20 px tall
MNIST_DIGIT_PX = 20


def number_pen_width(strokes: Sequence[np.ndarray]) -> float:
    """The number pad's sent pen, a share of the pad's height: the page's rule (app/modeling/pen.py) for a drawing
    as tall as the tallest stroke, instead of the whole drawing, whose width is the number's, not a digit's.
    static/js/number.js does the same."""
    return sent_pen_width(max(float(np.ptp(np.asarray(s)[:, 1])) if len(s) else 0.0 for s in strokes))


def aspect_of(digit: PenDigit) -> float:
    points = np.concatenate(digit.strokes)
    return float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-6))


@dataclass(frozen=True)
class NumberCase:
    """One number: the writer's digits (indices into the digit list) and how each is placed, in pad-height units."""

    writer: int
    indices: tuple[int, ...]
    heights: tuple[float, ...]
    lefts: tuple[float, ...]  # each digit's left edge, pad-height units from the pad's left edge
    middles: tuple[float, ...]  # each digit's vertical centre, share of the pad's height
    touching: bool = False
    overlap_px: int = 0  # touching pairs: pixels of overlap at MNIST scale past first contact


def layout(digits: Sequence[PenDigit], indices: Sequence[int], rng: np.random.Generator,
           writer: int) -> NumberCase:
    """Heights, gaps and a wobbling baseline for the chosen digits; shrunk as a whole if it would not fit."""
    base = float(rng.uniform(*HEIGHTS))
    heights = np.array([base * (1 + rng.uniform(-SIZE_JITTER, SIZE_JITTER)) for _ in indices])
    widths = np.array([h * aspect_of(digits[i]) for h, i in zip(heights, indices, strict=True)])
    pen = SENT_PEN_RATIO * heights.max()  # about the pen the number is drawn with: the gap is between inks
    gaps = np.array([(rng.uniform(*GAPS) * base + pen) for _ in indices[1:]])
    total = widths.sum() + gaps.sum()
    room = NUMBER_ASPECT - 2 * MARGIN
    shrink = min(1.0, room / total, (1 - 2 * MARGIN) / (heights.max() * (1 + 2 * WOBBLE)))
    heights, widths, gaps = heights * shrink, widths * shrink, gaps * shrink
    start = float(rng.uniform(MARGIN, max(MARGIN, NUMBER_ASPECT - MARGIN - (widths.sum() + gaps.sum()))))
    lefts = start + np.concatenate([[0.0], np.cumsum(widths[:-1] + gaps)])
    middle = 0.5 + float(rng.uniform(-0.05, 0.05))
    middles = [middle + float(rng.uniform(-WOBBLE, WOBBLE)) * base * shrink for _ in indices]
    return NumberCase(writer, tuple(indices), tuple(heights.tolist()), tuple(lefts.tolist()), tuple(middles))


def number_strokes(digits: Sequence[PenDigit], case: NumberCase, shift: float = 0.0) -> list[list[np.ndarray]]:
    """Each digit's strokes in the pad's unit coordinates (x a share of the width, y of the height); `shift`
    (pad-height units) moves the last digit left."""
    out = []
    for k, (i, h, left, middle) in enumerate(zip(case.indices, case.heights, case.lefts, case.middles, strict=True)):
        width = h * aspect_of(digits[i])
        x = left + width / 2 - (shift if k == len(case.indices) - 1 else 0.0)
        out.append(place(digits[i].strokes, h, (x / NUMBER_ASPECT, middle), aspect=NUMBER_ASPECT))
    return out


def draw_number(digits: Sequence[PenDigit], case: NumberCase, shift: float = 0.0) -> np.ndarray:
    """The uint8 image the number pad would send for this case."""
    strokes = [s for digit in number_strokes(digits, case, shift) for s in digit]
    return render(strokes, NUMBER_SENT_HEIGHT * NUMBER_ASPECT, NUMBER_SENT_HEIGHT, pen=number_pen_width(strokes))


def touch_shift(digits: Sequence[PenDigit], case: NumberCase) -> float:
    """How far (pad-height units) to move the second digit left so the two inks touch, then overlap by
    `case.overlap_px` pixels at MNIST scale. Found on each digit's own rendering with the pair's pen."""
    per_digit = number_strokes(digits, case)
    pen = number_pen_width([s for d in per_digit for s in d])
    size = (NUMBER_SENT_HEIGHT * NUMBER_ASPECT, NUMBER_SENT_HEIGHT)
    left_ink = render(per_digit[0], *size, pen=pen) < 128
    right_ink = render(per_digit[1], *size, pen=pen) < 128
    both = left_ink.any(axis=1) & right_ink.any(axis=1)
    columns = np.arange(size[0])
    rightmost = np.where(left_ink, columns, -1).max(axis=1)
    leftmost = np.where(right_ink, columns, size[0]).min(axis=1)
    if both.any():
        gap_px = int((leftmost - rightmost)[both].min()) - 1
    else:  # no shared row (one digit far above the other): close the boxes' gap instead
        gap_px = int(leftmost.min() - rightmost.max()) - 1
    overlap = case.overlap_px * max(case.heights) * NUMBER_SENT_HEIGHT / MNIST_DIGIT_PX
    return (gap_px + overlap) / NUMBER_SENT_HEIGHT


@dataclass
class NumberEvaluation:
    """Per case: the true digits and what was read."""

    cases: list[NumberCase] = field(default_factory=list)
    truth: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)

    def _share(self, touching: bool, test: Callable[[str, str], bool]) -> tuple[float, int]:
        pairs = [(t, r) for c, t, r in zip(self.cases, self.truth, self.read, strict=True) if c.touching == touching]
        return (sum(test(t, r) for t, r in pairs) / len(pairs) if pairs else float("nan")), len(pairs)

    def count_right(self, touching: bool = False) -> float:
        return self._share(touching, lambda t, r: len(t) == len(r))[0]

    def number_right(self, touching: bool = False) -> float:
        return self._share(touching, lambda t, r: t == r)[0]

    def digits_right(self) -> float:
        """Digits read right, among separated numbers whose count was right."""
        same = [(t, r) for c, t, r in zip(self.cases, self.truth, self.read, strict=True)
                if not c.touching and len(t) == len(r)]
        total = sum(len(t) for t, _ in same)
        return sum(a == b for t, r in same for a, b in zip(t, r, strict=True)) / max(1, total)

    def report(self) -> str:
        writers = sorted({c.writer for c in self.cases})
        separated, touching = self._share(False, lambda t, r: True)[1], self._share(True, lambda t, r: True)[1]
        lines = [f"writers {writers}"]
        if separated:
            lines += [
                f"separated numbers (2-5 digits): {separated:,}",
                f"  digit count right:   {self.count_right():.2%}  (target >= 99.5%)",
                f"  whole number right:  {self.number_right():.2%}  (target >= 97%)",
                f"  digits right (count right): {self.digits_right():.2%}",
            ]
            by_length = {}
            for c, t, r in zip(self.cases, self.truth, self.read, strict=True):
                if not c.touching:
                    by_length.setdefault(len(t), []).append(t == r)
            lines.append("  whole number right by length: "
                         + "  ".join(f"{n}: {np.mean(v):.2%}" for n, v in sorted(by_length.items())))
        if touching:
            lines += [
                f"touching pairs (0-{TOUCH_OVERLAP_PX} px overlap at MNIST scale): {touching:,}",
                f"  count right (2 digits): {self.count_right(True):.2%}",
                f"  both digits right:      {self.number_right(True):.2%}  (target >= 90%)",
            ]
            by_overlap = {}
            for c, t, r in zip(self.cases, self.truth, self.read, strict=True):
                if c.touching:
                    by_overlap.setdefault(c.overlap_px, []).append(t == r)
            lines.append("  both right by overlap px: "
                         + "  ".join(f"{n}: {np.mean(v):.2%}" for n, v in sorted(by_overlap.items())))
        return "\n".join(lines)


def number_cases(digits: Sequence[PenDigit], per_writer: int, touching_per_writer: int, seed: int = 0,
                 writers: frozenset[int] = HELD_OUT_WRITERS) -> list[NumberCase]:
    """Separated numbers of 2-5 digits and touching pairs, each of one writer's own digits (fixed seed)."""
    rng = np.random.default_rng(seed)
    cases = []
    for writer in sorted(writers):
        own = [i for i, d in enumerate(digits) if d.writer == writer]
        if len(own) < max(LENGTHS):
            continue
        for _ in range(per_writer):
            n = int(rng.choice(LENGTHS))
            cases.append(layout(digits, [int(i) for i in rng.choice(own, n, replace=False)], rng, writer))
        for _ in range(touching_per_writer):
            pair = layout(digits, [int(i) for i in rng.choice(own, 2, replace=False)], rng, writer)
            cases.append(NumberCase(pair.writer, pair.indices, pair.heights, pair.lefts, pair.middles,
                                    touching=True, overlap_px=int(rng.integers(0, TOUCH_OVERLAP_PX + 1))))
    return cases


def evaluate_numbers(classify: Classify, digits: Sequence[PenDigit], cases: Sequence[NumberCase],
                     max_digits: int = 12, detector: TouchDetector | None = None,
                     pairs: PairReader | None = None) -> NumberEvaluation:
    """Draw each case, read it with the server's segmentation (`detector` and `pairs`, the served touching-pair
    detector and pair reader, or None for the rules alone) and `classify`, and keep both strings."""
    result = NumberEvaluation()
    for case in cases:
        shift = touch_shift(digits, case) if case.touching else 0.0
        image = draw_number(digits, case, shift)
        read = "".join(str(d.digit) for d in read_digits(image, classify, max_digits, detector, pairs))
        result.cases.append(case)
        result.truth.append("".join(str(digits[i].label) for i in case.indices))
        result.read.append(read)
    return result
