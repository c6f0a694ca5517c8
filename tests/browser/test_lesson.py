"""The lesson page in a real browser: the drawing carried over from the main page, softmax of its logits
recomputed in the page and matching the server, the charts drawn from the model cards."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import get_json
from tests.browser.drawing import DIGITS, draw_mouse, settle

pytestmark = pytest.mark.browser


def hidden_activation_layers(card: dict) -> int:
    return sum(line.startswith("act_") for line in card["architecture"])


def test_the_lesson_teaches_with_the_carried_over_drawing(open_page, artifacts, server, models):
    page = open_page("/")
    draw_mouse(page, DIGITS[7])
    settle(page)
    page.get_by_test_id("lesson-link").click()
    page.wait_for_url("**/lesson")
    page.locator("body[data-ready=true]").wait_for()
    assert page.get_by_test_id("pad").get_attribute("data-strokes") == "1", "the drawing came along"

    # Softmax of the server's logits, computed in the browser, equals the server's probabilities.
    rows = page.locator("#softmax-body tr")
    expect(rows).to_have_count(10)
    pairs = rows.evaluate_all("rows => rows.map(r => [Number(r.dataset.softmax), Number(r.dataset.server)])")
    assert sum(mine for mine, _ in pairs) == pytest.approx(1, abs=1e-6)
    for mine, server_p in pairs:
        assert mine == pytest.approx(server_p, abs=1e-4)
    top = max(range(10), key=lambda d: pairs[d][0])
    assert page.get_by_test_id("prediction").inner_text() == str(top)
    assert "is-top" in rows.nth(top).get_attribute("class")
    expect(page.locator("[data-testid=logit-chart] rect.hbar")).to_have_count(10)

    # The functions and their slopes; each model's accuracy; one training curve per model.
    expect(page.locator("#activation-plots figure")).to_have_count(5)
    expect(page.locator("#activation-plots path.series.derivative")).to_have_count(5)
    expect(page.locator("[data-testid=accuracy-chart] rect.hbar")).to_have_count(len(models["models"]))
    expect(page.locator("[data-testid=curve-chart] path.series")).to_have_count(len(models["models"]))
    assert page.get_by_test_id("accuracy-caption").inner_text().strip()

    # The chosen model's evidence: one gradient line per hidden layer.
    chosen = page.get_by_test_id("evidence-select").input_value()
    card = get_json(f"{server}/models/{chosen}")
    layers = len(card["history"][0]["grad_norms"]) if card["history"] else 0
    expect(page.locator("[data-testid=grad-chart] path.series")).to_have_count(layers)

    # The drawing's hidden activations: one figure per activation layer of the model in use.
    in_use = page.get_by_test_id("model-select").input_value()
    expected = hidden_activation_layers(get_json(f"{server}/models/{in_use}"))
    expect(page.locator("[data-testid=hidden-layers] figure")).to_have_count(expected)
    page.screenshot(path=artifacts / "lesson.png", full_page=True)

    other = next((m["id"] for m in models["models"] if m["id"] != in_use), None)
    if other:
        page.get_by_test_id("model-select").select_option(other)
        expected = hidden_activation_layers(get_json(f"{server}/models/{other}"))
        expect(page.locator("[data-testid=hidden-layers] figure[data-layer]")).to_have_count(expected)

    page.get_by_test_id("clear").click()
    expect(rows).to_have_count(0)
    expect(page.get_by_test_id("prediction")).to_have_text("")
    expect(page.locator("[data-testid=hidden-layers] figure")).to_have_count(0)


def test_the_lesson_in_traditional_chinese(open_page, artifacts):
    page = open_page("/lesson?lang=zh-TW")
    assert page.evaluate("() => document.documentElement.lang") == "zh-TW"
    page.get_by_test_id("sample").click()
    expect(page.locator("#softmax-body tr")).to_have_count(10)
    caption = page.locator("#activation-plots figcaption").first.inner_text()
    assert "斜率" in caption
    page.screenshot(path=artifacts / "lesson-zh-TW.png", full_page=True)
