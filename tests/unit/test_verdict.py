"""The verdict's rules, one by one, on inputs made through the real preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from app.modeling.card import VerdictThresholds
from app.preprocess import to_mnist
from app.training.evaluate import prepare
from app.training.pen import render
from app.verdict import decide, shape_reason

THRESHOLDS = VerdictThresholds(not_digit_below=0.4, unsure_below=0.9, fitted_on="test")


def drawn(*strokes: list[tuple[float, float]], pen: float | None = None) -> np.ndarray:
    return to_mnist(render([np.asarray(s, dtype=float) for s in strokes], pen=pen))


def confident(digit: int) -> np.ndarray:
    p = np.full(10, 0.001)
    p[digit] = 1 - p.sum() + p[digit]
    return p


def test_a_dot_is_a_blob_not_a_digit() -> None:
    image = drawn([(0.5, 0.5)], pen=0.09)
    assert shape_reason(image) == "blob"
    assert decide(image, confident(0), THRESHOLDS).verdict == "not-a-digit"


@pytest.mark.parametrize("stroke", [[(0.2, 0.5), (0.8, 0.5)], [(0.2, 0.7), (0.8, 0.3)], [(0.2, 0.3), (0.8, 0.55)]])
def test_a_straight_stroke_away_from_upright_is_not_a_digit(stroke) -> None:
    assert shape_reason(drawn(stroke)) == "straight-line"


def test_an_upright_stroke_may_be_a_one() -> None:
    assert shape_reason(drawn([(0.5, 0.15), (0.5, 0.85)])) is None
    assert shape_reason(drawn([(0.6, 0.15), (0.45, 0.85)])) is None  # slanted about 12 degrees


def test_two_digits_side_by_side_are_several_shapes(mnist) -> None:
    pair = np.hstack([mnist.x_test[0], np.zeros((28, 4), np.uint8), mnist.x_test[1]])
    assert shape_reason(to_mnist(pair)) == "several-shapes"
    assert decide(to_mnist(pair), confident(7), THRESHOLDS).reason == "several-shapes"


def test_real_digits_pass_the_shape_checks(mnist) -> None:
    """The shape rules must almost never fire on real digits (1,000 MNIST test digits)."""
    reasons = [shape_reason(image[..., 0]) for image in prepare(mnist.x_test[:1000])]
    assert sum(r is not None for r in reasons) <= 2, [r for r in reasons if r]


def test_thresholds_split_digit_unsure_not_a_digit(mnist) -> None:
    image = prepare(mnist.x_test[:1])[0, ..., 0]
    assert decide(image, confident(7), THRESHOLDS).verdict == "digit"
    unsure = np.array([0.02, 0.5, 0.02, 0.02, 0.02, 0.02, 0.02, 0.3, 0.04, 0.04])
    decision = decide(image, unsure, THRESHOLDS)
    assert decision.verdict == "unsure"
    assert [d for d, _ in decision.alternatives] == [1, 7]  # 0.04 is under the floor for a third
    flat = np.full(10, 0.1)
    assert decide(image, flat, THRESHOLDS).verdict == "not-a-digit"
    assert decide(image, flat, None).verdict == "not-a-digit"  # the fallback thresholds for uncalibrated models


def test_erosion_keeps_exactly_the_pixels_whose_whole_window_is_ink() -> None:
    """The integral-image erosion against the definition, pixel by pixel, on random masks of every density."""
    from app.verdict import _eroded

    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = rng.random((28, 28)) < rng.random()
        padded = np.pad(mask, 3)
        expected = np.array([[padded[r : r + 7, c : c + 7].all() for c in range(28)] for r in range(28)])
        assert (_eroded(mask, 3) == expected).all()
