"""All 10,000 MNIST test digits as canvas PNGs, through the serving decode and preprocessing, in process.

`tests/api/test_accuracy.py` sends a fixed 1,000-digit slice of each canvas variant through the API (a floor of
99%, to keep the suite short); this measures the whole test set, and the slice beside it, for one or more model
folders, so two models can be compared on the same images in one run.

    PYTHONPATH=$PWD python benchmarks/canvas_accuracy.py --data ../shared/data/mnist \
        --model-dir models [/tmp/other-models] [--variants upscaled corner]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("upscaled", "inverted", "corner", "transparent")  # as tests/api/test_accuracy.py draws them
SLICE = 1000  # the test's slice: the last 1,000 test digits
MAX_PIXELS, MAX_SIDE = 10**7, 4096  # far above the canvas PNGs' 280x280


def main() -> None:
    import keras

    from app.imaging import decode_image
    from app.preprocess import to_mnist
    from app.training.data import load_mnist
    from tests.conftest import canvas_png

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="MNIST IDX directory or .npz")
    parser.add_argument("--model-dir", type=Path, nargs="+", default=[ROOT / "models"])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()

    data = load_mnist(args.data)
    models = {folder: keras.models.load_model(folder / "cnn.keras", compile=False) for folder in args.model_dir}
    print("| variant | model | all 10,000 | last 1,000 (the test's slice) |")
    print("|---|---|---|---|")
    for variant in args.variants:
        inputs = np.asarray([to_mnist(decode_image(canvas_png(image, variant=variant), MAX_PIXELS, MAX_SIDE))
                             for image in data.x_test], dtype=np.float32)
        for folder, model in models.items():
            right = model.predict(inputs[..., None], batch_size=1000, verbose=0).argmax(axis=1) == data.y_test
            print(f"| {variant} | {folder} | {right.mean():.2%} | {right[-SLICE:].mean():.2%} |", flush=True)


if __name__ == "__main__":
    main()
