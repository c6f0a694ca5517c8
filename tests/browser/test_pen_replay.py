"""Real handwriting on the real page: held-out writers' pen strokes replayed as pointer strokes in Chromium.

A fixed sample of 200 digits (20 of each class) from the writers the model never saw, drawn at the four
evaluation sizes in turn, off-centre, point by point as the pen recorded them; the page draws, sends and shows
its answer as it would for a person."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.training.pen import EVAL_SIZES, load_pen_digits, place, writers_split
from tests.browser.drawing import pad_box, settle, to_page
from tests.conftest import PEN_DIR, skip_or_fail

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PER_CLASS = 20
REQUIRED = 0.99
SEED = 7


def sample() -> list:
    if not PEN_DIR.is_dir():
        skip_or_fail(f"pen digits not found in {PEN_DIR} (set DIGIT_LAB_PEN)")
    _, _, held_out = writers_split(load_pen_digits(PEN_DIR))
    rng = np.random.default_rng(SEED)
    chosen = []
    for label in range(10):
        of_class = [d for d in held_out if d.label == label]
        chosen += [of_class[i] for i in rng.choice(len(of_class), PER_CLASS, replace=False)]
    return chosen


def test_held_out_pen_digits_replayed_on_the_page(open_page, artifacts):
    digits = sample()
    page = open_page("/")
    box = pad_box(page)
    rng = np.random.default_rng(SEED)
    wrong = []
    for n, digit in enumerate(digits):
        page.keyboard.press("Escape")  # clear
        size = EVAL_SIZES[n % len(EVAL_SIZES)]
        points = np.concatenate(digit.strokes)
        aspect = float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-6))
        height = min(size, 0.96 / aspect)
        half_w, half_h = height * aspect / 2, height / 2
        centre = (rng.uniform(half_w + 0.02, 1 - half_w - 0.02), rng.uniform(half_h + 0.02, 1 - half_h - 0.02))
        for stroke in place(digit.strokes, height, centre):
            page.mouse.move(*to_page(box, stroke[0]))
            page.mouse.down()
            for point in stroke[1:]:
                page.mouse.move(*to_page(box, point))
            page.mouse.up()
        settle(page)
        read = page.get_by_test_id("prediction").inner_text().strip()
        if read != str(digit.label):
            wrong.append({"label": digit.label, "read": read, "writer": digit.writer, "sample": digit.sample,
                          "size": size})
            page.screenshot(path=artifacts / f"pen-wrong-{len(wrong)}.png")
    accuracy = 1 - len(wrong) / len(digits)
    (artifacts / "pen-replay.json").write_text(json.dumps({"accuracy": accuracy, "wrong": wrong}, indent=1))
    print(f"held-out pen digits replayed on the page: {accuracy:.1%} of {len(digits)}; wrong: {wrong}")
    assert accuracy >= REQUIRED, f"{accuracy:.1%} < {REQUIRED:.0%}: {wrong}"
