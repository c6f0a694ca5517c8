"""Start-up: the default model is warm before the server is ready; the others load in the background and are
still served from the first request on (a request for one waits for it), and /readyz says what is loading."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.inference.registry import Registry
from app.main import create_app


def runtime_for(settings: Settings) -> str:
    """LiteRT when every model has its .tflite (fast to load), else the default runtime."""
    ids = [p.stem for p in settings.models_dir.glob("*.json")]
    return "litert" if all((settings.models_dir / f"{i}.tflite").is_file() for i in ids) else settings.runtime


def test_background_loading_serves_every_model(settings: Settings) -> None:
    ids = sorted(p.stem for p in settings.models_dir.glob("*.json"))
    if len(ids) < 2:
        pytest.skip("needs at least two models")
    registry = Registry.load(settings.models_dir, settings.default_model, runtime_for(settings), others="background")
    assert settings.default_model in registry.models  # ready means the default is loaded and warm
    assert set(registry.loading) <= set(ids) - {settings.default_model}
    other = next(i for i in ids if i != settings.default_model)
    assert registry.get(other).card.id == other  # waits for it if it is still loading
    registry.wait()
    assert registry.loading == [] and set(registry.models) | set(registry.failed) == set(ids)


def test_readyz_lists_models_still_loading(settings: Settings) -> None:
    registry = Registry.load(settings.models_dir, settings.default_model, runtime_for(settings), others="skip")
    registry.loading = ["later"]  # as while the background loader runs
    with TestClient(create_app(settings, registry)) as client:
        body = client.get("/readyz").json()
    assert body["ready"] is True and body["loading"] == ["later"] and body["loaded"] == [settings.default_model]


def test_preloading_everything_is_the_default_for_direct_loads(settings: Settings) -> None:
    registry = Registry.load(settings.models_dir, settings.default_model, runtime_for(settings))
    assert registry.loading == []
    assert set(registry.models) | set(registry.failed) == {p.stem for p in settings.models_dir.glob("*.json")}


def test_the_start_up_check_starts_no_compilation_and_exits_cleanly(settings: Settings) -> None:
    """`serve --workers N` checks the default model in a child that then exits. That child used to start XLA's
    background compilation, and TensorFlow aborted the exiting process (exit 134) when the compiler was still
    running — often on a busy machine — so a healthy server refused to start."""
    from app.cli import check_default_model

    registry = Registry.load(settings.models_dir, settings.default_model, "keras", others="skip")
    runtime = registry.models[settings.default_model].runtime
    assert not runtime._compiling.locked() and not runtime.compiled.is_set()  # never started
    assert check_default_model() is None
