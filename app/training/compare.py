"""The family side by side, from the model cards alone: a table for the terminal and for docs/lab.md."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

from app.modeling.card import EpochRecord, ModelCard

COLUMNS = (
    "model", "hidden activation", "optimiser", "test accuracy", "epochs to 97% val",
    "grad ratio first/last (init)", "grad ratio (epoch 1)", "grad ratio (final)",
    "dead units (final)", "saturated (final)", "training time",
)


def read_cards(models_dir: Path) -> list[ModelCard]:
    """Every card in the directory, the default CNN last so the MLPs read as one family."""
    cards = [ModelCard.read(path) for path in sorted(models_dir.glob("*.json"))]
    return sorted(cards, key=lambda card: (card.kind == "cnn", card.id))


def gradient_ratio(record: EpochRecord) -> float | None:
    """First hidden layer's gradient norm over the last one's: ≪ 1 means the gradient vanishes on the way back."""
    norms = list(record.grad_norms.values())
    return norms[0] / norms[-1] if len(norms) > 1 and norms[-1] > 0 else None


def layer_mean(values: dict[str, float]) -> float | None:
    return mean(values.values()) if values else None


def _fmt(value: float | None, pattern: str) -> str:
    return "–" if value is None else format(value, pattern)


def rows(cards: list[ModelCard]) -> list[list[str]]:
    table = []
    for card in cards:
        history = card.history
        first_epoch = history[1] if len(history) > 1 else history[0]
        table.append([
            card.id,
            card.activation,
            card.optimizer,
            f"{card.test_accuracy:.2%}",
            "never" if card.epochs_to_97 is None else str(card.epochs_to_97),
            _fmt(gradient_ratio(history[0]), ".3g"),
            _fmt(gradient_ratio(first_epoch), ".3g"),
            _fmt(gradient_ratio(history[-1]), ".3g"),
            _fmt(layer_mean(history[-1].dead_fraction), ".1%"),
            _fmt(layer_mean(history[-1].saturated_fraction), ".1%"),
            f"{card.training_seconds:.0f} s",
        ])
    return table


def markdown_table(cards: list[ModelCard]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(cards)]
    return "\n".join(lines)


def text_table(cards: list[ModelCard]) -> str:
    table = [list(COLUMNS), *rows(cards)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in table)
