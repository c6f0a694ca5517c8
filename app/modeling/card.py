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


class Calibration(BaseModel):
    """Temperature scaling, fitted on validation data and baked into the output layer."""

    temperature: float = Field(description="The logits were divided by this before softmax (1 = unchanged).")
    fitted_on: str
    ece_before: dict[str, float] = Field(description="Expected calibration error (15 bins) by data set, before.")
    ece_after: dict[str, float] = Field(description="The same after calibration.")


class VerdictThresholds(BaseModel):
    """How an answer's verdict is decided from the calibrated top probability (see app/verdict.py)."""

    not_digit_below: float = Field(description="Top probability under this: not a digit.")
    unsure_below: float = Field(description="Top probability under this (and not under the first): unsure.")
    fitted_on: str


class PenRecord(BaseModel):
    """Real pen digits of writers the model never saw (`digit-lab evaluate --pen ... --record`)."""

    accuracy: float
    by_size: dict[str, float] = Field(description="Accuracy by the digit's height as a share of the pad's.")
    per_class_accuracy: list[float]
    writers: list[int]
    drawings: int
    ece: float | None = None


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
    trained_on: list[str] = Field(default_factory=list, description="Data sets training read, besides MNIST.")
    calibration: Calibration | None = None
    verdict: VerdictThresholds | None = None
    pen: PenRecord | None = None

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
