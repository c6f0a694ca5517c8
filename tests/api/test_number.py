"""POST /predict/number: a written number in, its digits out, left to right, with boxes and verdicts; and a
fixed sample of the held-out-writer number evaluation (small: the full one is `digit-lab evaluate --numbers`)."""

from __future__ import annotations

import numpy as np
import pytest

from app.modeling.pen import NUMBER_ASPECT, NUMBER_SENT_HEIGHT
from app.training.numbers_eval import evaluate_numbers, layout, number_pen_width
from app.training.pen import HELD_OUT_WRITERS, load_pen_digits, render
from tests.conftest import data_url, png_bytes, skip_or_fail
from tests.unit.test_segment import draw, one, zero

PEN_DIR = "/work/shared/data/pen-digits"


def test_a_number_reads_left_to_right_with_boxes(client) -> None:
    image = draw(one(1.0) + zero(1.8) + one(2.6))
    response = client.post("/predict/number", json={"image": data_url(png_bytes(image))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == "101" and body["model"] == "cnn" and body["elapsed_ms"] > 0
    assert [d["digit"] for d in body["digits"]] == [1, 0, 1]
    ink = image < 128
    lefts = []
    for digit in body["digits"]:
        assert len(digit["probabilities"]) == 10 and abs(sum(digit["probabilities"]) - 1) < 1e-4
        assert digit["verdict"] in {"digit", "unsure", "not-a-digit"}
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= NUMBER_SENT_HEIGHT * NUMBER_ASPECT and 0 <= y0 < y1 <= NUMBER_SENT_HEIGHT
        assert ink[y0:y1, x0:x1].any()
        lefts.append(x0)
    assert lefts == sorted(lefts)


def test_boxes_are_in_the_submitted_images_pixels(client) -> None:
    """A huge image is box-averaged before reading; the boxes still speak of the pixels that were sent."""
    small = draw(one(1.0) + zero(2.0))
    big = np.repeat(np.repeat(small, 3, axis=0), 3, axis=1)  # 3072 x 768: decoding shrinks it
    boxes = [client.post("/predict/number", json={"image": data_url(png_bytes(image))}).json()["digits"]
             for image in (small, big)]
    assert [d["digit"] for d in boxes[0]] == [d["digit"] for d in boxes[1]] == [1, 0]
    for a, b in zip(boxes[0], boxes[1], strict=True):
        assert np.allclose(np.array(b["box"]), 3 * np.array(a["box"]), atol=8)


def test_blank_is_422(client) -> None:
    blank = np.full((NUMBER_SENT_HEIGHT, NUMBER_SENT_HEIGHT * NUMBER_ASPECT), 255, dtype=np.uint8)
    response = client.post("/predict/number", json={"image": data_url(png_bytes(blank))})
    assert response.status_code == 422 and "blank" in response.json()["detail"]


def test_too_many_digits_is_a_clear_422(client) -> None:
    strokes = [s for k in range(14) for s in one(0.15 + 0.27 * k)]
    image = render(strokes, NUMBER_SENT_HEIGHT * NUMBER_ASPECT, NUMBER_SENT_HEIGHT, pen=number_pen_width(strokes))
    response = client.post("/predict/number", json={"image": data_url(png_bytes(image))})
    assert response.status_code == 422
    assert "a number may have 12 at most" in response.json()["detail"]


def test_unknown_field_and_model_are_refused(client) -> None:
    image = data_url(png_bytes(draw(one(2.0))))
    assert client.post("/predict/number", json={"image": image, "explain": True}).status_code == 422
    assert client.post("/predict/number", json={"image": image, "model": "nope"}).status_code == 404


def test_openapi_documents_the_route_with_an_example(client) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/predict/number"]["post"]
    assert {"200", "422"} <= set(operation["responses"])
    schema = spec["components"]["schemas"]["NumberPrediction"]
    assert schema["examples"][0]["number"] == "42"


def test_held_out_writers_numbers_fixed_sample(registry) -> None:
    """24 numbers of 2-5 digits by the held-out writers, drawn as the number pad draws, read as the server
    reads them. The bar is below the targets of the full evaluation (a small sample, the shipped model)."""
    try:
        digits = load_pen_digits(PEN_DIR)
    except FileNotFoundError:
        skip_or_fail(f"pen digits not found in {PEN_DIR}")
    runtime = registry.models[registry.default].runtime
    rng = np.random.default_rng(2026)
    cases = []
    for writer in sorted(HELD_OUT_WRITERS):
        own = [i for i, d in enumerate(digits) if d.writer == writer]
        for n in (2, 4, 5):
            cases.append(layout(digits, [int(i) for i in rng.choice(own, n, replace=False)], rng, writer))
    result = evaluate_numbers(lambda batch: runtime.predict(batch[..., np.newaxis]), digits, cases)
    assert len(result.truth) == 24
    assert result.count_right() >= 0.9, result.report()
    assert result.digits_right() >= 0.9, result.report()


@pytest.mark.parametrize("text", ["", "not base64!"])
def test_bad_images_are_4xx(client, text: str) -> None:
    response = client.post("/predict/number", json={"image": text})
    assert 400 <= response.status_code < 500
