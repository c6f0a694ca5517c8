"""The model card: the JSON written next to each model by training and read by the server.

One schema for both sides, so a card the server accepts is a card training can produce.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class EpochRecord(BaseModel):
    """What training measured at the end of one epoch (epoch 0 = before any training)."""

    epoch: int
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    seconds: float | None = Field(None, description="Wall time of this epoch's training.")
    grad_norms: dict[str, float] = Field(
        default_factory=dict, description="L2 norm of the loss gradient w.r.t. each hidden layer's kernel."
    )
    dead_fraction: dict[str, float] = Field(
        default_factory=dict,
        description="ReLU-family layers: share of units that never activate on the probe validation batch.",
    )
    saturated_fraction: dict[str, float] = Field(
        default_factory=dict,
        description="Sigmoid/tanh layers: share of activations whose derivative is under 10% of its peak.",
    )


class ModelCard(BaseModel):
    """Everything a person (or the page) needs to trust and compare a model."""

    id: str
    title: str
    kind: str = Field(description="'cnn' or 'mlp'.")
    activation: str = Field(description="The hidden activation.")
    architecture: list[str] = Field(description="One line per layer: name, type, output shape, parameters.")
    parameters: int
    optimizer: str
    learning_rate: float
    batch_size: int
    augmented: bool
    epochs: int
    seed: int
    test_accuracy: float = Field(description="On the full 10,000-image MNIST test set.")
    per_class_accuracy: list[float]
    confusion_matrix: list[list[int]] = Field(description="Rows: true digit; columns: predicted digit.")
    epochs_to_97: int | None = Field(None, description="First epoch with validation accuracy ≥ 97%.")
    training_seconds: float
    trained_at: str
    data_source: str
    data_checksum: str
    versions: dict[str, str]
    history: list[EpochRecord] = Field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
