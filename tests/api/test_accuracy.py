"""The shipped default model, through the whole API, on MNIST test digits drawn like canvases.

Each digit is rendered as a 280x280 PNG in four ways (white on black, dark on white, shrunk into a corner,
black ink on a transparent canvas) and must be recognised at ≥ 99% on a 1,000-image slice per variant.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.training.evaluate import evaluate, prepare
from tests.conftest import canvas_png, data_url

SLICE = 1000
REQUIRED = 0.99


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["upscaled", "inverted", "corner", "transparent"])
def test_canvas_variants_are_recognised(client, mnist, variant: str) -> None:
    images, labels = mnist.x_test[-SLICE:], mnist.y_test[-SLICE:]  # the last 1,000: away from the examples
    predicted = []
    for image in images:
        response = client.post("/predict", json={"image": data_url(canvas_png(image, variant=variant))})
        assert response.status_code == 200, response.text
        predicted.append(response.json()["digit"])
    accuracy = float(np.mean(np.array(predicted) == labels))
    print(f"{variant}: {accuracy:.2%} of {SLICE}")
    assert accuracy >= REQUIRED, f"{variant}: {accuracy:.2%} < {REQUIRED:.0%}"


def test_evaluate_on_a_test_slice_agrees_with_the_card(registry, mnist) -> None:
    """`digit-lab evaluate`'s code path on 2,000 real test digits; the card's full-set figure is consistent."""
    model = registry.get("cnn").runtime.model
    result = evaluate(model, prepare(mnist.x_test[:2000]), mnist.y_test[:2000])
    assert result.accuracy >= 0.99
    card = registry.get("cnn").card
    confusion = np.array(card.confusion_matrix)
    assert confusion.sum() == 10_000 and np.trace(confusion) / 10_000 == pytest.approx(card.test_accuracy)
    assert card.test_accuracy >= 0.995
