"""The lesson page in a real browser: the drawing carried over from the main page, softmax of its logits
recomputed in the page and matching the server, the charts drawn from the model cards at readable sizes and
without clamped lines, the slope slider, the toy trained in the page, and the numbers quoted from the cards."""

from __future__ import annotations

import math
import time

import pytest
from playwright.sync_api import expect

from app.i18n import catalogue
from tests.browser.conftest import get_json
from tests.browser.drawing import DIGITS, draw_mouse, settle

pytestmark = pytest.mark.browser
ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky-relu", "maxout"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
MIN_TEXT_PX = 11


def hidden_activation_layers(card: dict) -> int:
    return sum(line.startswith("act_") for line in card["architecture"])


def wait_for_toy(page, activation: str, timeout: float = 30.0) -> float:
    page.locator(f"input[name=toy-activation][value={activation}]").check()
    toy = page.get_by_test_id("toy")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if toy.get_attribute("data-activation") == activation and toy.get_attribute("data-trained") == "true":
            return float(toy.get_attribute("data-accuracy"))
        time.sleep(0.1)
    raise AssertionError(f"the toy never finished training with {activation}")


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

    # The tutorial's own softmax example: 1, 3, 5, 7, 9 → probabilities that add up to 1.
    example = page.locator("#softmax-example-body tr").evaluate_all("rows => rows.map(r => Number(r.dataset.softmax))")
    exps = [math.exp(z) for z in (1, 3, 5, 7, 9)]
    assert example == pytest.approx([e / sum(exps) for e in exps], abs=1e-9)
    assert float(page.get_by_test_id("softmax-example-sum").get_attribute("data-sum")) == pytest.approx(1, abs=1e-9)

    # Six activations with their slopes; each model's accuracy (and the Adam run's); one curve per model.
    expect(page.locator("#activation-plots figure")).to_have_count(len(ACTIVATIONS))
    expect(page.locator("#activation-plots path.series.derivative")).to_have_count(len(ACTIVATIONS))
    runs = get_json(f"{server}/lesson/runs.json")
    served_mlps = {m["activation"] for m in models["models"] if m["kind"] == "mlp"}
    adam_for_served = [c for c in runs["adam"] if c["activation"] in served_mlps]
    bars = page.locator("[data-testid=accuracy-chart] rect.hbar")
    expect(bars).to_have_count(len(models["models"]) + len(adam_for_served))
    expect(page.locator("[data-testid=curve-chart] path.series")).to_have_count(len(models["models"]))
    assert page.get_by_test_id("accuracy-caption").inner_text().strip()

    # The chosen model's evidence: one gradient line per hidden layer, and the start-of-training ratio.
    chosen = page.get_by_test_id("evidence-select").input_value()
    card = get_json(f"{server}/models/{chosen}")
    layers = len(card["history"][0]["grad_norms"]) if card["history"] else 0
    expect(page.locator("[data-testid=grad-chart] path.series")).to_have_count(layers)
    if card["history"]:
        first = card["history"][0]["grad_norms"]
        names = sorted(first, key=lambda n: int(n.split("_")[1]))
        ratio = float(page.get_by_test_id("evidence-summary").get_attribute("data-start-ratio"))
        assert ratio == pytest.approx(first[names[0]] / first[names[-1]], rel=1e-6)

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


def test_the_numbers_quoted_come_from_the_cards(open_page, server, models):
    ids = {m["id"] for m in models["models"]}
    runs = get_json(f"{server}/lesson/runs.json")
    page = open_page("/lesson")
    note = page.get_by_test_id("recipe-note").inner_text()
    sigmoid_adam = next((c for c in runs["adam"] if c["activation"] == "sigmoid"), None)
    if "sigmoid" in ids and sigmoid_adam:
        assert f"{sigmoid_adam['test_accuracy']:.1%}" in note, note
        sigmoid = get_json(f"{server}/models/sigmoid")
        assert f"{sigmoid['test_accuracy']:.1%}" in note, note
        # Sigmoid's hidden-layer caption speaks of saturation, not of units "above zero" (always all of them).
        page.get_by_test_id("evidence-select").select_option("sigmoid")
        caption = page.get_by_test_id("units-caption").inner_text()
        assert "0.25" in caption and "above zero" not in caption
    relu = next((c for c in runs["dying"] if c["activation"] == "relu"), None)
    summary = page.get_by_test_id("dying-summary")
    if relu:
        assert f"{relu['test_accuracy']:.1%}" in summary.inner_text()
        expect(page.locator("[data-testid=dying-chart] path.series")).to_have_count(len(runs["dying"]))
    else:
        assert summary.inner_text() == catalogue("en")["dying.missing"]


