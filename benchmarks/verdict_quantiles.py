"""What the verdict's quantile levels trade, on validation data only: right answers flagged against non-digits caught.

The verdict's thresholds are quantiles of the validation digits' calibrated top probability
(app/training/calibrate.py). This rebuilds the same validation digits as the training recipe (MNIST's validation
split and the validation pen writers, drawn once) and a fresh draw of the *training* kinds of non-digits, then
prints, for several quantile levels, the thresholds, the share of right answers they flag, and the share of
non-digits they catch. The held-out writers and the evaluation-only non-digit kinds are never read here, so the
table can inform the choice of levels without fitting them to the evaluation sets.

    PYTHONPATH=$PWD python benchmarks/verdict_quantiles.py --data ../shared/data/mnist \
        --pen ../shared/data/pen-digits [--model-dir models]
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from app.training.data import Mnist

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVELS = ((0.003, 0.005), (0.002, 0.003), (0.001, 0.0015), (0.0005, 0.001))  # (not-a-digit, unsure)
NON_DIGITS = 3000
NON_DIGIT_SEED = 777  # a draw apart from the recipe's own (seed 1234)


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, help="MNIST IDX directory or .npz")
    parser.add_argument("--pen", type=Path, required=True, help="the pen-digit strokes")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    return parser.parse_args()


@functools.cache
def mnist_and_split(data_path: Path) -> tuple[Mnist, tuple[np.ndarray, ...]]:
    """MNIST, read once per process, and the recipe's own split of its training digits through the serving
    preprocessing (x_train, y_train, x_val, y_val): the benchmarks of this folder share the work."""
    from app.training.data import load_mnist
    from app.training.evaluate import prepare
    from app.training.train import SEED, split

    data = load_mnist(data_path)
    return data, split(prepare(data.x_train), data.y_train, SEED)


def validation_sets(data_path: Path, pen_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recipe's validation digits (images, labels) and a fresh draw of the training kinds of non-digits."""
    from app.training.outliers import training_outliers
    from app.training.pen import draw_for_training, training_digits
    from app.training.train import SEED

    data, (_, _, x_val, y_val) = mnist_and_split(data_path)
    _, pen_validation = training_digits(pen_path)
    x_pen, y_pen = draw_for_training(pen_validation, 1, SEED + 1)  # as the recipe draws them
    outliers = training_outliers(NON_DIGITS, data.x_train, NON_DIGIT_SEED)
    return np.concatenate([x_val[..., 0], x_pen]), np.concatenate([y_val, y_pen]), outliers


def main() -> None:
    import keras

    from app.training.calibrate import verdict_thresholds
    from app.verdict import shape_reason

    args = arguments(__doc__.split("\n")[0])
    model = keras.models.load_model(args.model_dir / "cnn.keras", compile=False)
    images, labels, outliers = validation_sets(args.data, args.pen)
    probabilities = model.predict(images[..., None], batch_size=1000, verbose=0)
    top, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    shaped = np.array([shape_reason(image) is not None for image in images])

    outlier_top = model.predict(outliers[..., None], batch_size=1000, verbose=0).max(axis=1)
    outlier_shaped = np.array([shape_reason(image) is not None for image in outliers])

    print(f"validation digits: {len(labels):,}, accuracy {right.mean():.2%}; training-kind non-digits: {NON_DIGITS:,}")
    print("| quantiles (not-a-digit / unsure) | thresholds | right answers flagged | non-digits caught |")
    print("|---|---|---|---|")
    for not_digit_level, unsure_level in LEVELS:
        not_digit, unsure = verdict_thresholds(probabilities, labels, not_digit_level, unsure_level)
        flagged = np.mean(right & ((top < unsure) | shaped))
        caught = np.mean((outlier_top < unsure) | outlier_shaped)
        print(f"| {not_digit_level:.2%} / {unsure_level:.2%} | {not_digit:.3f} / {unsure:.3f} | {flagged:.2%} "
              f"| {caught:.1%} |")


if __name__ == "__main__":
    main()
