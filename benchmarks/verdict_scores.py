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


def main() -> None:
    import keras
    from verdict_quantiles import arguments, validation_sets  # this folder's sibling script

    args = arguments(__doc__.split("\n")[0])
    model = keras.models.load_model(args.model_dir / "cnn.keras", compile=False)
    logits_of = keras.Model(model.input, model.get_layer("logits").output)
    images, labels, outliers = validation_sets(args.data, args.pen)
    logits = logits_of.predict(images[..., None], batch_size=1000, verbose=0)
    right = logits.argmax(axis=1) == labels
    outlier_logits = logits_of.predict(outliers[..., None], batch_size=1000, verbose=0)

    print(f"validation digits: {len(labels):,}, accuracy {right.mean():.2%}; training-kind non-digits: "
          f"{len(outliers):,}")
    print("| score | " + " | ".join(f"{share:.2%} flagged" for share in FLAGGED) + " |")
    print("|---|" + "---:|" * len(FLAGGED))
    digit_scores, outlier_scores = scores(logits), scores(outlier_logits)
    for name, values in digit_scores.items():
        caught = [np.mean(outlier_scores[name] < np.quantile(values[right], share)) for share in FLAGGED]
        print(f"| {name} | " + " | ".join(f"{c:.1%}" for c in caught) + " |")


if __name__ == "__main__":
    main()
