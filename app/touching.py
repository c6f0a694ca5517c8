"""Is this group of ink one digit, or two digits that touch? A small MLP on the group's 28x28 MNIST input.

The segmentation asks it about every group narrower than a digit pair usually is (app/segment.py): the digit
classifier cannot tell, it often reads a joined pair as one digit with confidence. It runs in numpy (one matrix
product for all groups of a number, microseconds), so it needs no model runtime and behaves the same under Keras
and LiteRT. Its recipe is app/training/touching.py (`digit-lab train --touching`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOUCHING_FILE = "touching.npz"


@dataclass
class TouchDetector:
    """Weights of Flatten → Dense(relu) → Dense(sigmoid), and the score from which a group is two digits."""

    hidden_weights: np.ndarray  # (784, hidden)
    hidden_bias: np.ndarray  # (hidden,)
    out_weights: np.ndarray  # (hidden, 1)
    out_bias: np.ndarray  # (1,)
    threshold: float

    def two_digits(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) MNIST inputs → (n,) probability that each holds two touching digits."""
        flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        hidden = np.maximum(flat @ self.hidden_weights + self.hidden_bias, 0.0)
        logits = (hidden @ self.out_weights + self.out_bias)[:, 0]
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, hidden_weights=self.hidden_weights, hidden_bias=self.hidden_bias,
                 out_weights=self.out_weights, out_bias=self.out_bias, threshold=np.float32(self.threshold))

    @classmethod
    def load(cls, path: Path) -> TouchDetector:
        with np.load(path) as data:
            return cls(data["hidden_weights"], data["hidden_bias"], data["out_weights"], data["out_bias"],
                       float(data["threshold"]))


def load_detector(models_dir: Path) -> TouchDetector | None:
    """The shipped detector, or None where a models folder has none (numbers are then split by rule alone)."""
    path = Path(models_dir) / TOUCHING_FILE
    return TouchDetector.load(path) if path.is_file() else None
