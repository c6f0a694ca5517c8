"""Where things are on a phone (both ways up) and on a laptop: the answer stays in view beside the pen.

Bounding boxes after drawing, at 390×844, 844×390 and 1280×800; a screenshot of each goes to
test-artifacts/browser/layout-*.png to be looked at."""

from __future__ import annotations

import pytest

from tests.browser.drawing import DIGITS, draw_mouse, draw_touch, settle

pytestmark = pytest.mark.browser
TOUCH = {"device_scale_factor": 3, "is_mobile": True, "has_touch": True}
SIZES = {
    "phone-portrait": ({"width": 390, "height": 844}, TOUCH),
    "phone-landscape": ({"width": 844, "height": 390}, TOUCH),
    "laptop": ({"width": 1280, "height": 800}, {}),
}
# In view while drawing, at every size: the pad, the top answer, its probability and the ten bars.
WHILE_DRAWING = ("pad", "prediction", "confidence", "bars")
# On a laptop the controls too (on a phone they are one short scroll below).
ON_A_LAPTOP = ("undo", "clear", "model-select")


def box_of(page, testid: str) -> dict:
    box = page.get_by_test_id(testid).bounding_box()
    assert box, f"{testid} is not rendered"
    return box


def assert_in_view(page, testid: str, viewport: dict) -> None:
    box = box_of(page, testid)
    inside = (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
              and box["y"] + box["height"] <= viewport["height"] + 0.5)
    assert inside, f"{testid} at {box} is not inside the {viewport['width']}×{viewport['height']} view"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_the_answer_is_in_view_while_drawing(open_page, artifacts, size, lang):
    viewport, options = SIZES[size]
    page = open_page(f"/?lang={lang}", viewport=viewport, **options)
    (draw_touch if options.get("has_touch") else draw_mouse)(page, DIGITS[7])
    settle(page)
    assert page.evaluate("() => window.scrollY") == 0, "drawing did not scroll the page"
    for testid in WHILE_DRAWING + (ON_A_LAPTOP if size == "laptop" else ()):
        assert_in_view(page, testid, viewport)
    assert page.get_by_test_id("confidence").inner_text().strip(), "the top answer's probability is written"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"], "nothing is wider"
    pad = box_of(page, "pad")
    assert abs(pad["width"] - pad["height"]) < 2, "the pad is square"
    if size == "phone-portrait":
        assert pad["width"] > 0.8 * viewport["width"], "the pad fills the phone's width"
    else:
        assert pad["height"] > 0.6 * viewport["height"], "the pad takes most of the visible height"
        bars = box_of(page, "bars")
        assert bars["x"] >= pad["x"] + pad["width"], "the bars sit beside the pad"
    # The model picker fits the screen (it was cut off on a phone in 繁體中文).
    select = box_of(page, "model-select")
    assert select["x"] >= 0 and select["x"] + select["width"] <= viewport["width"]
    page.screenshot(path=artifacts / f"layout-{size}-{lang}.png")


def test_keyboard_help_is_hidden_on_a_touch_phone(open_page):
    phone = open_page("/", viewport={"width": 390, "height": 844}, **TOUCH)
    assert not phone.get_by_test_id("keys-help").is_visible()
    laptop = open_page("/", viewport={"width": 1280, "height": 800})
    assert laptop.get_by_test_id("keys-help").is_visible()
