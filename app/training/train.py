"""The training recipe, top to bottom: data → split → model → fit → test → save model and card."""

from __future__ import annotations

import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np
import PIL
import tensorflow as tf

from app.export import export_model
from app.modeling.card import Calibration, EpochRecord, ModelCard, VerdictThresholds
from app.modeling.family import CLASSES, ModelSpec, build
from app.training import calibrate
from app.training.augment import augment_dataset
from app.training.data import Mnist
from app.training.evaluate import evaluate, prepare
from app.training.outliers import training_outliers
from app.training.pen import draw_for_training, training_digits
from app.training.probes import ActivationProbe

SEED = 1234
VALIDATION_FRACTION = 0.1
PROBE_TRAIN_BATCH = 1024  # examples used to measure gradient norms each epoch
PROBE_VAL_BATCH = 1000  # examples used to count dead or saturated units
TARGET_VAL_ACCURACY = 0.97
# Real handwriting (specs with real_handwriting): each training writer's pen digit drawn this many times;
# non-digits as a share of the digit images, and their weight in the loss (Hendrycks et al. use 0.5).
PEN_RENDERS = 4
OUTLIER_SHARE = 0.2
OUTLIER_WEIGHT = 0.5


def split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Shuffle once with the seed, hold out VALIDATION_FRACTION for validation."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(len(x) * VALIDATION_FRACTION))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def make_optimizer(spec: ModelSpec, steps: int) -> keras.optimizers.Optimizer:
    """Adam with cosine decay (the CNN, and the MLPs' Adam contrast); plain SGD, constant rate, for the family."""
    if spec.optimizer == "adam":
        schedule = keras.optimizers.schedules.CosineDecay(spec.learning_rate, decay_steps=steps, alpha=0.01)
        return keras.optimizers.Adam(schedule)
    return keras.optimizers.SGD(spec.learning_rate)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs["seconds"] = time.perf_counter() - self.started


def architecture_lines(model: keras.Model) -> list[str]:
    return [
        f"{layer.name}: {type(layer).__name__} {tuple(layer.output.shape[1:])} {layer.count_params():,} params"
        for layer in model.layers
    ]


def calibrate_and_fit_verdict(model: keras.Model, x_val: np.ndarray, y_val: np.ndarray, x_test: np.ndarray,
                              y_test: np.ndarray) -> tuple[Calibration, VerdictThresholds]:
    """Fit the temperature on the validation digits, bake it in, then fit the verdict thresholds on them."""
    val_logits, test_logits = calibrate.logits_of(model, x_val), calibrate.logits_of(model, x_test)
    temperature = calibrate.fit_temperature(val_logits, y_val)
    before = {"validation": calibrate.expected_calibration_error(calibrate.softmax(val_logits), y_val),
              "mnist_test": calibrate.expected_calibration_error(calibrate.softmax(test_logits), y_test)}
    calibrate.bake_temperature(model, temperature)
    val_probabilities = model.predict(x_val, batch_size=1000, verbose=0)
    after = {"validation": calibrate.expected_calibration_error(val_probabilities, y_val),
             "mnist_test": calibrate.expected_calibration_error(model.predict(x_test, batch_size=1000, verbose=0),
                                                               y_test)}
    not_digit, unsure = calibrate.verdict_thresholds(val_probabilities, y_val)
    where = f"validation digits ({len(x_val):,}: MNIST's validation split and the validation pen writers)"
    return (Calibration(temperature=round(temperature, 4), fitted_on=where, ece_before=before, ece_after=after),
            VerdictThresholds(not_digit_below=round(not_digit, 4), unsure_below=round(unsure, 4), fitted_on=where))