def test_the_slope_slider_multiplies_five_layers(open_page):
    page = open_page("/lesson")
    slider = page.get_by_test_id("x-slider")
    slider.fill("0")
    row = page.locator("#slope-body tr[data-activation=sigmoid]")
    assert float(row.get_attribute("data-slope")) == pytest.approx(0.25)
    assert float(row.get_attribute("data-five")) == pytest.approx(0.25**5)
    assert "1/1,024" in row.inner_text()
    slider.fill("2")
    relu = page.locator("#slope-body tr[data-activation=relu]")
    assert float(relu.get_attribute("data-five")) == 1.0
    sig2 = 1 / (1 + math.exp(-2))
    assert float(row.get_attribute("data-slope")) == pytest.approx(sig2 * (1 - sig2))
    expect(page.locator("#slope-body tr")).to_have_count(len(ACTIVATIONS))
    # Each plot marks x on the function and on its slope.
    expect(page.locator("#activation-plots circle.point")).to_have_count(2 * len(ACTIVATIONS))


def test_the_toy_bends_its_boundary_only_with_an_activation(open_page, artifacts):
    page = open_page("/lesson")
    page.locator("#toy").scroll_into_view_if_needed()
    linear = wait_for_toy(page, "linear")
    page.get_by_test_id("toy").screenshot(path=artifacts / "toy-linear.png")
    results = {"linear": linear}
    for activation in ACTIVATIONS[1:]:
        results[activation] = wait_for_toy(page, activation)
        page.get_by_test_id("toy").screenshot(path=artifacts / f"toy-{activation}.png")
    # A straight line cannot separate a disc from the ring round it; any of the five bends can.
    assert results["linear"] < 0.8, results
    for activation in ACTIVATIONS[1:]:
        assert results[activation] > 0.9, results


def test_chart_text_is_readable_on_a_phone_and_lines_are_not_clamped(open_page, artifacts):
    page = open_page("/lesson", **PHONE)
    page.get_by_test_id("sample").click()
    expect(page.locator("#softmax-body tr")).to_have_count(10)
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.chart svg text')].filter(t => t.textContent.trim()).map(t => {
             const svg = t.ownerSVGElement, scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
             return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * scale];
           })"""
    )
    small = [(text, round(px, 1)) for text, px in sizes if px < MIN_TEXT_PX]
    assert sizes and not small, f"chart text under {MIN_TEXT_PX} px on a phone: {small[:10]}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # No chart text runs off its chart's edges (a long model name left of a bar, an end label on the right).
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.chart svg text:not([transform])')]
           .filter(t => t.textContent.trim()).filter(t => {
             const box = t.getBBox(), view = t.ownerSVGElement.viewBox.baseVal;
             return box.x < -0.5 || box.x + box.width > view.width + 0.5;
           }).map(t => t.textContent)"""
    )
    assert not cut, f"chart text cut off at the edge: {cut[:10]}"
    # ReLU's plot reaches its largest value (5 at x = 5): its y axis is chosen from its values, not cut at 2, so
    # its line rises above the tick for 4 (it was drawn flat from y = 2 on).
    top, tick4 = page.locator("#activation-plots figure[data-activation=relu] svg").evaluate(
        """svg => [svg.querySelector('path.series.s0').getBBox().y,
                   Number([...svg.querySelectorAll('text')].find(t => t.textContent === '4').getAttribute('y')) - 4]""")
    assert top < tick4, (top, tick4)
    page.screenshot(path=artifacts / "lesson-phone.png", full_page=True)


def test_the_lesson_in_traditional_chinese(open_page, artifacts):
    page = open_page("/lesson?lang=zh-TW")
    assert page.evaluate("() => document.documentElement.lang") == "zh-TW"
    page.get_by_test_id("sample").click()
    expect(page.locator("#softmax-body tr")).to_have_count(10)
    caption = page.locator("#activation-plots figcaption").first.inner_text()
    assert "斜率" in caption
    text = page.locator("body").inner_text()
    assert "激勵函數" in text and "激活" not in text, "the tutorial's word, 激勵函數, throughout"
    for english in ("No activation (linear)", "hidden_1", "act_1", "5x128 MLP"):
        assert english not in text, f"{english!r} is shown untranslated"
    page.screenshot(path=artifacts / "lesson-zh-TW.png", full_page=True)
