"""`digit-lab train --learning-rate`: the lesson's dying-ReLU run is the recipe with one number changed,
written under its own id so it never replaces a served model."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import main
from tests.conftest import MNIST_DIR


def test_learning_rate_override_gets_its_own_id_and_card(mnist, tmp_path: Path) -> None:
    code = main(["train", "--model", "relu", "--learning-rate", "0.5", "--epochs", "1", "--limit", "512",
                 "--test-limit", "200", "--data", str(MNIST_DIR), "--out", str(tmp_path)])
    assert code == 0
    card = json.loads((tmp_path / "relu-lr0.5.json").read_text())
    assert card["id"] == "relu-lr0.5" and card["activation"] == "relu"
    assert card["learning_rate"] == 0.5 and card["optimizer"] == "sgd"
    assert not (tmp_path / "relu.json").exists()
