"""Real handwriting through the whole API: held-out writers' pen digits, drawn as the page sends them (PNG),
through POST /predict — and the same drawings through `digit-lab evaluate --pen`'s in-process path agree."""

from __future__ import annotations

import numpy as np
import pytest

from app.benchmark.inputs import png
from app.training.evaluate import draw_case, evaluate_pen, pen_cases
from app.training.pen import HELD_OUT_WRITERS, writers_split
from tests.conftest import data_url

PER_CLASS_PER_WRITER = 3  # 8 writers x 10 digits x 3 = 240 digits, each at one of the four sizes
REQUIRED = 0.99


@pytest.fixture(scope="module")
def held_out_sample(pen_digits) -> list:
    _, _, held_out = writers_split(pen_digits)
    rng = np.random.default_rng(11)
    chosen = []
    for writer in sorted(HELD_OUT_WRITERS):
        for label in range(10):
            mine = [d for d in held_out if d.writer == writer and d.label == label]
            chosen += [mine[i] for i in rng.choice(len(mine), min(PER_CLASS_PER_WRITER, len(mine)), replace=False)]
    return chosen


@pytest.mark.slow
def test_held_out_pen_writers_through_post_predict(client, registry, held_out_sample) -> None:
    cases = pen_cases(held_out_sample)
    cases = [case for n, case in enumerate(cases) if n % 8 in (0, 3, 4, 7)]  # one polarity per size, both overall
    served = []
    for case in cases:
        image = draw_case(held_out_sample[case.index], case)
        response = client.post("/predict", json={"image": data_url(png(image))})
        assert response.status_code == 200, response.text
        served.append(response.json()["probabilities"])
    served = np.array(served)
    labels = np.array([held_out_sample[case.index].label for case in cases])
    accuracy = float(np.mean(served.argmax(axis=1) == labels))
    by_size = {size: float(np.mean((served.argmax(axis=1) == labels)[[c.size == size for c in cases]]))
               for size in sorted({c.size for c in cases})}
    print(f"held-out pen writers through POST /predict: {accuracy:.2%} of {len(cases)}; by size {by_size}")

    # The evaluation command's in-process path gives the same answers for the same drawings.
    model = registry.get("cnn").runtime
    offline = evaluate_pen(model.predict, held_out_sample)
    keep = {(c.index, c.size, c.invert) for c in cases}
    mine = np.array([p for c, p in zip(offline.cases, offline.probabilities, strict=True)
                     if (c.index, c.size, c.invert) in keep])
    assert np.array_equal(mine.argmax(axis=1), served.argmax(axis=1))
    assert np.allclose(mine, served, atol=1e-5)
    assert accuracy >= REQUIRED, f"{accuracy:.2%} < {REQUIRED:.0%}"
