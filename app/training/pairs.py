"""The pair reader's recipe: a joined group of two touching digits → which two (the first digit, the second).

Examples are made the way the number evaluation makes touching pairs: two of one pen writer's digits pushed
together until their ink touches, then up to TOUCH_OVERLAP_PX further, drawn as the number pad draws them and
cut out as the segmentation finds the group; and MNIST training digits pushed together by the same rule (many
more styles than eighteen writers). Only training writers are fitted on, the validation writers report the
accuracy, the held-out writers are read only by `digit-lab evaluate --numbers`. Functional Keras model, fixed
seed; exported as numpy weights with batch normalisation folded into the convolutions (app/pairs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from app.pairs import PAIR_SHAPE, PairReader, pair_input
from app.preprocess import ink_image
from app.segment import _components, group_strokes
from app.training.numbers_eval import draw_number, number_cases, touch_shift
from app.training.pen import HELD_OUT_WRITERS, VALIDATION_WRITERS, PenDigit
from app.training.touching import pushed_pairs

PEN_PAIRS_PER_WRITER = 400
PEN_REPEATS = 3  # pen pairs are few next to MNIST's: each is seen this many times per epoch
MNIST_PAIRS = 60_000
FILTERS = (16, 32, 64)  # 3x3 convolutions, each with batch norm, ReLU and 2x2 pooling: 28x56 → 4x7
HIDDEN = 128
DROPOUT = 0.3
EPOCHS = 6
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SEED = 21


def writer_pairs(digits: Sequence[PenDigit], writer: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One writer's touching pairs that the segmentation finds as one group: (n, 28, 56) inputs, labels 10a + b."""
    if writer in HELD_OUT_WRITERS:
        raise ValueError(f"writer {writer} is held out for evaluation and may not be trained or tuned on")
    images, labels = [], []
    for case in number_cases(digits, 0, count, seed=seed, writers=frozenset({writer})):
        groups = group_strokes(_components(ink_image(draw_number(digits, case, touch_shift(digits, case)))))
        if len(groups) != 1:  # the two inks did not come out as one group: the reader is never asked
            continue
        images.append(pair_input(groups[0].ink))
        first, second = (digits[i].label for i in case.indices)
        labels.append(10 * first + second)
    return np.asarray(images, dtype=np.float32).reshape(-1, *PAIR_SHAPE), np.asarray(labels, dtype=np.int64)


def pen_pairs(digits: Sequence[PenDigit], writers: Sequence[int], count: int,
              workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """All the writers' pairs, one process per writer at a time (drawing is the slow part)."""
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(writer_pairs, [digits] * len(writers), writers, [count] * len(writers),
                              [SEED * 1000 + w for w in writers]))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def mnist_pairs(images: np.ndarray, labels: np.ndarray, count: int, seed: int = SEED) -> tuple[np.ndarray,
                                                                                                np.ndarray]:
    """`count` pairs of MNIST digits pushed together as the detector's recipe pushes them, each as the pair
    reader's input."""
    rng = np.random.default_rng(seed)
    out, classes = [], []
    for pair, first, second in pushed_pairs(images, count, rng):
        out.append(pair_input(pair))
        classes.append(10 * int(labels[first]) + int(labels[second]))
    return np.asarray(out, dtype=np.float32), np.asarray(classes, dtype=np.int64)


def build():
    """Functional Keras model: FILTERS convolutions (no bias: batch norm follows), a dense layer, two heads."""
    import keras

    inputs = keras.Input((*PAIR_SHAPE, 1))
    x = inputs
    for i, filters in enumerate(FILTERS):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"norm_{i}")(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(HIDDEN, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(DROPOUT, seed=SEED)(x)
    first = keras.layers.Dense(10, activation="softmax", name="first")(x)
    second = keras.layers.Dense(10, activation="softmax", name="second")(x)
    return keras.Model(inputs, [first, second], name="pair_reader")


def to_numpy(model) -> PairReader:
    """The trained model's weights for app/pairs.py, batch normalisation folded into each convolution."""
    kernels, biases = [], []
    for i in range(len(FILTERS)):
        (kernel,) = model.get_layer(f"conv_{i}").get_weights()
        norm = model.get_layer(f"norm_{i}")
        gamma, beta, mean, variance = norm.get_weights()
        scale = gamma / np.sqrt(variance + norm.epsilon)
        kernels.append((kernel * scale).astype(np.float32))
        biases.append((beta - mean * scale).astype(np.float32))
    hidden_weights, hidden_bias = model.get_layer("hidden").get_weights()
    (first_weights, first_bias), (second_weights, second_bias) = (model.get_layer(name).get_weights()
                                                                  for name in ("first", "second"))
    out_weights, out_bias = np.concatenate([first_weights, second_weights], axis=1), np.concatenate(
        [first_bias, second_bias])
    return PairReader(kernels, biases, hidden_weights.astype(np.float32), hidden_bias.astype(np.float32),
                      out_weights.astype(np.float32), out_bias.astype(np.float32))


def examples(digits: Sequence[PenDigit], mnist_images: np.ndarray, mnist_labels: np.ndarray,
             workers: int = 2) -> tuple[np.ndarray, ...]:
    """(x, y) to fit on: MNIST pairs and the training writers' pairs, PEN_REPEATS times; (x_val, y_val): the
    validation writers' pairs. Labels 10a + b."""
    writers = sorted({d.writer for d in digits} - HELD_OUT_WRITERS)
    x_pen, y_pen = pen_pairs(digits, [w for w in writers if w not in VALIDATION_WRITERS], PEN_PAIRS_PER_WRITER,
                             workers)
    x_val, y_val = pen_pairs(digits, [w for w in writers if w in VALIDATION_WRITERS], PEN_PAIRS_PER_WRITER, workers)
    x_mnist, y_mnist = mnist_pairs(mnist_images, mnist_labels, MNIST_PAIRS)
    return (np.concatenate([x_mnist] + [x_pen] * PEN_REPEATS), np.concatenate([y_mnist] + [y_pen] * PEN_REPEATS),
            x_val, y_val)


def fit(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, epochs: int = EPOCHS) -> PairReader:
    """Both heads trained together (the sum of their cross-entropies), Adam with cosine decay; numpy weights."""
    import keras

    keras.utils.set_random_seed(SEED)
    model = build()
    steps = epochs * int(np.ceil(len(x) / BATCH_SIZE))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
                  loss=["sparse_categorical_crossentropy"] * 2, metrics=[["accuracy"], ["accuracy"]])
    model.fit(x[..., np.newaxis], (y // 10, y % 10), epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=2,
              validation_data=(x_val[..., np.newaxis], (y_val // 10, y_val % 10)))
    return to_numpy(model)


def train_pair_reader(digits: Sequence[PenDigit], mnist_images: np.ndarray, mnist_labels: np.ndarray, out: Path,
                      workers: int = 2) -> str:
    """Draw, fit, save `out` (npz); returns a report of the validation writers' accuracy."""
    x, y, x_val, y_val = examples(digits, mnist_images, mnist_labels, workers)
    reader = fit(x, y, x_val, y_val)
    reader.save(out)
    read = reader.read(x_val).reshape(len(x_val), 100).argmax(axis=1)
    return (f"fitted on {len(y):,} pairs (MNIST's and the training writers'); validation writers "
            f"{sorted(VALIDATION_WRITERS)}: both digits right {np.mean(read == y_val):.2%} of {len(y_val):,} pen "
            f"pairs\nwrote {out}")
