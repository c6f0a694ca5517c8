"""The page's pen: one rule for what the page draws and sends, what training draws, and what evaluation draws.

The pad shows a pen of PAD_PEN of its side while a person draws, but the image it sends is drawn again with a
pen proportional to the drawing's own size: a digit written small is then not a blob of ink once the
preprocessing scales it up to MNIST's 20-pixel box (with a fixed pen, a 3 at a fifth of the pad read as 8).
The page reads these numbers from the template (data attributes of the pad), so they live here only.
"""

from __future__ import annotations

PAD_PEN = 0.09  # share of the pad's side (its height, for a wide pad)
SENT_PEN_RATIO = 0.13  # sent pen width / the drawing's longest side (MNIST's strokes are ~2.5-3 px of 20)
SENT_PEN_MIN = 0.02  # share of the pad's side: a dot or a tiny mark stays visible (2.8 px of 140)
# Pixels of the square PNG the page sends. The model sees a 20-pixel box, so 140 loses nothing (a digit at a
# fifth of the pad is still 28 px tall) and is a quarter of the pixels to decode and preprocess per request.
SENT_SIDE = 140
# The number pad: NUMBER_ASPECT times as wide as it is tall, sent as NUMBER_SENT_HEIGHT pixels high (digits there
# are 40-75% of the height, 50-100 px, still well above the 20-pixel box; a quarter of 1024x256's pixels to segment).
NUMBER_ASPECT = 4
NUMBER_SENT_HEIGHT = 128


def sent_pen_width(extent: float) -> float:
    """The sent image's pen, a share of the pad's side, for a drawing whose longest side is `extent` of it."""
    return min(PAD_PEN, max(SENT_PEN_MIN, SENT_PEN_RATIO * extent))


def page_pen() -> dict[str, float]:
    """What the page's scripts need, for the template's data attributes."""
    return {"pad": PAD_PEN, "sent_ratio": SENT_PEN_RATIO, "sent_min": SENT_PEN_MIN, "sent_side": SENT_SIDE,
            "number_aspect": NUMBER_ASPECT, "number_height": NUMBER_SENT_HEIGHT}
