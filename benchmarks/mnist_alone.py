"""The default CNN's recipe trained on MNIST alone: the same architecture, augmentation, schedule and seed, without
the pen digits and the non-digits. It answers whether reading real handwriting and saying "not a digit" cost the
default model MNIST accuracy (docs/handwriting.md). About 13 minutes on 2 cores.

    PYTHONPATH=$PWD python benchmarks/mnist_alone.py --data ../shared/data/mnist --out /tmp/mnist-alone
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from app.modeling.family import CNN_SPEC
    from app.training.data import load_mnist
    from app.training.train import train

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", default=None, help="MNIST's four files or an .npz (default: Keras's download)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the model and its card")
    args = parser.parse_args()

    card = train(dataclasses.replace(CNN_SPEC, real_handwriting=False), load_mnist(args.data), args.out)
    validation = card.history[-1].val_accuracy
    print(f"MNIST alone: test {card.test_accuracy:.2%}, MNIST's validation split {validation:.2%}, "
          f"{card.training_seconds:.0f} s of fitting")


if __name__ == "__main__":
    main()
