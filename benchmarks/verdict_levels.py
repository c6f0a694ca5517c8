"""The verdict's evaluation figures at each quantile level of verdict_quantiles.py: what a looser level would give.

For each level, the thresholds are fitted on the validation digits exactly as verdict_quantiles.py fits them, then
`digit-lab evaluate --verdict`'s report runs on the evaluation sets (the held-out pen writers, MNIST's test set and
the non-digit kinds training never saw). This reads the evaluation sets, so it is a report of the trade-off and
never a way to choose the level: the shipped level was fixed before any of these figures were seen.

    PYTHONPATH=$PWD python benchmarks/verdict_levels.py --data ../shared/data/mnist \
        --pen ../shared/data/pen-digits [--model-dir models]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    import keras
    from verdict_quantiles import LEVELS, arguments, mnist_and_split, validation_sets

    from app.cli import prepare_pen_inputs
    from app.modeling.card import VerdictThresholds
    from app.training.calibrate import verdict_thresholds
    from app.training.evaluate import prepare
    from app.training.pen import load_pen_digits, writers_split
    from app.training.verdict_eval import non_digit_sets, report

    args = arguments(__doc__.split("\n")[0])
    model = keras.models.load_model(args.model_dir / "cnn.keras", compile=False)

    def predict(images: np.ndarray) -> np.ndarray:
        return model.predict(images, batch_size=1000, verbose=0)

    images, labels, _ = validation_sets(args.data, args.pen)
    probabilities = predict(images[..., None])
    data, _ = mnist_and_split(args.data)  # read once, with validation_sets
    _, _, held_out = writers_split(load_pen_digits(args.pen))
    digits = {"held-out pen writers": prepare_pen_inputs(held_out),
              "MNIST test": (prepare(data.x_test)[..., 0], data.y_test)}
    non_digits = non_digit_sets()
    for not_digit_level, unsure_level in LEVELS:  # thresholds fitted as the recipe fits them
        not_digit, unsure = verdict_thresholds(probabilities, labels, not_digit_level, unsure_level)
        print(f"## quantiles {not_digit_level:.2%} / {unsure_level:.2%}: thresholds {not_digit:.4f} / {unsure:.4f}")
        thresholds = VerdictThresholds(not_digit_below=not_digit, unsure_below=unsure, fitted_on="validation digits")
        print(report(predict, thresholds, digits, non_digits), flush=True)


if __name__ == "__main__":
    main()
