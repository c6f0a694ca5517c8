"""The benchmark's in-process timing of a whole request: it drives the real app, and a failing request is an error,
not a fast figure."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.benchmark.bench import app_for, app_request_us, canvas_png, sample_digits
from app.config import Settings
from app.inference.registry import LoadedModel, load_runtime
from app.modeling.card import ModelCard
from tests.conftest import data_url


def in_own_thread(fn, *args):
    """The timing runs its own event loop (asyncio.run); Playwright's may be running in the main thread."""
    with ThreadPoolExecutor(1) as own_thread:
        return own_thread.submit(fn, *args).result()


@pytest.fixture(scope="module")
def loaded(settings: Settings) -> LoadedModel:
    runtime = load_runtime("litert", settings.models_dir, settings.default_model)
    runtime.warm()
    return LoadedModel(ModelCard.read(settings.models_dir / f"{settings.default_model}.json"), runtime)


def test_a_whole_request_through_the_app_is_timed(settings: Settings, loaded: LoadedModel) -> None:
    body = json.dumps({"image": data_url(canvas_png(sample_digits(1)[0]))}).encode()
    assert in_own_thread(app_request_us, app_for(settings, loaded), body, 20) > 0


def test_a_request_the_app_refuses_fails_the_timing(settings: Settings, loaded: LoadedModel) -> None:
    with pytest.raises(RuntimeError, match="answered \\[422\\]"):
        in_own_thread(app_request_us, app_for(settings, loaded), json.dumps({"image": "not an image"}).encode(), 5)
