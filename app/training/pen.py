"""Real pen digits: the UCI pen-digit strokes, split by writer, drawn the way the page draws them.

The strokes are what a person's pen did, so they can be drawn at any size and position on a pad of any side,
with the page's own pen rule, and then go through the serving preprocessing like a canvas PNG. That is how
training adds real handwriting styles next to MNIST, and how every pen figure is measured.

Writers, not digits, are split: a model that has seen a writer's other digits is not being tested on a new
person. The held-out writers are read only by the evaluation (a test checks that training never reads them).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from app.modeling import pen as page_pen_rule
from app.modeling.pen import PAD_PEN, SENT_SIDE

PEN_DIGITS_FILE = "pendigits-train-strokes.json.gz"
# Held out from training, augmentation tuning, calibration, thresholds and model selection: every pen figure we
# report is on these writers. Spread over the range rather than the last eight, in case writers were recorded in
# sessions.
HELD_OUT_WRITERS = frozenset({3, 7, 11, 15, 19, 23, 26, 30})
# Not trained on either: calibration (temperature), verdict thresholds and model selection use them.
VALIDATION_WRITERS = frozenset({5, 13, 21, 28})

SUPERSAMPLE = 3  # drawn at 3x and box-reduced: anti-aliased edges, as a canvas draws them
CURVE_STEPS = 4  # points per quadratic segment of the page's smoothing

EVAL_SIZES = (0.25, 0.40, 0.60, 0.85)  # digit height as a share of the pad's height

Stroke = np.ndarray  # (n, 2) float: x, y
Strokes = list[Stroke]


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: int
    sample: int
    strokes: tuple[Stroke, ...]  # the tablet's units, y down


def load_pen_digits(path: str | Path) -> list[PenDigit]:
    """Read the strokes file (or the directory that holds it)."""
    path = Path(path)
    if path.is_dir():
        path = path / PEN_DIGITS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no pen-digit strokes file ({PEN_DIGITS_FILE})")
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        raw = json.load(stream)
    return [
        PenDigit(int(d["label"]), int(d["writer"]), int(d["sample"]),
                 tuple(np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in d["strokes"] if s))
        for d in raw
    ]


def writers_split(digits: Iterable[PenDigit]) -> tuple[list[PenDigit], list[PenDigit], list[PenDigit]]:
    """(training, validation, held-out) by writer."""
    train, validation, held_out = [], [], []
    for digit in digits:
        if digit.writer in HELD_OUT_WRITERS:
            held_out.append(digit)
        elif digit.writer in VALIDATION_WRITERS:
            validation.append(digit)
        else:
            train.append(digit)
    return train, validation, held_out


def training_digits(path: str | Path) -> tuple[list[PenDigit], list[PenDigit]]:
    """What training may read: the training and validation writers, never the held-out ones."""
    train, validation, _ = writers_split(load_pen_digits(path))
    return train, validation


def place(strokes: Sequence[np.ndarray], height: float, centre: tuple[float, float] = (0.5, 0.5),
          aspect: float = 1.0) -> Strokes:
    """Strokes scaled so the digit is `height` of a pad of the given aspect (width / height), centred at
    `centre` (unit coordinates of that pad, y down)."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    mid = (low + high) / 2
    scale = height / max(high[1] - low[1], 1e-6)
    # Unit coordinates are per axis: x is a share of the width, y of the height.
    factor = np.array([scale / aspect, scale])
    return [(s - mid) * factor + np.asarray(centre) for s in strokes]


def sent_pen_width(strokes: Sequence[np.ndarray]) -> float:
    """The pen of the sent image for these strokes (unit coordinates): app/modeling/pen.py's rule, as the page's
    static/js/pad.js applies it."""
    points = np.concatenate(strokes)
    return page_pen_rule.sent_pen_width(float((points.max(axis=0) - points.min(axis=0)).max()))


def smooth(points: np.ndarray) -> np.ndarray:
    """The page's smoothing: quadratic curves through the midpoints, each sampled point the control point."""
    if len(points) < 3:
        return points
    out = [points[0]]
    start = points[0]
    t = np.linspace(0, 1, CURVE_STEPS + 1)[1:, None]
    for i in range(1, len(points) - 1):
        control, end = points[i], (points[i] + points[i + 1]) / 2
        out.extend((1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end)
        start = end
    out.append(points[-1])
    return np.asarray(out)


def render(strokes: Sequence[np.ndarray], width: int = SENT_SIDE, height: int | None = None,
           pen: float | None = None, invert: bool = False) -> np.ndarray:
    """Unit-coordinate strokes → uint8 greyscale, black round-capped ink on white (white on black if `invert`),
    as the page's canvas paints them. `pen` is a share of the pad's height; default: the sent-image rule."""
    height = height or width
    pen = sent_pen_width(strokes) if pen is None else pen
    scale = SUPERSAMPLE
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    line = max(1.0, pen * height * scale)
    radius = line / 2
    for stroke in strokes:
        flat = [tuple(p) for p in smooth(np.asarray(stroke, dtype=np.float64)) * (width * scale, height * scale)]
        if len(flat) > 1:
            draw.line(flat, fill=0, width=round(line))
        for x, y in flat:  # round caps and joins (Pillow's own "curve" joint is ten times slower)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    levels = np.asarray(image.reduce(scale))
    return 255 - levels if invert else levels


# How training draws the training writers' digits: sizes, positions and pens vary as they do on the page.
TRAIN_HEIGHTS = (0.2, 0.9)  # share of the pad's height
TRAIN_PEN_JITTER = (0.75, 1.5)  # times the sent-pen rule: people's pens and pressure differ


def draw_for_training(digits: Sequence[PenDigit], renders: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each digit drawn `renders` times at a random height, position and pen, through the serving preprocessing:
    (n, 28, 28) float32 inputs and their labels."""
    from app.preprocess import to_mnist  # here, so reading strokes needs no image stack

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in digits:
        if digit.writer in HELD_OUT_WRITERS:
            raise ValueError(f"writer {digit.writer} is held out for evaluation and may not be trained on")
        points = np.concatenate(digit.strokes)
        aspect = float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-6))
        for _ in range(renders):
            height = min(float(rng.uniform(*TRAIN_HEIGHTS)), 0.95 / max(aspect, 1e-6))
            half_w, half_h = height * aspect / 2, height / 2
            centre = (float(rng.uniform(half_w + 0.02, 1 - half_w - 0.02)),
                      float(rng.uniform(half_h + 0.02, 1 - half_h - 0.02)))
            strokes = place(digit.strokes, height, centre)
            pen = sent_pen_width(strokes) * float(rng.uniform(*TRAIN_PEN_JITTER))
            images.append(to_mnist(render(strokes, pen=min(pen, PAD_PEN * 1.5))))
            labels.append(digit.label)
    return np.asarray(images, dtype=np.float32), np.asarray(labels, dtype=np.uint8)
