"""Number mode in a real browser: write "2026" on the wide pad, read it back, see each digit's box and bars."""

from __future__ import annotations

from tests.browser.drawing import DIGITS, Stroke, arc, draw_mouse, draw_touch, poll

SIX: list[Stroke] = [[(0.64, 0.16), (0.5, 0.26), (0.38, 0.42)] + arc(0.5, 0.64, 0.18, 0.2, 200, 560, 30)]
GLYPHS = {**DIGITS, 6: SIX}


def number_strokes(number: str, left: float = 0.12, cell: float = 0.16) -> list[Stroke]:
    """Each digit drawn in a square cell of the pad's height (a quarter of its width), cells `cell` apart
    (shares of the pad's width), the digits' own unit coordinates shrunk a little so the cells leave gaps."""
    strokes = []
    for k, character in enumerate(number):
        for stroke in GLYPHS[int(character)]:
            strokes.append([(left + k * cell + (0.1 + 0.8 * x) * 0.25, 0.1 + 0.8 * y) for x, y in stroke])
    return strokes


def settled_number(page, timeout: float = 15.0) -> str:
    """The number shown once the answer is for the drawing as it is now."""
    return poll(page, "() => [document.querySelector('#number-pad').dataset.version,"
                      " document.querySelector('[data-testid=number-read]').dataset.version,"
                      " document.querySelector('[data-testid=number-read]').dataset.number]",
                lambda state: state[0] == state[1] and state[0] not in (None, "0"), timeout,
                "no answer for the current drawing")[2]


def pad_of(page):
    """drawing.py finds the pad by test id "pad"; here it is the number pad."""
    page.evaluate("() => { document.querySelector('[data-testid=number-pad]').dataset.testid = 'pad'; }")


def test_write_2026_and_read_it_back(open_page, artifacts):
    page = open_page("/number")
    canvas = page.locator("#number-pad")
    box = canvas.bounding_box()
    assert box and 3.8 < box["width"] / box["height"] < 4.2  # the wide pad
    pad_of(page)
    draw_mouse(page, number_strokes("2026"))
    assert settled_number(page) == "2026"
    digits = page.locator(".number-digit")
    assert digits.count() == 4 and page.locator(".number-box").count() == 4
    # each box sits over its own digit's cell, left to right
    lefts = [page.locator(".number-box").nth(i).bounding_box()["x"] for i in range(4)]
    assert lefts == sorted(lefts) and lefts[0] >= box["x"] and lefts[-1] < box["x"] + box["width"]
    # keyboard focus on the third digit shows its bars: a 2, most likely
    digits.nth(2).focus()
    assert page.locator("#bars").get_attribute("data-digit-index") == "2"
    assert "is-top" in (page.get_by_test_id("prob-2").get_attribute("class") or "")
    assert digits.nth(2).get_attribute("aria-pressed") == "true"
    assert "2" in (digits.nth(2).get_attribute("aria-label") or "")
    page.screenshot(path=artifacts / "number-2026.png")
    # undo takes the last stroke (the 6) away; clear empties everything
    page.get_by_test_id("undo").click()
    assert settled_number(page) == "202"
    page.get_by_test_id("clear").click()
    assert page.locator(".number-box").count() == 0 and page.locator(".number-digit").count() == 0


def test_number_mode_on_a_phone_in_landscape_and_portrait(open_page, artifacts):
    landscape = {"viewport": {"width": 844, "height": 390}, "device_scale_factor": 3, "is_mobile": True,
                 "has_touch": True}
    page = open_page("/number?lang=zh-TW", **landscape)
    box = page.locator("#number-pad").bounding_box()
    assert box["y"] + box["height"] <= 390 or box["height"] >= 90  # usable: the whole pad fits, or is tall enough
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 844
    pad_of(page)
    draw_touch(page, number_strokes("417"))
    assert settled_number(page) == "417"
    page.screenshot(path=artifacts / "number-phone-landscape-zh.png", full_page=True)
    portrait = open_page("/number", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    box = portrait.locator("#number-pad").bounding_box()
    assert box["width"] >= 300 and portrait.evaluate("() => document.documentElement.scrollWidth") <= 390
    portrait.screenshot(path=artifacts / "number-phone-portrait.png", full_page=True)


def test_the_drawing_page_links_to_number_mode(open_page):
    page = open_page("/")
    page.get_by_test_id("number-link").click()
    page.locator("body[data-ready=true][data-page=number]").wait_for()
