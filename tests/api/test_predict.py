"""The API's contract with the shipped models: answers, shapes, model choice, explain, batch, compare."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import canvas_png, data_url, png_bytes


@pytest.fixture(scope="module")
def seven(mnist) -> str:
    assert mnist.y_test[0] == 7
    return data_url(canvas_png(mnist.x_test[0], variant="inverted"))


def test_predict_answers_a_digit(client, seven: str) -> None:
    response = client.post("/predict", json={"image": seven})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["digit"] == 7 and body["model"] == "cnn"
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-4
    assert body["digit"] == int(np.argmax(body["probabilities"]))
    grid = np.array(body["input"])
    assert grid.shape == (28, 28) and grid.min() >= 0 and grid.max() <= 1 and grid.max() > 0.9
    assert body["elapsed_ms"] > 0 and body.get("explain") is None


def test_the_page_route_is_served_plainly_and_still_documented(client, seven: str) -> None:
    """POST /predict goes to the plain Starlette route (FastAPI's handler cost ~0.2 ms a request); its schema,
    from the APIRoute behind it, is still in the OpenAPI document, and errors keep their JSON answers."""
    from starlette.routing import Match

    from app.api.predict import FAST_ROUTES

    scope = {"type": "http", "path": "/predict", "method": "POST", "root_path": ""}
    serving = next(route for route in client.app.routes if route.matches(scope)[0] == Match.FULL)
    assert serving is FAST_ROUTES[0]
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    assert "PredictRequest" in str(operation["requestBody"]) and "422" in operation["responses"]
    refused = client.post("/predict", json={"image": seven, "model": "nope"})
    assert refused.status_code == 404 and "cnn" in refused.json()["detail"]


def test_bare_base64_is_accepted(client, seven: str) -> None:
    response = client.post("/predict", json={"image": seven.split(",", 1)[1]})
    assert response.status_code == 200 and response.json()["digit"] == 7


def test_file_upload(client, mnist) -> None:
    files = {"file": ("digit.png", canvas_png(mnist.x_test[1]), "image/png")}
    response = client.post("/predict/file", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == mnist.y_test[1]


def test_every_model_can_be_chosen(client, registry, seven: str) -> None:
    for model_id in registry.models:
        response = client.post("/predict", json={"image": seven, "model": model_id})
        assert response.status_code == 200 and response.json()["model"] == model_id


def test_explain_returns_logits_that_softmax_to_the_probabilities(client, seven: str) -> None:
    body = client.post("/predict", json={"image": seven, "model": "relu", "explain": True}).json()
    logits = np.array(body["explain"]["logits"])
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert np.allclose(softmax, body["probabilities"], atol=1e-4)
    layers = body["explain"]["layers"]
    assert [layer["name"] for layer in layers] == [f"act_{i}" for i in range(1, len(layers) + 1)]
    assert all(np.array(layer["values"]).shape == tuple(layer["shape"]) for layer in layers)
    assert min(np.array(layers[0]["values"]).ravel()) >= 0  # ReLU outputs


def test_explain_on_the_cnn_stays_small(client, seven: str) -> None:
    response = client.post("/predict", json={"image": seven, "explain": True})
    shapes = [layer["shape"] for layer in response.json()["explain"]["layers"]]
    assert shapes[0] == [16, 7, 7] and len(response.content) < 60_000


def test_batch_answers_in_order(client, mnist) -> None:
    images = [data_url(canvas_png(mnist.x_test[i])) for i in range(8)]
    response = client.post("/predict/batch", json={"images": images})
    assert response.status_code == 200
    assert [p["digit"] for p in response.json()["predictions"]] == mnist.y_test[:8].tolist()


def test_compare_answers_with_every_model(client, registry, seven: str) -> None:
    body = client.post("/predict/compare", json={"image": seven}).json()
    assert [a["model"] for a in body["answers"]][0] == registry.default
    assert {a["model"] for a in body["answers"]} == set(registry.models)
    assert np.array(body["input"]).shape == (28, 28)


def test_models_listing_and_cards(client, registry) -> None:
    listing = client.get("/models").json()
    assert listing["default"] == "cnn" and {m["id"] for m in listing["models"]} == set(registry.models)
    assert [m["id"] for m in listing["models"] if m["default"]] == ["cnn"]
    card = client.get("/models/sigmoid").json()
    assert card["history"][0]["epoch"] == 0 and "grad_norms" in card["history"][-1]


def test_blank_canvas_is_422_with_a_reason(client) -> None:
    blank = data_url(png_bytes(np.full((280, 280), 255, dtype=np.uint8)))
    response = client.post("/predict", json={"image": blank})
    assert response.status_code == 422 and "no digit" in response.json()["detail"]


def test_unknown_model_is_404_listing_the_known(client, seven: str) -> None:
    response = client.post("/predict", json={"image": seven, "model": "../../etc/passwd"})
    assert response.status_code == 404
    assert "cnn" in response.json()["detail"] and "sigmoid" in response.json()["detail"]


def test_health_and_readiness(client, registry) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["loaded"] == sorted(registry.models)
