"""Which score tells digits from non-digits best where the MNIST target needs it, on validation data only.

The verdict thresholds the calibrated top probability. Other scores from the literature read the same logits:
the entropy of the softmax, the energy (log-sum-exp of the logits; Liu et al. 2020), the margin between the two
likeliest digits, the largest logit. For each, this prints the share of non-digits caught when a given share of
the right answers is flagged, on the validation digits the recipe holds out (MNIST's validation split and the
validation pen writers) against a fresh draw of the *training* kinds of non-digits; the held-out writers and the
evaluation-only kinds are never read.

    PYTHONPATH=$PWD python benchmarks/verdict_scores.py --data ../shared/data/mnist \
        --pen ../shared/data/pen-digits [--model-dir models]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLAGGED = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005)  # shares of the right answers flagged
NON_DIGITS = 3000
NON_DIGIT_SEED = 777  # the same draw as benchmarks/verdict_quantiles.py, apart from the recipe's own


def scores(logits: np.ndarray) -> dict[str, np.ndarray]:
    """Higher means more like a digit, for every score."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    ranked = np.sort(probabilities, axis=1)
    return {
        "top probability": ranked[:, -1],
        "negative entropy": (probabilities * np.log(np.maximum(probabilities, 1e-12))).sum(axis=1),
        "energy (log-sum-exp)": np.log(np.exp(shifted).sum(axis=1)) + logits.max(axis=1),
        "margin of the two likeliest": ranked[:, -1] - ranked[:, -2],
        "largest logit": logits.max(axis=1),
    }


def main() -> None:
    import keras

    from app.training.data import load_mnist
    from app.training.evaluate import prepare
    from app.training.outliers import training_outliers
    from app.training.pen import draw_for_training, training_digits
    from app.training.train import SEED, split

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="MNIST IDX directory or .npz")
    parser.add_argument("--pen", type=Path, required=True, help="the pen-digit strokes")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()

    model = keras.models.load_model(args.model_dir / "cnn.keras", compile=False)
    logits_of = keras.Model(model.input, model.get_layer("logits").output)
    data = load_mnist(args.data)
    _, _, x_val, y_val = split(prepare(data.x_train), data.y_train, SEED)  # the recipe's own split
    _, pen_validation = training_digits(args.pen)
    x_pen, y_pen = draw_for_training(pen_validation, 1, SEED + 1)  # as the recipe draws them
    images = np.concatenate([x_val[..., 0], x_pen])
    labels = np.concatenate([y_val, y_pen])
    logits = logits_of.predict(images[..., None], batch_size=1000, verbose=0)
    right = logits.argmax(axis=1) == labels
    outliers = training_outliers(NON_DIGITS, data.x_train, NON_DIGIT_SEED)
    outlier_logits = logits_of.predict(outliers[..., None], batch_size=1000, verbose=0)

    print(f"validation digits: {len(labels):,}, accuracy {right.mean():.2%}; training-kind non-digits: {NON_DIGITS:,}")
    print("| score | " + " | ".join(f"{share:.2%} flagged" for share in FLAGGED) + " |")
    print("|---|" + "---:|" * len(FLAGGED))
    digit_scores, outlier_scores = scores(logits), scores(outlier_logits)
    for name, values in digit_scores.items():
        caught = [np.mean(outlier_scores[name] < np.quantile(values[right], share)) for share in FLAGGED]
        print(f"| {name} | " + " | ".join(f"{c:.1%}" for c in caught) + " |")


if __name__ == "__main__":
    main()
