"""Accuracy on MNIST measured through the same preprocessing the server uses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from PIL import Image, ImageDraw

from app.errors import BlankImageError
from app.preprocess import FIELD, to_mnist
from app.training.pen import EVAL_SIZES, PenDigit, place, render

EVAL_BATCH = 1000
PAD_MARGIN = 0.02  # a drawn digit keeps this far from the pad's edge


def prepare(images: np.ndarray) -> np.ndarray:
    """uint8 MNIST digits → what the server would feed the model: to_mnist(image), shape (n, 28, 28, 1)."""
    out = np.empty((len(images), FIELD, FIELD, 1), dtype=np.float32)
    for i, image in enumerate(images):
        try:
            out[i, ..., 0] = to_mnist(image)  # uint8 levels: the same result as image / 255, faster
        except BlankImageError:  # never seen on MNIST, but a training set must not crash on it
            out[i, ..., 0] = image * (1 / 255.0)
    return out


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    per_class_accuracy: list[float]
    confusion_matrix: list[list[int]]

    def report(self) -> str:
        """A plain-text summary: overall, per digit, and the confusion matrix."""
        lines = [f"accuracy {self.accuracy:.4%} on {sum(map(sum, self.confusion_matrix)):,} images"]
        lines.append("per digit: " + "  ".join(f"{d}:{a:.2%}" for d, a in enumerate(self.per_class_accuracy)))
        lines.append("confusion (rows true, columns predicted):")
        lines.append("     " + "".join(f"{d:>6}" for d in range(10)))
        lines += [f"{d:>4} " + "".join(f"{n:>6}" for n in row) for d, row in enumerate(self.confusion_matrix)]
        return "\n".join(lines)


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Score already-prepared images (n, 28, 28, 1) against their labels."""
    predicted = np.argmax(model.predict(images, batch_size=EVAL_BATCH, verbose=0), axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels.astype(np.int64), predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return Evaluation(
        accuracy=float(np.mean(predicted == labels)),
        per_class_accuracy=[round(float(a), 6) for a in per_class],
        confusion_matrix=confusion.tolist(),
    )


@dataclass(frozen=True)
class PenCase:
    """One held-out pen digit drawn one way: its index in the digit list, height on the pad, centre, polarity."""

    index: int
    size: float  # the nominal size: a share of the pad's height
    height: float  # as drawn: smaller than `size` for a digit too wide to fit the pad at that height
    centre: tuple[float, float]
    invert: bool


def pen_cases(digits: list[PenDigit], sizes: tuple[float, ...] = EVAL_SIZES, seed: int = 0) -> list[PenCase]:
    """Every digit at every size, at a random position where it fits on the pad (fixed seed), in both polarities."""
    rng = np.random.default_rng(seed)
    cases = []
    for index, digit in enumerate(digits):
        points = np.concatenate(digit.strokes)
        aspect = float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-6))
        for size in sizes:
            height = min(size, (1 - 2 * PAD_MARGIN) / aspect)  # a wide digit is drawn smaller, not off the pad
            half_w, half_h = height * aspect / 2, height / 2
            centre = (float(rng.uniform(half_w + PAD_MARGIN, 1 - half_w - PAD_MARGIN)),
                      float(rng.uniform(half_h + PAD_MARGIN, 1 - half_h - PAD_MARGIN)))
            cases += [PenCase(index, size, height, centre, invert) for invert in (False, True)]
    return cases


def draw_case(digit: PenDigit, case: PenCase) -> np.ndarray:
    """The SENT_SIDE-square image the page would send for this case (uint8 greyscale)."""
    return render(place(digit.strokes, case.height, case.centre), invert=case.invert)


