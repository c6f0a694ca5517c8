"""Pen digits: the writer split, the page's drawing rule, and training never reading the held-out writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import app.training.train as training
from app.modeling.family import SPECS
from app.modeling.pen import PAD_PEN, SENT_PEN_MIN
from app.preprocess import to_mnist
from app.training.pen import (
    HELD_OUT_WRITERS,
    VALIDATION_WRITERS,
    draw_for_training,
    place,
    render,
    sent_pen_width,
    training_digits,
    writers_split,
)
from tests.conftest import PEN_DIR


def test_the_split_is_by_writer_and_covers_everyone(pen_digits) -> None:
    train, validation, held_out = writers_split(pen_digits)
    writers = [{d.writer for d in part} for part in (train, validation, held_out)]
    assert writers[2] == set(HELD_OUT_WRITERS) and len(HELD_OUT_WRITERS) >= 8
    assert writers[1] == set(VALIDATION_WRITERS)
    assert not (writers[0] & writers[1] or writers[0] & writers[2] or writers[1] & writers[2])
    assert len(train) + len(validation) + len(held_out) == len(pen_digits) == 7494
    assert {d.label for d in held_out} == set(range(10))


def test_training_digits_hold_no_held_out_writer() -> None:
    train, validation = training_digits(PEN_DIR)
    assert not {d.writer for d in train + validation} & HELD_OUT_WRITERS


def test_drawing_a_held_out_digit_for_training_is_refused(pen_digits) -> None:
    held_out = [d for d in pen_digits if d.writer in HELD_OUT_WRITERS][:1]
    with pytest.raises(ValueError, match="held out"):
        draw_for_training(held_out, 1, seed=0)


def test_training_never_reads_the_held_out_writers(mnist, pen_digits, tmp_path: Path, monkeypatch) -> None:
    """Every pen digit that reaches the training recipe is recorded: none is a held-out writer's."""
    seen: list[int] = []
    real = training.draw_for_training

    def spy(digits, renders, seed):
        seen.extend(d.writer for d in digits)
        return real(digits, renders, seed)

    monkeypatch.setattr(training, "draw_for_training", spy)
    card = training.train(SPECS["cnn"], mnist, tmp_path, epochs=1, train_limit=300, test_limit=200, verbose=0,
                          pen_data=PEN_DIR)
    assert seen and not set(seen) & HELD_OUT_WRITERS
    assert card.calibration is not None and card.calibration.temperature > 0
    assert card.verdict is not None and 0 < card.verdict.not_digit_below <= card.verdict.unsure_below < 1
    assert any("pen digits" in line for line in card.trained_on)


def test_the_sent_pen_follows_the_drawing_size() -> None:
    """A small digit gets a thin pen, so after scaling to MNIST's box its strokes are as thick as a big one's."""
    one = [np.array([[0.0, 0.0], [0.3, 0.2], [0.1, 1.0]])]
    small, big = place(one, 0.25), place(one, 0.85)
    assert sent_pen_width(small) < sent_pen_width(big) <= PAD_PEN
    assert sent_pen_width([np.array([[0.5, 0.5]])]) == SENT_PEN_MIN
    ink = [float((to_mnist(render(s)) > 0.5).sum()) for s in (small, big)]
    assert abs(ink[0] - ink[1]) < 0.25 * ink[1], ink


def test_both_polarities_give_the_same_input() -> None:
    strokes = place([np.array([[0.0, 0.0], [1.0, 0.0], [0.2, 1.0]])], 0.6, (0.4, 0.55))
    assert np.allclose(to_mnist(render(strokes)), to_mnist(render(strokes, invert=True)), atol=1e-6)
