"""Hand-written digits as polylines (unit coordinates of the pad, y down) and ways to draw them:
the mouse, or touch through Chrome's DevTools protocol (which the page receives as pointerType 'touch')."""

from __future__ import annotations

import math
import time

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 20) -> Stroke:
    return [
        (cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
         cy + ry * math.sin(math.radians(start + (end - start) * i / steps)))
        for i in range(steps + 1)
    ]


# Written the way people write them, filling about 70% of the pad's height.
DIGITS: dict[int, list[Stroke]] = {
    0: [arc(0.5, 0.5, 0.2, 0.33, -100, 265, 36)],
    1: [[(0.5, 0.15), (0.5, 0.85)]],
    2: [arc(0.5, 0.34, 0.19, 0.17, 195, 370, 14) + [(0.6, 0.52), (0.3, 0.84), (0.75, 0.84)]],
    3: [arc(0.48, 0.32, 0.19, 0.16, 215, 445, 18) + arc(0.48, 0.65, 0.22, 0.19, -85, 150, 18)],
    4: [[(0.55, 0.15), (0.27, 0.6), (0.77, 0.6)], [(0.62, 0.36), (0.62, 0.86)]],
    7: [[(0.26, 0.2), (0.74, 0.2), (0.46, 0.85)]],
}


def densify(stroke: Stroke, step: float = 0.05) -> Stroke:
    """Points every `step` along the polyline, about as often as a mouse at 60 Hz reports them."""
    points = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        points += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return points


def pad_box(page) -> dict:
    box = page.get_by_test_id("pad").bounding_box()
    assert box and box["width"] > 50, f"the pad is not visible: {box}"
    return box


def to_page(box: dict, point: tuple[float, float]) -> tuple[float, float]:
    return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]


def draw_mouse(page, strokes: list[Stroke]) -> None:
    box = pad_box(page)
    for stroke in strokes:
        points = [to_page(box, p) for p in densify(stroke)]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_touch(page, strokes: list[Stroke]) -> None:
    """One finger per stroke, via Input.dispatchTouchEvent (needs a context with has_touch=True)."""
    box = pad_box(page)
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in strokes:
            points = [to_page(box, p) for p in densify(stroke)]
            for kind, (x, y) in zip(["touchStart"] + ["touchMove"] * (len(points) - 1), points):
                cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def poll(page, script: str, done, timeout: float, failure: str):
    """page.evaluate(script) until done(its result), which is returned; polled from here because the page's CSP
    forbids the eval that wait_for_function needs."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(script)
        if done(state):
            return state
        time.sleep(0.02)
    raise AssertionError(f"{failure} (state: {state})")


def settle(page, timeout: float = 10.0) -> None:
    """Wait until the bars show the answer for the drawing as it is now (not an answer to an older one)."""
    poll(page, "() => [document.querySelector('[data-testid=pad]').dataset.version,"
               " document.querySelector('[data-testid=bars]')?.dataset.version]",
         lambda state: state[0] is not None and state[0] == state[1], timeout,
         "the bars never caught up with the drawing (pad, bars versions)")


def bar_values(page) -> list[float]:
    return [float(page.get_by_test_id(f"prob-{d}").get_attribute("data-value")) for d in range(10)]
