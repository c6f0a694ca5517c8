"""Every answer carries a verdict: real digits are "digit", a dot, a dash, a scribble, a letter and two digits
are not — through the API, with the shipped default model and its card's thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from app.benchmark.inputs import png
from app.training.outliers import PEN_SYMBOLS, pen_symbols, scribbles
from app.training.pen import place, render
from tests.conftest import canvas_png, data_url


def drawn(*strokes: list[tuple[float, float]], height: float = 0.6) -> str:
    return data_url(png(render(place([np.asarray(s, dtype=float) for s in strokes], height))))


def verdict_of(client, image: str) -> dict:
    response = client.post("/predict", json={"image": image})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_default_model_has_fitted_thresholds(registry) -> None:
    card = registry.get(None).card
    assert card.verdict is not None and 0 < card.verdict.not_digit_below <= card.verdict.unsure_below < 1
    assert card.calibration is not None and "validation" in card.calibration.fitted_on


def test_real_digits_are_digits(client, mnist) -> None:
    answers = [verdict_of(client, data_url(canvas_png(image))) for image in mnist.x_test[:50]]
    right = [a["verdict"] == "digit" and a["digit"] == label for a, label in zip(answers, mnist.y_test[:50],
                                                                                  strict=True)]
    assert sum(right) >= 49, [(a["digit"], a["verdict"]) for a in answers]


def test_a_dot_is_not_a_digit(client) -> None:
    answer = verdict_of(client, data_url(png(render([np.array([[0.5, 0.5]])], pen=0.09))))
    assert answer["verdict"] == "not-a-digit" and answer["reason"] == "blob"


def test_a_horizontal_dash_is_not_a_digit(client) -> None:
    answer = verdict_of(client, drawn([(0.2, 0.5), (0.8, 0.52)]))
    assert answer["verdict"] == "not-a-digit", answer


def test_two_digits_in_the_single_digit_pad_are_several_shapes(client, mnist) -> None:
    pair = np.hstack([mnist.x_test[0], np.zeros((28, 6), np.uint8), mnist.x_test[1]])
    answer = verdict_of(client, data_url(png(pair)))
    assert answer["verdict"] == "not-a-digit" and answer["reason"] == "several-shapes"


def test_scribbles_and_pen_letters_are_mostly_not_digits(client) -> None:
    """Kinds of non-digit: generated scribbles (a training kind, other draws) and pen-drawn letters and symbols
    (a kind training never saw). Each of the 24 letters and symbols once, and 24 scribbles."""
    rng = np.random.default_rng(2024)
    images = [pen_symbols(rng, name) for name in PEN_SYMBOLS] + [scribbles(rng) for _ in range(24)]
    verdicts = [verdict_of(client, data_url(png((image * 255).astype(np.uint8))))["verdict"]
                for image in images if image is not None]
    share = np.mean([v != "digit" for v in verdicts])
    print(f"non-digits answered other than digit: {share:.0%} of {len(verdicts)}")
    assert share >= 0.8, verdicts


def test_letter_a_is_not_read_as_a_confident_digit(client) -> None:
    answer = verdict_of(client, drawn([(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]))
    assert answer["verdict"] != "digit", answer


def test_unsure_answers_list_alternatives(client, registry) -> None:
    """Half a 7 blended with half a 1 is ambiguous; whenever the verdict is unsure, alternatives are listed."""
    seven, one = (render(place([np.asarray(s, float)], 0.7)) for s in ([(0.2, 0), (0.8, 0), (0.45, 1)],
                                                                       [(0.5, 0), (0.5, 1)]))
    for weight in np.linspace(0.3, 0.7, 5):
        blend = np.minimum(255, weight * seven + (1 - weight) * one).astype(np.uint8)
        answer = verdict_of(client, data_url(png(blend)))
        if answer["verdict"] == "unsure":
            listed = [a["digit"] for a in answer["alternatives"]]
            assert 2 <= len(listed) <= 3 and listed[0] == answer["digit"]
        else:
            assert answer["alternatives"] is None


@pytest.mark.parametrize("route", ["/predict/batch", "/predict/compare"])
def test_every_route_answers_with_a_verdict(client, mnist, route) -> None:
    image = data_url(canvas_png(mnist.x_test[0]))
    body = {"images": [image, image]} if route.endswith("batch") else {"image": image}
    response = client.post(route, json=body)
    assert response.status_code == 200, response.text
    answers = response.json()["predictions" if route.endswith("batch") else "answers"]
    assert all(a["verdict"] in ("digit", "unsure", "not-a-digit") and "reason" in a for a in answers)


def test_file_upload_answers_with_a_verdict(client, mnist) -> None:
    response = client.post("/predict/file", files={"file": ("7.png", canvas_png(mnist.x_test[0]), "image/png")})
    assert response.status_code == 200 and response.json()["verdict"] == "digit"


def test_blank_is_still_422(client) -> None:
    response = client.post("/predict", json={"image": data_url(png(np.full((280, 280), 255, np.uint8)))})
    assert response.status_code == 422


def test_openapi_documents_the_verdict(client) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Prediction"]["properties"]
    assert schema["verdict"]["enum"] == ["digit", "unsure", "not-a-digit"]
    assert "threshold" in schema["verdict"]["description"]
