"""Which score tells digits from non-digits best where the MNIST target needs it, on validation data only.

The verdict thresholds the calibrated top probability. Other scores from the literature read the same logits:
the entropy of the softmax, the energy (log-sum-exp of the logits; Liu et al. 2020), the margin between the two
likeliest digits, the largest logit; and, from the features before them, the Mahalanobis distance to the nearest
class mean (Lee et al. 2018; class means and one shared covariance of the last hidden layer's 128 units, fitted
on the recipe's training digits: MNIST's training split and the training writers), and the norm of those units.
For each, this prints the share of non-digits caught when a given share of the right answers is flagged, on the
validation digits the recipe holds out (MNIST's validation split and the validation pen writers) against a fresh
draw of the *training* kinds of non-digits; the held-out writers and the evaluation-only kinds are never read.

    PYTHONPATH=$PWD python benchmarks/verdict_scores.py --data ../shared/data/mnist \
        --pen ../shared/data/pen-digits [--model-dir models]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLAGGED = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005)  # shares of the right answers flagged


def scores(logits: np.ndarray) -> dict[str, np.ndarray]:
    """Higher means more like a digit, for every score."""
    from app.training.calibrate import softmax

    probabilities = softmax(logits)
    ranked = np.sort(probabilities, axis=1)
    largest = logits.max(axis=1)
    return {
        "top probability": ranked[:, -1],
        "negative entropy": (probabilities * np.log(np.maximum(probabilities, 1e-12))).sum(axis=1),
        "energy (log-sum-exp)": np.log(np.exp(logits - largest[:, None]).sum(axis=1)) + largest,
        "margin of the two likeliest": ranked[:, -1] - ranked[:, -2],
        "largest logit": largest,
    }


FEATURES = "act_6"  # the CNN's last hidden layer, after its ReLU (app/modeling/family.py)
COVARIANCE_RIDGE = 1e-3  # added to the covariance's diagonal: some units are dead, and it must be invertible


def training_digits(data_path: Path, pen_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The digits the recipe trains on, un-augmented: MNIST's training split and the training writers drawn once."""
    from verdict_quantiles import mnist_and_split

    from app.training.pen import draw_for_training
    from app.training.pen import training_digits as pen_digits
    from app.training.train import SEED

    _, (x_train, y_train, _, _) = mnist_and_split(data_path)
    x_pen, y_pen = draw_for_training(pen_digits(pen_path)[0], 1, SEED)
    return np.concatenate([x_train[..., 0], x_pen]), np.concatenate([y_train, y_pen])


def mahalanobis(features: np.ndarray, labels: np.ndarray):
    """A score function: minus the squared Mahalanobis distance to the nearest class mean (tied covariance)."""
    means = np.stack([features[labels == digit].mean(axis=0) for digit in range(10)])
    centred = features - means[labels]
    covariance = centred.T @ centred / len(features) + COVARIANCE_RIDGE * np.eye(features.shape[1])
    precision = np.linalg.inv(covariance)

    def score(points: np.ndarray) -> np.ndarray:
        offsets = points[:, None, :] - means[None]
        return -np.einsum("nkd,de,nke->nk", offsets, precision, offsets).min(axis=1)

    return score


def main() -> None:
    import keras
    from verdict_quantiles import arguments, validation_sets  # this folder's sibling script

    args = arguments(__doc__.split("\n")[0])
    model = keras.models.load_model(args.model_dir / "cnn.keras", compile=False)
    heads = keras.Model(model.input, [model.get_layer("logits").output, model.get_layer(FEATURES).output])

    def logits_and_features(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return heads.predict(images[..., None], batch_size=1000, verbose=0)

    images, labels, outliers = validation_sets(args.data, args.pen)
    logits, features = logits_and_features(images)
    right = logits.argmax(axis=1) == labels
    outlier_logits, outlier_features = logits_and_features(outliers)
    train_images, train_labels = training_digits(args.data, args.pen)
    feature_score = mahalanobis(logits_and_features(train_images)[1], train_labels)

    print(f"validation digits: {len(labels):,}, accuracy {right.mean():.2%}; training-kind non-digits: "
          f"{len(outliers):,}")
    print("| score | " + " | ".join(f"{share:.2%} flagged" for share in FLAGGED) + " |")
    print("|---|" + "---:|" * len(FLAGGED))
    digit_scores, outlier_scores = scores(logits), scores(outlier_logits)
    for name, score in (("Mahalanobis, last hidden layer", feature_score),
                        ("norm of the last hidden layer", lambda points: np.linalg.norm(points, axis=1))):
        digit_scores[name], outlier_scores[name] = score(features), score(outlier_features)
    for name, values in digit_scores.items():
        caught = [np.mean(outlier_scores[name] < np.quantile(values[right], share)) for share in FLAGGED]
        print(f"| {name} | " + " | ".join(f"{c:.1%}" for c in caught) + " |")


if __name__ == "__main__":
    main()
