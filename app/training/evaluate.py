"""Accuracy on MNIST measured through the same preprocessing the server uses."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from app.errors import BlankImageError
from app.preprocess import FIELD, to_mnist

EVAL_BATCH = 1000


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
