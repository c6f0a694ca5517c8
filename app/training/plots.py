"""The lab's charts as PNG files for docs/lab.md, drawn from the model cards (matplotlib, optional extra)."""

from __future__ import annotations

from pathlib import Path

from app.modeling.card import ModelCard

FIGURE_SIZE = (7.5, 4.2)
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def accuracy_curves(cards: list[ModelCard], path: Path) -> Path:
    """Validation accuracy per epoch, one line per model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    for card in cards:
        epochs = [r.epoch for r in card.history if r.val_accuracy is not None]
        ax.plot(epochs, [r.val_accuracy for r in card.history if r.val_accuracy is not None],
                marker="o", markersize=3, label=f"{card.id} ({card.test_accuracy:.1%})")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set(xlabel="epoch", ylabel="validation accuracy", title="Learning curves (test accuracy in brackets)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def gradient_profiles(cards: list[ModelCard], path: Path, epoch: int = 1) -> Path:
    """Gradient norm per hidden layer (log scale) after `epoch`: a falling line to the left is a vanishing gradient."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    for card in cards:
        record = card.history[min(epoch, len(card.history) - 1)]
        layers = list(record.grad_norms)
        ax.plot(range(1, len(layers) + 1), list(record.grad_norms.values()), marker="o", label=card.id)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set(xlabel="hidden layer (1 = nearest the input)", ylabel="gradient norm (log scale)",
           title=f"Gradient reaching each layer after epoch {epoch}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def unit_health(cards: list[ModelCard], path: Path) -> Path:
    """Per epoch: share of dead units (ReLU family) and of saturated activations (sigmoid, tanh)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    for card in cards:
        for field, style in (("dead_fraction", "-"), ("saturated_fraction", "--")):
            points = [(r.epoch, sum(getattr(r, field).values()) / len(getattr(r, field)))
                      for r in card.history if getattr(r, field)]
            if points:
                label = f"{card.id} {'dead' if field == 'dead_fraction' else 'saturated'}"
                ax.plot(*zip(*points, strict=True), style, marker=".", label=label)
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set(xlabel="epoch", ylabel="share of units / activations",
           title="Units never positive (ReLU family) and saturated activations (sigmoid, tanh)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def write_all(cards: list[ModelCard], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    mlps = [card for card in cards if card.kind == "mlp"]
    return [
        accuracy_curves(cards, out_dir / "lab-accuracy.png"),
        gradient_profiles(mlps, out_dir / "lab-gradients.png"),
        unit_health(mlps, out_dir / "lab-units.png"),
    ]