def train(
    spec: ModelSpec,
    data: Mnist,
    out_dir: Path,
    *,
    seed: int = SEED,
    epochs: int | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    verbose: int = 2,
    pen_data: Path | None = None,
) -> ModelCard:
    """Train one family member, evaluate it on the test set, write `<id>.keras` and `<id>.json`."""
    epochs = epochs or spec.epochs
    keras.utils.set_random_seed(seed)

    # Data: the same preprocessing as serving, so training sees what the server will feed the model.
    images = prepare(data.x_train[:train_limit])
    x_train, y_train, x_val, y_val = split(images, data.y_train[:train_limit], seed)
    trained_on = []
    if spec.real_handwriting and pen_data is not None:
        pen_train, pen_validation = training_digits(pen_data)
        x_pen, y_pen = draw_for_training(pen_train[:train_limit], PEN_RENDERS, seed)
        x_pen_val, y_pen_val = draw_for_training(pen_validation[:train_limit], 1, seed + 1)
        x_train, y_train = np.concatenate([x_train, x_pen[..., None]]), np.concatenate([y_train, y_pen])
        x_val, y_val = np.concatenate([x_val, x_pen_val[..., None]]), np.concatenate([y_val, y_pen_val])
        trained_on.append(f"pen digits of {len({d.writer for d in pen_train})} writers x {PEN_RENDERS} drawings "
                          f"({pen_data.name}); validation: {len({d.writer for d in pen_validation})} other writers")
    targets = keras.utils.to_categorical(y_train, CLASSES)
    weights = np.ones(len(x_train), dtype=np.float32)
    if spec.real_handwriting:
        outliers = training_outliers(int(len(x_train) * OUTLIER_SHARE), data.x_train[:train_limit], seed)
        x_train = np.concatenate([x_train, outliers[..., None]])
        targets = np.concatenate([targets, np.full((len(outliers), CLASSES), 1 / CLASSES, dtype=np.float32)])
        weights = np.concatenate([weights, np.full(len(outliers), OUTLIER_WEIGHT, dtype=np.float32)])
        trained_on.append(f"{len(outliers):,} non-digits (fonts, scribbles, lines, dots, digit pairs) with a "
                          f"uniform target, weight {OUTLIER_WEIGHT}")
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, targets, weights)).shuffle(len(x_train), seed=seed)
    train_ds = train_ds.batch(spec.batch_size)
    if spec.augment:
        train_ds = augment_dataset(train_ds, seed)
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)

    # Model.
    model = build(spec, seed)
    steps = epochs * int(np.ceil(len(x_train) / spec.batch_size))
    model.compile(
        optimizer=make_optimizer(spec, steps),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    probe = ActivationProbe(
        spec.activation, (x_train[:PROBE_TRAIN_BATCH], y_train[:PROBE_TRAIN_BATCH]), x_val[:PROBE_VAL_BATCH]
    )

    # Fit.
    started = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=(x_val, keras.utils.to_categorical(y_val, CLASSES)), epochs=epochs,
        shuffle=False,  # already shuffled
        callbacks=[EpochTimer(), probe], verbose=verbose,
    )
    training_seconds = time.perf_counter() - started

    # Calibrate on the validation digits; the verdict's thresholds from the same, after calibration.
    x_test = prepare(data.x_test[:test_limit])
    calibration = verdict = None
    if spec.real_handwriting:
        calibration, verdict = calibrate_and_fit_verdict(model, x_val, y_val, x_test, data.y_test[:test_limit])

    # Test, on the full test set unless a slice was asked for.
    result = evaluate(model, x_test, data.y_test[:test_limit])
    if verbose:
        print(f"{spec.id}: test {result.report()}", file=sys.stderr)

    records = [EpochRecord(**probe.records[0])]
    for epoch in range(epochs):
        logs = {key: float(values[epoch]) for key, values in history.history.items()}
        records.append(EpochRecord(**probe.records[epoch + 1], **logs))
    reached = [r.epoch for r in records if r.val_accuracy is not None and r.val_accuracy >= TARGET_VAL_ACCURACY]

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{spec.id}.keras")
    card = ModelCard(
        id=spec.id,
        title=spec.title,
        kind=spec.kind,
        activation=spec.activation,
        architecture=architecture_lines(model),
        parameters=model.count_params(),
        optimizer=spec.optimizer,
        learning_rate=spec.learning_rate,
        batch_size=spec.batch_size,
        augmented=spec.augment,
        epochs=epochs,
        seed=seed,
        test_accuracy=result.accuracy,
        per_class_accuracy=result.per_class_accuracy,
        confusion_matrix=result.confusion_matrix,
        epochs_to_97=reached[0] if reached else None,
        training_seconds=round(training_seconds, 1),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data_source=data.source,
        data_checksum=data.checksum,
        versions={
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
        },
        history=records,
        trained_on=trained_on,
        calibration=calibration,
        verdict=verdict,
    )
    card.write(out_dir / f"{spec.id}.json")
    export_model(out_dir / f"{spec.id}.keras", model=model)  # the LiteRT twin (DIGIT_LAB_RUNTIME=litert)
    return card
