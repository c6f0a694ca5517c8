"""The touching-pair detector's recipe: one connected group of ink → is it one digit or two that touch?

Why a detector of its own: the digit classifier reads most touching pairs whole, and surely (a joined "10" is a
confident 0), while the candidate cuts hold the right split nearly always. Deciding *whether* to cut was what
failed, and the classifier's sureness cannot tell a joined pair from a wide single digit. The detector sees the
same 28x28 MNIST input of the group that the classifier sees, so it adds no preprocessing, and it is a small MLP
evaluated in numpy (app/touching.py), the same under both runtimes.

Examples are groups the segmentation itself finds: one writer's digit drawn alone on the number pad (one digit),
or two of a writer's digits pushed together until their ink touches or overlaps (two digits), drawn exactly as
the number evaluation draws them. Only training writers are fitted on; the threshold is chosen on the
validation writers; the held-out writers are read only by `digit-lab evaluate --numbers`. MNIST's training
digits, alone and pushed together the same way, join the fitting set: eighteen pen writers are few styles
(docs/numbers.md has what each part of the recipe adds).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from app.preprocess import ink_image, to_mnist
from app.segment import CROP_MARGIN, FORCE_SPLIT_RATIO, _components, group_strokes
from app.touching import TouchDetector
from app.training.numbers_eval import (
    TOUCH_OVERLAP_PX,
    NumberCase,
    draw_number,
    layout,
    number_cases,
    touch_shift,
)
from app.training.pen import HELD_OUT_WRITERS, VALIDATION_WRITERS, PenDigit

SINGLES_PER_DIGIT = 3  # each digit drawn alone this many times (sizes and positions vary)
PAIRS_PER_WRITER = 1000  # touching pairs per writer
MNIST_SINGLES = 40_000
MNIST_PAIRS = 50_000
MNIST_INK = 0.3  # an MNIST pixel at or above this is ink when two digits are pushed together
MNIST_WOBBLE_PX = 3  # the second digit sits up to this many pixels higher or lower
HIDDEN = 64
EPOCHS = 12
BATCH_SIZE = 128
SEED = 7
# Splitting a single digit costs a number its digit count (target 99.5% for numbers of up to 5 digits), missing a
# pair costs one touching pair: the threshold keeps single digits read as pairs at or under this share of the
# validation writers' digits.
SINGLE_SPLIT_BUDGET = 0.001


def writer_examples(digits: Sequence[PenDigit], writer: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One writer's groups narrower than FORCE_SPLIT_RATIO (wider ones are split by rule): (n, 28, 28), labels
    (0 one digit, 1 two touching)."""
    if writer in HELD_OUT_WRITERS:
        raise ValueError(f"writer {writer} is held out for evaluation and may not be trained or tuned on")
    rng = np.random.default_rng(seed)
    images, labels = [], []

    def keep(case: NumberCase, shift: float, label: int) -> None:
        groups = group_strokes(_components(ink_image(draw_number(digits, case, shift))))
        if label == 1 and len(groups) != 1:  # the two inks did not come out as one group: nothing to learn
            return
        for group in groups:
            if group.ratio < FORCE_SPLIT_RATIO:
                images.append(group.mnist)
                labels.append(label)

    own = [i for i, d in enumerate(digits) if d.writer == writer]
    for i in own:
        for _ in range(SINGLES_PER_DIGIT):
            keep(layout(digits, [i], rng, writer), 0.0, 0)
    for case in number_cases(digits, 0, PAIRS_PER_WRITER, seed=seed, writers=frozenset({writer})):
        keep(case, touch_shift(digits, case), 1)
    return np.asarray(images, dtype=np.float32).reshape(-1, 28, 28), np.asarray(labels, dtype=np.int8)


