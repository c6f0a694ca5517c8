"""Things that are not one digit, for teaching the network to say so (outlier exposure) and for measuring it.

Softmax spreads all of its belief over the ten digits whatever it is shown. Trained on non-digits with a
uniform target (Hendrycks et al., "Deep Anomaly Detection with Outlier Exposure", 2019), the network learns to
answer "no digit in particular" for them, and a threshold on its top probability tells the two apart.

The kinds are kept apart by purpose, so the figures we report are on kinds training never saw:
- training (and threshold fitting, on other draws): letters and symbols rendered from the machine's fonts,
  generated scribbles, straight non-vertical strokes, dots and blobs, and two digits side by side;
- evaluation only: letters and symbols drawn as pen strokes (`pen_symbols`) and the animal silhouettes of the
  `animal-mnist` package (`animals`).
Every image is returned as the serving preprocessing's 28x28 output, so it is what the model would see.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.errors import BlankImageError
from app.preprocess import to_mnist
from app.training.pen import place, render

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Letters and symbols that do not look like a digit. Left out on purpose: O o D Q (0), I l i j J | (1),
# Z z (2), S s (5), b G (6), T (7), B (8), g q (9) — a person writing those has written a digit's shape.
GLYPHS = "ACEFHKLMNPRUVWXYacdefhkmnprtuvwxy+#?!@&%*=~$<>{}€£¥§¶" + "永字人木水火山日月中文學愛我你他好的"
GLYPH_SIZE = 96
CJK_START = 0x2E80
VERTICAL_TOLERANCE_DEGREES = 25  # a straight stroke closer than this to vertical is a "1", not an outlier


def _fonts() -> list[Path]:
    found = []
    for folder in FONT_DIRS:
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc"))
    return found


def _as_input(image: np.ndarray) -> np.ndarray | None:
    try:
        return to_mnist(image)
    except BlankImageError:
        return None


def font_glyphs(rng: np.random.Generator) -> np.ndarray | None:
    """One letter or symbol from a random installed font, slanted and scaled a little, black on white."""
    fonts = _fonts()
    if not fonts:
        raise FileNotFoundError("no fonts found in /usr/share/fonts (Debian: fonts-dejavu-core)")
    char = GLYPHS[rng.integers(len(GLYPHS))]
    if ord(char) >= CJK_START:  # only CJK fonts have these; others would draw an empty box
        fonts = [path for path in fonts if "CJK" in path.name] or fonts
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), GLYPH_SIZE)
    image = Image.new("L", (GLYPH_SIZE * 2, GLYPH_SIZE * 2), 255)
    ImageDraw.Draw(image).text((GLYPH_SIZE // 2, GLYPH_SIZE // 3), char, font=font, fill=0)
    image = image.rotate(float(rng.uniform(-15, 15)), fillcolor=255, resample=Image.Resampling.BILINEAR)
    return _as_input(np.asarray(image))


def _smooth_walk(rng: np.random.Generator, points: int) -> np.ndarray:
    """A wandering pen: a random walk with momentum, in unit coordinates."""
    heading = rng.uniform(0, 2 * math.pi)
    turn = 0.0
    xy = [np.array([0.0, 0.0])]
    for _ in range(points):
        turn = 0.7 * turn + rng.normal(0, 0.6)
        heading += turn
        xy.append(xy[-1] + 0.1 * np.array([math.cos(heading), math.sin(heading)]))
    return np.asarray(xy)


def scribbles(rng: np.random.Generator) -> np.ndarray | None:
    """One to three wandering strokes: what a person doodles."""
    strokes = [_smooth_walk(rng, int(rng.integers(15, 60))) + rng.normal(0, 0.3, 2)
               for _ in range(int(rng.integers(1, 4)))]
    return _draw(strokes, rng)


def lines(rng: np.random.Generator) -> np.ndarray | None:
    """A straight stroke (or two crossing ones) at least VERTICAL_TOLERANCE_DEGREES away from vertical."""
    strokes = []
    for _ in range(int(rng.integers(1, 3))):
        tilt = math.radians(rng.uniform(VERTICAL_TOLERANCE_DEGREES, 180 - VERTICAL_TOLERANCE_DEGREES))
        start = rng.normal(0, 0.1, 2)
        strokes.append(np.array([start, start + [math.sin(tilt), math.cos(tilt)]]))
    return _draw(strokes, rng)


def dots(rng: np.random.Generator) -> np.ndarray | None:
    """A dot or a tiny blob, drawn on a pad with the page's pen: after scaling to the 20-pixel box, a filled disc."""
    centre = rng.uniform(0.2, 0.8, 2)
    spot = [centre + rng.normal(0, 0.004, (int(rng.integers(1, 5)), 2))]
    return _as_input(render(spot, pen=float(rng.uniform(0.01, 0.09))))


