"""Start-up: the default model is warm before the server is ready; the others load in the background and are
still served from the first request on (a request for one waits for it), and /readyz says what is loading."""

from __future__ import annotations

import shutil
from pathlib import Path

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
    registry = Registry.load(settings.models_dir, settings.default_model, runtime_for(settings), background=True)
    assert settings.default_model in registry.models  # ready means the default is loaded and warm
    assert set(registry.loading) <= set(ids) - {settings.default_model}
    other = next(i for i in ids if i != settings.default_model)
    assert registry.get(other).card.id == other  # waits for it if it is still loading
    registry.wait()
    assert registry.loading == [] and set(registry.models) | set(registry.failed) == set(ids)


def test_readyz_lists_models_still_loading(settings: Settings, tmp_path: Path) -> None:
    for path in settings.models_dir.glob(f"{settings.default_model}.*"):  # the default model alone
        shutil.copy(path, tmp_path)
    registry = Registry.load(tmp_path, settings.default_model, runtime_for(settings))
    registry.loading = ["later"]  # as while the background loader runs
    with TestClient(create_app(settings, registry)) as client:
        body = client.get("/readyz").json()
    assert body["ready"] is True and body["loading"] == ["later"] and body["loaded"] == [settings.default_model]


def test_preloading_everything_is_the_default_for_direct_loads(settings: Settings) -> None:
    registry = Registry.load(settings.models_dir, settings.default_model, runtime_for(settings))
    assert registry.loading == []
    assert set(registry.models) | set(registry.failed) == {p.stem for p in settings.models_dir.glob("*.json")}


def test_the_start_up_check_loads_the_default_model_in_a_child(settings: Settings, tmp_path: Path) -> None:
    """`serve --workers N` checks the default model in a child process before starting the workers."""
    from app.cli import check_default_model

    assert check_default_model(settings.models_dir, settings.default_model, "keras") is None
    problem = check_default_model(tmp_path, settings.default_model, "keras")
    assert problem is not None and "no model cards" in problem
