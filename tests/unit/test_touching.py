"""The touching-pair detector: its recipe's pairs really touch, its weights round-trip, the shipped one tells MNIST
test digits pushed together from MNIST test digits alone, and a corrupt file stops the server at load."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import ModelLoadError
from app.inference.registry import Registry
from app.pairs import PAIRS_FILE
from app.preprocess import to_mnist
from app.segment import label_runs
from app.touching import TOUCHING_FILE, TouchDetector, load_detector
from app.training import touching as recipe
from app.training.pen import HELD_OUT_WRITERS
from app.training.touching import MNIST_INK, push_together

SAMPLE = 300  # MNIST test digits (and as many pairs of them), a fixed sample


@pytest.mark.parametrize("drop", [-3, 0, 3])
def test_pushed_together_digits_touch_and_more_overlap_is_narrower(mnist, drop) -> None:
    left, right = mnist.x_test[0] / 255.0, mnist.x_test[1] / 255.0
    widths = []
    for overlap in (0, 2, 4):
        ink = push_together(left, right, overlap, drop) >= MNIST_INK
        _, count = label_runs(ink)
        assert count == 1, "the two digits' ink is one group"
        widths.append(int(ink.any(axis=0).sum()))
    assert widths[0] > widths[1] > widths[2]


def test_weights_round_trip_and_the_score_is_the_mlp(tmp_path) -> None:
    rng = np.random.default_rng(0)
    detector = TouchDetector(rng.normal(size=(784, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32),
                             rng.normal(size=(8, 1)).astype(np.float32), np.zeros(1, np.float32), threshold=0.7)
    detector.save(tmp_path / TOUCHING_FILE)
    loaded = load_detector(tmp_path)
    assert loaded is not None and loaded.threshold == pytest.approx(0.7)
    images = rng.random((5, 28, 28), dtype=np.float32)
    flat = images.reshape(5, -1)
    expected = 1 / (1 + np.exp(-(np.maximum(flat @ detector.hidden_weights + detector.hidden_bias, 0)
                                 @ detector.out_weights)[:, 0]))
    np.testing.assert_allclose(loaded.two_digits(images), expected, rtol=1e-5)
    assert load_detector(tmp_path / "elsewhere") is None  # no file: numbers are split by rule alone


def test_the_shipped_detector_tells_pairs_from_single_digits(registry, mnist) -> None:
    """MNIST's test digits were never fitted on (the recipe reads MNIST's training digits): alone they are
    rarely called two, pushed together (0-4 px of overlap) they mostly are."""
    detector = registry.touching
    assert detector is not None
    x = mnist.x_test[: 2 * SAMPLE] / 255.0
    singles = np.stack([to_mnist(np.pad(image, 2).astype(np.float32)) for image in x[:SAMPLE]])
    rng = np.random.default_rng(1)
    pairs = np.stack([to_mnist(push_together(x[i], x[SAMPLE + i], int(rng.integers(0, 5)),
                                             int(rng.integers(-3, 4)))) for i in range(SAMPLE)])
    single_rate = float(np.mean(detector.two_digits(singles) >= detector.threshold))
    pair_rate = float(np.mean(detector.two_digits(pairs) >= detector.threshold))
    assert single_rate <= 0.01, single_rate
    assert pair_rate >= 0.8, pair_rate


@pytest.mark.parametrize(("file_name", "what"), [(TOUCHING_FILE, "touching-pair detector"),
                                                  (PAIRS_FILE, "pair reader")])
def test_a_corrupt_number_model_stops_the_server_at_load(tmp_path, settings, file_name, what) -> None:
    """The detector, or the pair reader (app/pairs.py): both optional, neither may be broken."""
    for name in ("cnn.json", "cnn.keras"):
        (tmp_path / name).write_bytes((settings.models_dir / name).read_bytes())
    (tmp_path / file_name).write_bytes(b"not an npz")
    with pytest.raises(ModelLoadError, match=what):
        Registry.load(tmp_path, "cnn")


def test_the_recipe_draws_groups_of_both_kinds_and_never_a_held_out_writer(pen_digits, monkeypatch) -> None:
    monkeypatch.setattr(recipe, "SINGLES_PER_DIGIT", 1)
    monkeypatch.setattr(recipe, "PAIRS_PER_WRITER", 20)
    writer = min(d.writer for d in pen_digits if d.writer not in HELD_OUT_WRITERS)
    own = [d for d in pen_digits if d.writer == writer][:60]
    x, y = recipe.writer_examples(own, writer, seed=0)
    assert x.shape[1:] == (28, 28) and 0 <= x.min() and x.max() <= 1
    assert (y == 0).sum() >= 55 and (y == 1).sum() >= 15  # a digit may come out as two groups; a pair may not touch
    with pytest.raises(ValueError, match="held out"):
        recipe.writer_examples(pen_digits, min(HELD_OUT_WRITERS), seed=0)


def test_the_threshold_splits_no_more_single_digits_than_the_budget(monkeypatch) -> None:
    monkeypatch.setattr(recipe, "EPOCHS", 2)
    rng = np.random.default_rng(0)
    x = rng.random((600, 28, 28), dtype=np.float32)
    y = (x[:, :, 14:].mean(axis=(1, 2)) > x[:, :, :14].mean(axis=(1, 2))).astype(np.int8)  # learnable
    detector = recipe.fit(x[:400], y[:400], x[400:], y[400:])
    singles = detector.two_digits(x[400:][y[400:] == 0])
    assert np.mean(singles >= detector.threshold) <= recipe.SINGLE_SPLIT_BUDGET
