"""The command line: one Settings object that the environment sets and `digit-lab serve` flags override
explicitly (never by writing the environment); bad values and unreadable inputs are one line and exit status 2."""

from __future__ import annotations

import os

import pytest

from app.cli import build_parser, main, serve_settings
from app.modeling import DEFAULT_MODEL


def settings_for(*flags: str):
    return serve_settings(build_parser().parse_args(["serve", *flags]))


def test_flags_override_the_environment_and_unset_flags_do_not(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DIGIT_LAB_PORT", "9000")
    monkeypatch.setenv("DIGIT_LAB_WORKERS", "3")
    monkeypatch.setenv("DIGIT_LAB_HOST", "0.0.0.0")
    before = dict(os.environ)
    settings = settings_for("--port", "9100", "--model-dir", str(tmp_path), "--graceful-timeout", "4")
    assert (settings.port, settings.workers, settings.host) == (9100, 3, "0.0.0.0")
    assert settings.models_dir == tmp_path and settings.graceful_timeout == 4
    assert dict(os.environ) == before, "the CLI must not pass settings through the environment"


def test_defaults_without_environment_or_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DIGIT_LAB_")]:
        monkeypatch.delenv(name)
    settings = settings_for()
    assert (settings.host, settings.port, settings.workers, settings.default_model) == (
        "127.0.0.1", 8000, 1, DEFAULT_MODEL)
    assert (settings.models_dir / f"{DEFAULT_MODEL}.json").is_file()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("DIGIT_LAB_WORKERS", "0", "DIGIT_LAB_WORKERS: Input should be greater than or equal to 1"),
    ("DIGIT_LAB_PORT", "eighty", "DIGIT_LAB_PORT: Input should be a valid integer"),
    ("DIGIT_LAB_RUNTIME", "onnx", "DIGIT_LAB_RUNTIME: Input should be 'keras' or 'litert'"),
])
def test_a_bad_environment_value_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys, name: str,
                                                         value: str, says: str) -> None:
    monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"digit-lab serve: invalid setting {says}"), err


def test_a_flag_out_of_range_names_the_flag(capsys) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert capsys.readouterr().err.startswith("digit-lab serve: invalid setting --port: ")


def test_training_from_missing_data_is_one_line(tmp_path, capsys) -> None:
    assert main(["train", "--model", "linear", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digit-lab train: cannot read MNIST from "), err


@pytest.mark.parametrize("which", ["--touching", "--pairs"])
def test_training_number_readings_own_models_needs_pen_digits(tmp_path, capsys, which) -> None:
    assert main(["train", which, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"digit-lab train: {which} needs --pen (the pen-digit strokes)"
    assert not list(tmp_path.iterdir())
