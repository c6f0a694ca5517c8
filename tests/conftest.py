"""Shared fixtures: settings, the loaded model registry (once per session), a TestClient, MNIST slices."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# One home for these helpers (the benchmark and the soak use them too); tests import them from here.
from app.benchmark.inputs import MNIST_DIR, data_url  # noqa: E402, F401
from app.benchmark.inputs import png as png_bytes  # noqa: E402
from app.config import Settings  # noqa: E402
from app.inference.registry import Registry  # noqa: E402
from app.main import create_app  # noqa: E402
from app.training.data import Mnist, load_mnist  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the repository checkout the tests run from
# The pen-digit strokes: $DIGIT_LAB_PEN, else the shared data folder beside MNIST's.
PEN_DIR = Path(os.environ.get("DIGIT_LAB_PEN", MNIST_DIR.parent / "pen-digits"))
# CI sets this so that a missing browser or container engine fails the run instead of skipping.
REQUIRE_ALL = os.environ.get("DIGIT_LAB_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip where an optional tool is missing; fail instead when CI demands every check."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (DIGIT_LAB_REQUIRE_ALL=1: this check may not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    """The real MNIST files (tests take small slices of them; never the network)."""
    if not MNIST_DIR.is_dir():
        skip_or_fail(f"MNIST files not found in {MNIST_DIR} (set DIGIT_LAB_MNIST)")
    return load_mnist(MNIST_DIR)


@pytest.fixture(scope="session")
def pen_digits() -> list:
    """The real pen-digit strokes, all 30 writers (tests pick the split they need)."""
    from app.training.pen import load_pen_digits

    if not PEN_DIR.is_dir():
        skip_or_fail(f"pen digits not found in {PEN_DIR} (set DIGIT_LAB_PEN)")
    return load_pen_digits(PEN_DIR)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def registry(settings: Settings) -> Registry:
    """The shipped models, loaded and warmed once for the whole session."""
    return Registry.load(settings.models_dir, settings.default_model, settings.runtime)


@pytest.fixture(scope="session")
def client(settings: Settings, registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(settings, registry)) as test_client:
        yield test_client


def canvas_png(digit: np.ndarray, size: int = 280, variant: str = "upscaled") -> bytes:
    """Render a 28x28 MNIST digit the way a canvas would send it (see test_accuracy for the variants)."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))
    if variant == "upscaled":  # white on black, as MNIST
        return png_bytes(big)
    if variant == "inverted":  # dark ink on a white page
        return png_bytes(255 - big)
    if variant == "corner":  # shrunk to a third, in the top-left corner of a white canvas
        small = np.asarray(Image.fromarray(digit).resize((size // 3, size // 3), Image.Resampling.BILINEAR))
        page = np.full((size, size), 255, dtype=np.uint8)
        page[10 : 10 + size // 3, 10 : 10 + size // 3] = 255 - small
        return png_bytes(page)
    if variant == "transparent":  # black strokes on a fully transparent canvas
        rgba = np.zeros((size, size, 4), dtype=np.uint8)
        rgba[..., 3] = big
        return png_bytes(rgba, "RGBA")
    raise ValueError(variant)
