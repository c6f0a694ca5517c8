"""Which two digits does a joined group of ink hold? A small CNN that reads the whole group: first digit, second.

Why: where two digits touch, the candidate cuts of app/segment.py nearly always include the right one, but
reading each side with the digit classifier picks it only about nine times in ten: a cut through the wrong
place leaves a part that still looks like a digit, often a confident one. Read whole, the group shows both
digits with their joins intact. The segmentation keeps the cut whose two parts agree best with this reading;
each digit's answer still comes from the digit classifier on its own part, so a digit in a number is read as
it would be alone. Evaluated in numpy (3x3 convolutions as one matrix product each, batch normalisation folded
into them), so it needs no model runtime and behaves the same under Keras and LiteRT. Its recipe is
app/training/pairs.py (`digit-lab train --pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.preprocess import crop_to_ink, fit_box

PAIRS_FILE = "pairs.npz"
PAIR_SHAPE = (28, 56)  # rows, columns: two MNIST fields side by side
PAIR_BOX = (20, 52)  # the group's ink is scaled to fit: as tall as an MNIST digit, at most this wide


def pair_input(ink: np.ndarray) -> np.ndarray:
    """A group's ink (white on black, float in [0, 1]) → the (28, 56) float32 input the pair reader sees: the
    ink scaled to fit PAIR_BOX, keeping its aspect, centred, its brightest pixel 1."""
    fitted = fit_box(crop_to_ink(np.asarray(ink, dtype=np.float32)), *PAIR_BOX)
    fitted *= 1.0 / max(float(fitted.max()), 1e-6)
    height, width = fitted.shape
    field = np.zeros(PAIR_SHAPE, dtype=np.float32)
    top, left = (PAIR_SHAPE[0] - height) // 2, (PAIR_SHAPE[1] - width) // 2
    field[top : top + height, left : left + width] = fitted
    return field


def _conv3x3_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'same' 3x3 convolution + ReLU on (n, h, w, c): the nine shifted copies side by side (im2col), one matrix
    product with the kernel laid out the same way, (row, column, channel)."""
    n, height, width, channels = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    columns = np.concatenate([padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)], axis=3)
    out = (columns.reshape(-1, 9 * channels) @ kernel.reshape(9 * channels, -1)).reshape(n, height, width, -1)
    out += bias
    return np.maximum(out, 0.0, out=out)


def _max_pool(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling, 'same' as Keras pads it (an odd side gains one row or column at its end; the inputs are
    ReLU outputs, so padding with 0 never wins a max)."""
    n, height, width, channels = x.shape
    x = np.pad(x, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)))
    return x.reshape(n, x.shape[1] // 2, 2, x.shape[2] // 2, 2, channels).max(axis=(2, 4))


@dataclass
class PairReader:
    """Convolutions (kernel, bias) each followed by ReLU and 2x2 pooling, then Dense(ReLU), then two softmax heads
    of ten: the first digit and the second. Two heads of ten learn from ten times more examples per class than one
    of 100 pairs (a first version with 100 classes learned several times slower)."""

    kernels: list[np.ndarray]  # (3, 3, in, out), batch normalisation folded in
    biases: list[np.ndarray]
    hidden_weights: np.ndarray
    hidden_bias: np.ndarray
    out_weights: np.ndarray  # (hidden, 20): the first digit's logits, then the second's
    out_bias: np.ndarray

    def read(self, inputs: np.ndarray) -> np.ndarray:
        """(n, 28, 56) pair inputs → (n, 10, 10) probabilities: [i, a, b] that group i is digit a then digit b."""
        x = np.asarray(inputs, dtype=np.float32)[..., np.newaxis]
        for kernel, bias in zip(self.kernels, self.biases, strict=True):
            x = _max_pool(_conv3x3_relu(x, kernel, bias))
        hidden = np.maximum(x.reshape(len(x), -1) @ self.hidden_weights + self.hidden_bias, 0.0)
        logits = (hidden @ self.out_weights + self.out_bias).reshape(-1, 2, 10)
        exp = np.exp(logits - logits.max(axis=2, keepdims=True))
        first, second = (exp / exp.sum(axis=2, keepdims=True)).transpose(1, 0, 2)
        return first[:, :, np.newaxis] * second[:, np.newaxis, :]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        layers = {f"kernel_{i}": k for i, k in enumerate(self.kernels)} | {f"bias_{i}": b for i, b in
                                                                            enumerate(self.biases)}
        np.savez(path, **layers, hidden_weights=self.hidden_weights, hidden_bias=self.hidden_bias,
                 out_weights=self.out_weights, out_bias=self.out_bias)

    @classmethod
    def load(cls, path: Path) -> PairReader:
        with np.load(path) as data:
            count = sum(1 for name in data.files if name.startswith("kernel_"))
            return cls([data[f"kernel_{i}"] for i in range(count)], [data[f"bias_{i}"] for i in range(count)],
                       data["hidden_weights"], data["hidden_bias"], data["out_weights"], data["out_bias"])


def load_pair_reader(models_dir: Path) -> PairReader | None:
    """The shipped pair reader, or None where a models folder has none (cuts are then chosen by the parts alone)."""
    path = Path(models_dir) / PAIRS_FILE
    return PairReader.load(path) if path.is_file() else None
