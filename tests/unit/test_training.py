"""The training recipe and its recording machinery, on tiny slices (the real runs are committed in models/)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import keras
import numpy as np
import pytest

from app.config import Settings
from app.inference.keras_runtime import KerasRuntime
from app.modeling.card import ModelCard
from app.modeling.family import MLP_DEPTH, SPECS, build_cnn, build_mlp, multiply_adds
from app.modeling.layers import Maxout
from app.training.data import load_mnist, read_idx
from app.training.probes import dead_fraction, gradient_norms, saturated_fraction
from app.training.train import train


def test_idx_reader_matches_published_shapes(mnist) -> None:
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    assert np.bincount(mnist.y_test).tolist()[:3] == [980, 1135, 1032]  # MNIST's published class counts
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255


def test_idx_reader_rejects_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad-idx.gz"
    path.write_bytes(gzip.compress(struct.pack(">HBB", 0, 0x0D, 1) + struct.pack(">I", 1) + b"\0" * 4))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_npz_source_equals_idx_source(mnist, tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=mnist.x_train[:50], y_train=mnist.y_train[:50], x_test=mnist.x_test[:20],
             y_test=mnist.y_test[:20])
    loaded = load_mnist(path)
    assert np.array_equal(loaded.x_test, mnist.x_test[:20]) and np.array_equal(loaded.y_train, mnist.y_train[:50])


def test_maxout_is_the_max_of_its_linear_pieces() -> None:
    layer = Maxout(units=3, pieces=2)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    y = np.asarray(layer(x))
    pieces = (x @ np.asarray(layer.kernel) + np.asarray(layer.bias)).reshape(4, 3, 2)
    assert np.allclose(y, pieces.max(axis=-1), atol=1e-6)
    restored = Maxout.from_config(layer.get_config())
    assert (restored.units, restored.pieces) == (3, 2)


def test_dead_fraction_counts_units_never_positive() -> None:
    activations = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    assert dead_fraction(activations) == 0.5  # units 0 and 2 never fire


def test_saturation_uses_the_derivative() -> None:
    sigmoid = np.array([0.5, 0.99, 0.001, 0.7])  # derivative/peak: 1, 0.04, 0.004, 0.84
    assert saturated_fraction(sigmoid, "sigmoid") == 0.5
    tanh = np.array([0.0, 0.99, -0.999, 0.5])  # 1 - a²: 1, 0.02, 0.002, 0.75
    assert saturated_fraction(tanh, "tanh") == 0.5


def test_sigmoid_gradients_shrink_towards_the_input(mnist) -> None:
    """The vanishing gradient, measured by our probe on a freshly initialised deep sigmoid MLP."""
    model = build_mlp("sigmoid", seed=1)
    x = mnist.x_train[:256, ..., None].astype("float32") / 255
    norms = gradient_norms(model, x, mnist.y_train[:256])
    assert list(norms) == [f"hidden_{i}" for i in range(1, MLP_DEPTH + 1)]
    relu_norms = gradient_norms(build_mlp("relu", seed=1), x, mnist.y_train[:256])
    sigmoid_ratio = norms["hidden_1"] / norms[f"hidden_{MLP_DEPTH}"]
    relu_ratio = relu_norms["hidden_1"] / relu_norms[f"hidden_{MLP_DEPTH}"]
    assert sigmoid_ratio < 0.1 < relu_ratio


@pytest.mark.parametrize("model_id", ["cnn", "relu", "sigmoid", "maxout"])
def test_training_smoke_writes_a_loadable_model_and_full_card(mnist, tmp_path: Path, model_id: str) -> None:
    card = train(SPECS[model_id], mnist, tmp_path, epochs=1, train_limit=1200, test_limit=300, verbose=0)
    assert (tmp_path / f"{model_id}.keras").exists()
    assert ModelCard.read(tmp_path / f"{model_id}.json") == card
    assert [record.epoch for record in card.history] == [0, 1]
    assert card.history[1].val_accuracy is not None and 0.0 <= card.test_accuracy <= 1.0
    assert sum(map(sum, card.confusion_matrix)) == 300 and len(card.per_class_accuracy) == 10
    assert set(card.history[1].grad_norms) and all(v >= 0 for v in card.history[1].grad_norms.values())
    if model_id in ("relu", "cnn"):
        assert set(card.history[1].dead_fraction) == set(card.history[1].grad_norms)
    if model_id == "sigmoid":
        assert set(card.history[1].saturated_fraction) == set(card.history[1].grad_norms)
    assert card.data_checksum.startswith("sha256:") and card.versions["keras"] == keras.__version__
    runtime = KerasRuntime(tmp_path / f"{model_id}.keras")
    probabilities = runtime.predict(np.zeros((2, 28, 28, 1), dtype="float32"))
    assert probabilities.shape == (2, 10) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_shipped_cnn_is_the_recipe_and_stays_cheap(settings: Settings) -> None:
    """The committed default model is what family.py builds, under 1 M parameters (issue 2) and about 4 M
    multiply-adds per image: inference is a small part of a request's time (the first default cost 18.7 M)."""
    model = keras.models.load_model(settings.models_dir / "cnn.keras", compile=False)
    recipe = build_cnn(seed=0)
    assert [layer.name for layer in model.layers] == [layer.name for layer in recipe.layers]
    assert model.count_params() == recipe.count_params() < 1_000_000
    assert ModelCard.read(settings.models_dir / "cnn.json").parameters == model.count_params()
    assert multiply_adds(model) == multiply_adds(recipe) < 5_000_000
    # the count itself, checked by hand on the first conv: 28x28 outputs x 16 filters x 3x3 kernel x 1 channel
    first = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, padding="same")])
    assert multiply_adds(first) == 28 * 28 * 16 * 9


def test_augmentation_keeps_digits_crisp_bright_and_varied(mnist) -> None:
    import tensorflow as tf

    from app.training.augment import augment_dataset

    x = (mnist.x_train[:64, ..., None] / 255).astype("float32")
    batches = augment_dataset(tf.data.Dataset.from_tensor_slices((x, mnist.y_train[:64])).batch(64).repeat(2), 7)
    first, second = (np.asarray(images) for images, _ in batches)
    assert first.shape == x.shape and first.min() >= 0 and np.allclose(first.max(axis=(1, 2, 3)), 1.0)
    assert not np.allclose(first, second)  # a new random draw for every batch
    # One resampling, not four: measured on 256 digits, the share of nearly-white ink pixels falls from 0.50
    # to 0.24 with this augmentation, but to 0.11 with four chained Keras Random* layers.
    bright = lambda images: float(np.mean(images[images > 0.1] > 0.9))  # noqa: E731
    assert bright(first) > 0.4 * bright(x)
