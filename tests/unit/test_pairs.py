"""The pair reader: its numpy forward pass is the Keras model's, its input keeps a pair's shape, the shipped one reads
MNIST test digits pushed together, and the segmentation follows it when choosing a cut (a corrupt file:
test_touching.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.pairs import PAIR_BOX, PAIR_SHAPE, PAIRS_FILE, load_pair_reader, pair_input
from app.segment import PAIR_TRUST, _choose, _Group
from app.training import pairs as recipe
from app.training.numbers_eval import evaluate_numbers, number_cases
from app.training.pen import HELD_OUT_WRITERS
from app.training.touching import push_together

SAMPLE = 300  # MNIST test pairs, a fixed sample


def test_the_numpy_forward_pass_is_the_keras_model_with_batch_norm_folded_in(tmp_path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = recipe.build()
    rng = np.random.default_rng(0)
    for i in range(len(recipe.FILTERS)):  # statistics far from the initial (0, 1), so folding them matters
        norm = model.get_layer(f"norm_{i}")
        gamma, beta, mean, variance = norm.get_weights()
        norm.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                          rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])
    x = rng.random((4, *PAIR_SHAPE), dtype=np.float32)
    first, second = model.predict(x[..., np.newaxis], verbose=0)
    recipe.to_numpy(model).save(tmp_path / PAIRS_FILE)
    reader = load_pair_reader(tmp_path)
    assert reader is not None
    got = reader.read(x)
    assert got.shape == (4, 10, 10)
    np.testing.assert_allclose(got, first[:, :, np.newaxis] * second[:, np.newaxis, :], atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert load_pair_reader(tmp_path / "elsewhere") is None


def test_the_input_keeps_the_pairs_aspect_and_fills_the_box() -> None:
    wide = np.zeros((30, 90), dtype=np.float32)
    wide[5:25, 10:80] = 0.5  # 20 rows x 70 columns of ink: wider than the box allows at full height
    field = pair_input(wide)
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    assert field.shape == PAIR_SHAPE and field.max() == pytest.approx(1.0)
    assert cols.size == PAIR_BOX[1] and rows.size < PAIR_BOX[0]  # limited by the width, aspect kept
    assert abs((rows[0] + rows[-1]) / 2 - (PAIR_SHAPE[0] - 1) / 2) <= 1  # centred
    assert abs((cols[0] + cols[-1]) / 2 - (PAIR_SHAPE[1] - 1) / 2) <= 1


def test_the_shipped_reader_reads_mnist_test_digits_pushed_together(registry, mnist) -> None:
    """MNIST's test digits were never fitted on (the recipe reads MNIST's training digits)."""
    reader = registry.pairs
    assert reader is not None, "models/pairs.npz is shipped"
    rng = np.random.default_rng(3)
    x, y = mnist.x_test[: 2 * SAMPLE] / 255.0, mnist.y_test[: 2 * SAMPLE]
    inputs = np.stack([pair_input(push_together(x[i], x[SAMPLE + i], int(rng.integers(0, 5)),
                                                int(rng.integers(-3, 4)))) for i in range(SAMPLE)])
    read = reader.read(inputs).reshape(SAMPLE, 100).argmax(axis=1)
    right = np.mean(read == 10 * y[:SAMPLE] + y[SAMPLE:])
    assert right >= 0.9, right


class _Reading:
    """A stand-in reader whose (10, 10) reading of any group is fixed."""

    def __init__(self, both: np.ndarray) -> None:
        self.both = both

    def read(self, inputs: np.ndarray) -> np.ndarray:
        return np.repeat(self.both[np.newaxis], len(inputs), axis=0)


def _sure_of(first: int, second: int) -> _Reading:
    """A stand-in reader that is sure the group is `first` then `second`."""
    both = np.full((10, 10), 1e-4)
    both[first, second] = 1.0
    return _Reading(both)


def _answer(digit: int, sure: float) -> np.ndarray:
    out = np.full(10, (1 - sure) / 9)
    out[digit] = sure
    return out


def test_the_cut_kept_is_the_one_the_pair_reading_agrees_with() -> None:
    group = _Group((0, 0, 40, 20), np.ones((20, 40), dtype=np.float32))
    options = [("first cut", "its right part"), ("second cut", "its right part")]
    answers = np.stack([_answer(1, 0.99), _answer(7, 0.99), _answer(3, 0.8), _answer(5, 0.8)])
    whole = _answer(0, 0.9)
    chosen, _ = _choose(group, whole, options, answers, touching=True, detector=None, pairs=None)
    assert chosen == options[0]  # the parts alone: the surer cut
    chosen, chosen_answers = _choose(group, whole, options, answers, touching=True, detector=None, pairs=_sure_of(3, 5))
    assert chosen == options[1] and [int(a.argmax()) for a in chosen_answers] == [3, 5]


def test_a_cut_that_reads_what_the_pair_reader_is_sure_of_is_kept() -> None:
    """Cut A's parts are read surely as 3 and 5, cut B's unsurely as 8 and 6. The pair reader gives "35" 0.1 and
    "86" 0.65: the ranking (sureness x agreement) prefers A, but a reading of the whole that sure picks B."""
    group = _Group((0, 0, 40, 30), np.ones((30, 40), np.float32))
    part = _Group((0, 0, 20, 30), np.ones((30, 20), np.float32))
    options = [(part, part), (part, part)]
    answers = np.stack([_answer(3, 0.99), _answer(5, 0.99), _answer(8, 0.3), _answer(6, 0.3)])
    both = np.full((10, 10), 0.25 / 98)
    both[3, 5], both[8, 6] = 0.1, 0.65
    assert both[8, 6] >= PAIR_TRUST
    whole = _answer(0, 0.99)
    chosen = _choose(group, whole, options, answers, True, None, _Reading(both))
    assert [int(a.argmax()) for a in chosen[1]] == [8, 6]
    both[8, 6], both[3, 5] = PAIR_TRUST - 0.05, 0.1 + 0.05 + 0.65 - PAIR_TRUST  # not sure enough: the ranking decides
    chosen = _choose(group, whole, options, answers, True, None, _Reading(both))
    assert [int(a.argmax()) for a in chosen[1]] == [3, 5]


def test_held_out_touching_pairs_are_read_better_with_the_pair_reader(registry, pen_digits) -> None:
    """80 touching pairs of the held-out writers (a fixed sample), read as the server reads them, with and without
    the shipped pair reader (docs/numbers.md has the full evaluation)."""
    runtime = registry.models[registry.default].runtime
    cases = number_cases(pen_digits, 0, 10, seed=7)

    def both_right(pairs) -> float:
        return evaluate_numbers(lambda batch: runtime.predict(batch[..., np.newaxis]), pen_digits, cases,
                                detector=registry.touching, pairs=pairs).number_right(touching=True)

    with_reader, without = both_right(registry.pairs), both_right(None)
    assert with_reader > without and with_reader >= 0.85, (with_reader, without)


def test_the_recipe_draws_labelled_pairs_and_never_a_held_out_writer(pen_digits) -> None:
    writer = min(d.writer for d in pen_digits if d.writer not in HELD_OUT_WRITERS)
    own = [d for d in pen_digits if d.writer == writer][:60]
    x, y = recipe.writer_pairs(own, writer, 10, seed=0)
    assert x.shape[1:] == PAIR_SHAPE and len(x) == len(y) >= 8  # a pair whose inks stay apart is left out
    assert set(y.tolist()) <= {10 * a.label + b.label for a in own for b in own}
    with pytest.raises(ValueError, match="held out"):
        recipe.writer_pairs(pen_digits, min(HELD_OUT_WRITERS), 10, seed=0)
