"""The page is honest about what it cannot read: a letter, a dot, a scribble and two digits get a verdict in
words (and in the live region) instead of "The network reads a 4"; a real digit gets none."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.i18n import catalogue
from tests.browser.drawing import DIGITS, draw_mouse, settle

pytestmark = pytest.mark.browser
EN = catalogue("en")

SHAPES = {
    "letter-a": [[(0.2, 0.85), (0.5, 0.15), (0.8, 0.85)], [(0.32, 0.58), (0.68, 0.58)]],
    "dot": [[(0.5, 0.5), (0.503, 0.502)]],
    "scribble": [[(0.2, 0.3), (0.7, 0.2), (0.3, 0.5), (0.8, 0.45), (0.25, 0.7), (0.75, 0.8), (0.4, 0.3),
                  (0.6, 0.65), (0.2, 0.55)]],
    "two-digits": [[(0.1, 0.3), (0.1, 0.7)], [(0.55, 0.3), (0.85, 0.3), (0.7, 0.7)]],
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_non_digits_get_an_honest_verdict(open_page, artifacts, name):
    page = open_page("/")
    draw_mouse(page, SHAPES[name])
    settle(page)
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_be_visible()
    assert verdict.get_attribute("data-verdict") in ("unsure", "not-a-digit")
    text = verdict.inner_text()
    if name == "two-digits":
        assert text == EN["verdict.several"]
    elif verdict.get_attribute("data-verdict") == "not-a-digit":
        assert text == EN["verdict.not_digit"]
    # The live region says it too, once the pen is up: the bars may already show an answer that arrived while the
    # pen was down, and the status line is spoken from the answer to the pen-up request.
    expect(page.get_by_test_id("status")).to_have_text(text)
    assert page.get_by_test_id("prediction").inner_text().strip()  # the bars and the top digit stay: the lesson
    page.screenshot(path=artifacts / f"verdict-{name}.png")


def test_a_clear_digit_gets_no_verdict_line(open_page):
    page = open_page("/")
    draw_mouse(page, DIGITS[7])
    settle(page)
    expect(page.get_by_test_id("verdict")).to_be_hidden()
    assert page.get_by_test_id("verdict").get_attribute("data-verdict") == "digit"


def test_the_verdict_speaks_chinese(open_page, artifacts):
    page = open_page("/?lang=zh-TW")
    draw_mouse(page, SHAPES["two-digits"])
    settle(page)
    expect(page.get_by_test_id("verdict")).to_have_text(catalogue("zh-TW")["verdict.several"])
    page.screenshot(path=artifacts / "verdict-two-digits-zh-TW.png")