def examples(digits: Sequence[PenDigit], writers: Sequence[int], workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """All the writers' examples, one process per writer at a time (drawing is the slow part)."""
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(writer_examples, [digits] * len(writers), writers,
                              [SEED * 1000 + w for w in writers]))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _ink_crop(image: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    cols = np.flatnonzero(image.max(axis=0) > 0.1)
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def push_together(left: np.ndarray, right: np.ndarray, overlap_px: int, drop_px: int) -> np.ndarray:
    """Two MNIST digits (floats, white on black) side by side, the right one `drop_px` lower, moved left until
    their ink touches and then `overlap_px` further: the same rule as the number evaluation's touching pairs."""
    left, right = _ink_crop(left), _ink_crop(right)
    height = max(left.shape[0], right.shape[0] + abs(drop_px)) + 2 * CROP_MARGIN
    width = left.shape[1] + right.shape[1] + 2 * CROP_MARGIN
    first = np.zeros((height, width), dtype=np.float32)
    second = np.zeros_like(first)
    first[CROP_MARGIN : CROP_MARGIN + left.shape[0], CROP_MARGIN : CROP_MARGIN + left.shape[1]] = left
    top = CROP_MARGIN + max(0, drop_px)
    second[top : top + right.shape[0], : right.shape[1]] = right
    first_ink, second_ink = first >= MNIST_INK, second >= MNIST_INK
    columns = np.arange(width)
    shared = first_ink.any(axis=1) & second_ink.any(axis=1)
    gaps = np.where(second_ink, columns, width).min(axis=1) - np.where(first_ink, columns, -1).max(axis=1) - 1
    # move the second digit right by `shift` so that the narrowest gap in a shared row is -overlap_px
    shift = max(0, -overlap_px - int(gaps[shared].min())) if shared.any() else left.shape[1] + CROP_MARGIN
    pair = first.copy()
    pair[:, shift:] = np.maximum(pair[:, shift:], second[:, : width - shift])
    return pair


def pushed_pairs(images: np.ndarray, count: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, int, int]]:
    """`count` random pairs of MNIST digits (uint8) pushed together, 0..TOUCH_OVERLAP_PX of overlap, the second up
    to MNIST_WOBBLE_PX higher or lower: (the pair's ink, the first digit's index, the second's)."""
    for a, b in rng.integers(0, len(images), (count, 2)):
        yield (push_together(images[a] / 255.0, images[b] / 255.0, int(rng.integers(0, TOUCH_OVERLAP_PX + 1)),
                             int(rng.integers(-MNIST_WOBBLE_PX, MNIST_WOBBLE_PX + 1))), int(a), int(b))


def mnist_examples(images: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """MNIST_SINGLES digits alone and MNIST_PAIRS pushed together (`pushed_pairs`), each through `to_mnist` as a
    group of ink is: (n, 28, 28), labels."""
    rng = np.random.default_rng(seed)
    out, labels = [], []
    for pair, _, _ in pushed_pairs(images, MNIST_PAIRS, rng):
        out.append(to_mnist(pair))
        labels.append(1)
    for i in rng.integers(0, len(images), MNIST_SINGLES):
        out.append(to_mnist(np.pad(images[i] / 255.0, CROP_MARGIN).astype(np.float32)))
        labels.append(0)
    return np.asarray(out, dtype=np.float32), np.asarray(labels, dtype=np.int8)


def fit(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> TouchDetector:
    """A one-hidden-layer MLP on the 784 pixels (Keras, functional API), the threshold from the validation
    writers, returned as numpy weights."""
    import keras

    keras.utils.set_random_seed(SEED)
    inputs = keras.Input((28, 28))
    hidden_layer = keras.layers.Dense(HIDDEN, activation="relu")
    out_layer = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, out_layer(hidden_layer(keras.layers.Flatten()(inputs))))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=2)
    weights = [w.astype(np.float32) for w in (*hidden_layer.get_weights(), *out_layer.get_weights())]
    singles = np.sort(TouchDetector(*weights, threshold=1.0).two_digits(x_val[y_val == 0]))
    # the smallest threshold that reads at most SINGLE_SPLIT_BUDGET of single digits as pairs
    allowed = int(np.floor(SINGLE_SPLIT_BUDGET * len(singles)))
    return TouchDetector(*weights, threshold=float(np.nextafter(singles[-1 - allowed], np.float32(1))))


def train_detector(digits: Sequence[PenDigit], mnist_train: np.ndarray, out: Path, workers: int = 2) -> str:
    """Draw, fit, save `out` (npz); returns a report of the validation writers' figures."""
    writers = sorted({d.writer for d in digits} - HELD_OUT_WRITERS)
    fit_writers = [w for w in writers if w not in VALIDATION_WRITERS]
    val_writers = [w for w in writers if w in VALIDATION_WRITERS]
    x, y = examples(digits, fit_writers, workers)
    x_val, y_val = examples(digits, val_writers, workers)
    x_mnist, y_mnist = mnist_examples(mnist_train)
    x, y = np.concatenate([x, x_mnist]), np.concatenate([y, y_mnist])
    detector = fit(x, y, x_val, y_val)
    detector.save(out)
    said = detector.two_digits(x_val) >= detector.threshold
    singles, pairs = y_val == 0, y_val == 1
    return (f"fitted on writers {fit_writers} and MNIST: {int((y == 0).sum()):,} single groups, "
            f"{int((y == 1).sum()):,} touching pairs\n"
            f"validation writers {val_writers}: threshold {detector.threshold:.4f}; single digits read as pairs "
            f"{said[singles].mean():.3%} of {int(singles.sum()):,}; pairs found {said[pairs].mean():.2%} of "
            f"{int(pairs.sum()):,}\nwrote {out}")