def digit_pairs(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray | None:
    """Two MNIST digits side by side, with a gap: two digits are not one."""
    a, b = digits[rng.integers(len(digits), size=2)]
    gap = np.zeros((28, int(rng.integers(0, 8))), dtype=np.uint8)
    return _as_input(np.hstack([a, gap, b]))


def _draw(strokes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray | None:
    """Free strokes drawn at a random size on the pad with the page's pen rule."""
    return _as_input(render(place(strokes, float(rng.uniform(0.3, 0.85)), (0.5, 0.5))))


def training_outliers(n: int, digits: np.ndarray, seed: int) -> np.ndarray:
    """`n` training non-digits (28x28 inputs), an equal share of each training kind."""
    rng = np.random.default_rng(seed)
    makers: list[Callable[[np.random.Generator], np.ndarray | None]] = [
        font_glyphs, font_glyphs, scribbles, scribbles, lines, dots, lambda r: digit_pairs(r, digits)]
    out = []
    while len(out) < n:
        image = makers[len(out) % len(makers)](rng)
        if image is not None:
            out.append(image)
    return np.asarray(out, dtype=np.float32)


# ---- evaluation-only kinds ----

def _arc(cx: float, cy: float, r: float, start: float, end: float, steps: int = 16) -> np.ndarray:
    angles = np.radians(np.linspace(start, end, steps))
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], axis=1)


# Letters and symbols as a person writes them with a pen (unit box, y down), one list of strokes each.
PEN_SYMBOLS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.8, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.8, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "M": [[(0, 1), (0.1, 0), (0.5, 0.7), (0.9, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.9, 0.2), (0.7, 0.45), (0, 0.45), (1, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "plus": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "hash": [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0, 0.35), (1, 0.35)], [(0, 0.65), (1, 0.65)]],
    "equals": [[(0, 0.35), (1, 0.35)], [(0, 0.65), (1, 0.65)]],
    "question": [[*_arc(0.5, 0.25, 0.25, 190, 400).tolist(), (0.5, 0.6)], [(0.5, 0.95), (0.5, 1)]],
    "exclamation": [[(0.5, 0), (0.5, 0.7)], [(0.5, 0.95), (0.5, 1)]],
    "star": [[(0.5, 0), (0.8, 1), (0, 0.35), (1, 0.35), (0.2, 1), (0.5, 0)]],
    "triangle": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "heart": [[(0.5, 1), *(_arc(0.27, 0.3, 0.25, 135, 360).tolist()), *(_arc(0.73, 0.3, 0.25, 180, 405).tolist()),
               (0.5, 1)]],
    "smiley": [_arc(0.5, 0.5, 0.5, 0, 360, 32).tolist(), [(0.33, 0.35), (0.34, 0.37)], [(0.66, 0.35), (0.67, 0.37)],
               _arc(0.5, 0.55, 0.25, 20, 160).tolist()],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.7, 0.2), (1, 0.5), (0.7, 0.8)]],
    "spiral": [[(0.5 + 0.05 * t * math.cos(t), 0.5 + 0.05 * t * math.sin(t)) for t in np.linspace(0, 9, 40)]],
}


def densify(points: np.ndarray, step: float = 0.04) -> np.ndarray:
    """Points every `step` along a polyline, as a pen reports them: the page's smoothing then keeps corners."""
    out = [points[:1]]
    for start, end in zip(points[:-1], points[1:], strict=True):
        n = max(1, math.ceil(float(np.hypot(*(end - start))) / step))
        out.append(start + (end - start) * (np.arange(1, n + 1)[:, None] / n))
    return np.concatenate(out)


def pen_symbols(rng: np.random.Generator, name: str | None = None) -> np.ndarray:
    """A letter or symbol drawn as pen strokes with a person's wobble (slant, aspect, jitter), through the page's
    drawing and the preprocessing. Evaluation only: training never sees a pen-drawn letter or symbol."""
    name = name or list(PEN_SYMBOLS)[rng.integers(len(PEN_SYMBOLS))]
    slant, aspect = rng.uniform(-0.25, 0.25), rng.uniform(0.7, 1.2)
    strokes = []
    for stroke in PEN_SYMBOLS[name]:
        xy = densify(np.asarray(stroke, dtype=np.float64) + rng.normal(0, 0.025, (len(stroke), 2)))
        xy[:, 0] = (xy[:, 0] + slant * (1 - xy[:, 1])) * aspect
        strokes.append(xy)
    image = _as_input(render(place(strokes, float(rng.uniform(0.3, 0.85)), (0.5, 0.5))))
    assert image is not None, name  # every template has ink
    return image


def animals(limit: int | None = None) -> np.ndarray:
    """The `animal-mnist` silhouettes (28x28) through the preprocessing. Install with
    `pip install --no-deps animal-mnist` (its own dependencies are not needed to read the data)."""
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the animal-mnist package is not installed: pip install --no-deps animal-mnist")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "Animal_MNIST" / "animal_data_version_3.gz"
    with gzip.open(path, "rb") as stream:
        images = np.asarray(pickle.load(stream))  # noqa: S301 (the package's own data file)
    images = images.reshape(len(images), 28, 28)
    if limit is not None:  # a fixed sample across all the kinds of animal (the file is sorted by kind)
        images = images[np.random.default_rng(0).permutation(len(images))[:limit]]
    if images.dtype != np.uint8:
        images = np.clip(images * (255 if images.max() <= 1 else 1), 0, 255).astype(np.uint8)
    out = [_as_input(image) for image in images]
    return np.asarray([image for image in out if image is not None], dtype=np.float32)