@dataclass(frozen=True)
class PenEvaluation:
    cases: list[PenCase]
    labels: np.ndarray  # per case
    writers: np.ndarray  # per case
    probabilities: np.ndarray  # (cases, 10)

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def correct(self) -> np.ndarray:
        return self.predicted == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    def accuracy_by(self, keys: np.ndarray) -> dict:
        return {key.item(): float(self.correct[keys == key].mean()) for key in np.unique(keys)}

    def by_size(self) -> dict[float, float]:
        return self.accuracy_by(np.array([case.size for case in self.cases]))

    def confusion(self) -> np.ndarray:
        confusion = np.zeros((10, 10), dtype=np.int64)
        np.add.at(confusion, (self.labels, self.predicted), 1)
        return confusion

    def worst(self, n: int) -> list[int]:
        """Case indices whose true digit got the least probability."""
        return list(np.argsort(self.probabilities[np.arange(len(self.labels)), self.labels])[:n])

    def report(self) -> str:
        confusion = self.confusion()
        lines = [f"accuracy {self.accuracy:.2%} on {len(self.labels):,} drawings of "
                 f"{len(np.unique(self.writers))} held-out writers"]
        lines.append("per size (share of the pad's height): "
                     + "  ".join(f"{size:.0%}: {a:.2%}" for size, a in self.by_size().items()))
        lines.append("per digit: " + "  ".join(f"{d}: {a:.2%}" for d, a in self.accuracy_by(self.labels).items()))
        lines.append("per writer: " + "  ".join(f"#{w}: {a:.2%}" for w, a in self.accuracy_by(self.writers).items()))
        lines.append("confusion (rows true, columns predicted):")
        lines.append("     " + "".join(f"{d:>6}" for d in range(10)))
        lines += [f"{d:>4} " + "".join(f"{n:>6}" for n in row) for d, row in enumerate(confusion.tolist())]
        return "\n".join(lines)


def prepare_pen(digits: list[PenDigit], cases: list[PenCase], progress: bool = False) -> np.ndarray:
    """Each case drawn as the page sends it, then through the serving preprocessing: (n, 28, 28, 1)."""
    out = np.empty((len(cases), FIELD, FIELD, 1), dtype=np.float32)
    step = max(1, len(cases) // 10)
    for i, case in enumerate(cases):
        out[i, ..., 0] = to_mnist(draw_case(digits[case.index], case))
        if progress and (i + 1) % step == 0:
            print(f"  {i + 1:,} of {len(cases):,} drawn", file=sys.stderr, flush=True)
    return out


def evaluate_pen(predict: Callable[[np.ndarray], np.ndarray], digits: list[PenDigit],
                 sizes: tuple[float, ...] = EVAL_SIZES, seed: int = 0,
                 prepared: tuple[list[PenCase], np.ndarray] | None = None) -> PenEvaluation:
    """Pen digits through the page's drawing, the serving preprocessing and `predict` ((n,28,28,1) → (n,10)).
    `prepared` (cases, inputs) from an earlier call's drawing saves drawing them again for another model."""
    if prepared is None:
        cases = pen_cases(digits, sizes, seed)
        prepared = cases, prepare_pen(digits, cases, progress=True)
    cases, inputs = prepared
    return PenEvaluation(cases, np.array([digits[c.index].label for c in cases]),
                         np.array([digits[c.index].writer for c in cases]), np.asarray(predict(inputs)))


def montage(evaluation: PenEvaluation, digits: list[PenDigit], path: Path, n: int = 30, columns: int = 6,
            tile: int = 140) -> Path:
    """A PNG of the `n` worst drawings as the page would send them, each labelled true → read (probability)."""
    worst = evaluation.worst(n)
    rows = max(1, -(-len(worst) // columns))
    sheet = Image.new("L", (columns * tile, rows * (tile + 16)), 255)
    draw = ImageDraw.Draw(sheet)
    for k, i in enumerate(worst):
        case = evaluation.cases[i]
        image = draw_case(digits[case.index], PenCase(case.index, case.size, case.height, case.centre, False))
        x, y = (k % columns) * tile, (k // columns) * (tile + 16)
        sheet.paste(Image.fromarray(image).resize((tile - 4, tile - 4)), (x + 2, y + 2))
        read = int(evaluation.predicted[i])
        draw.text((x + 4, y + tile - 2), f"{evaluation.labels[i]}->{read} {evaluation.probabilities[i, read]:.0%} "
                  f"w{evaluation.writers[i]} {case.size:.0%}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
