"""Pydantic request and response models: the API's contract, with examples for /docs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.modeling import DEFAULT_MODEL
from app.modeling.card import ModelCard

# A 28x28 PNG of a "7" from the MNIST test set, dark on white, for /docs' "Try it out".
EXAMPLE_IMAGE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAA2ElEQVR42mP8z4AbMDEMJUkWCL"
    "VmthRHtIQKmiQjxJ9KDxgYGHi1oYIyZSbIOmdf1Lp2/sAJ2ccMDCyizxnkTJB1MjAwMDC8P29ymoGBQ03z3ZQsiMh/DLCGSe"
    "8thIUp+VKMYQ2UiemVqa8F1WFsdI1H2BgP/selc9tvZ0sGHDq/GbEfhXPQJRsZPf/jktzCwn8Ml+QbJcbI/zgk/5gwqtzBJX"
    "mTkXHTfxySD+QZe/4hSyL7c9YjBntGFE8j1B3iZWQ8/R+HziNfGJR5sCUTCNDfK4QtmWAHAPRoNF1JY7DJAAAAAElFTkSuQm"
    "CC"
)
MODEL_ID_HELP = "A model id from GET /models; the default model when omitted."
# Requests must match the schema exactly: no unknown fields, and no silent coercion (`"explain": 0` is an error,
# not False), so what /docs promises is what the server accepts.
REQUEST_CONFIG = ConfigDict(extra="forbid", strict=True)
ImageField = Field(
    description="A base64 data URL (`data:image/png;base64,...`) or bare base64 of a PNG, JPEG, WebP, GIF or BMP.",
    min_length=1,
    examples=[EXAMPLE_IMAGE],
)


class PredictRequest(BaseModel):
    model_config = REQUEST_CONFIG

    image: str = ImageField
    model: str | None = Field(None, max_length=200, description=MODEL_ID_HELP, examples=[DEFAULT_MODEL])
    explain: bool = Field(False, description="Also return hidden-layer activations and the logits.")


class BatchRequest(BaseModel):
    model_config = REQUEST_CONFIG

    images: list[str] = Field(min_length=1, description="Images as in /predict, answered in order.",
                              examples=[[EXAMPLE_IMAGE, EXAMPLE_IMAGE]])
    model: str | None = Field(None, max_length=200, description=MODEL_ID_HELP)


class CompareRequest(BaseModel):
    model_config = REQUEST_CONFIG

    image: str = ImageField


class LayerActivations(BaseModel):
    name: str = Field(description="Layer name, e.g. act_1.")
    shape: list[int] = Field(description="(units,) for dense layers; (channels, 7, 7) for pooled conv maps.")
    values: list = Field(description="The activations, nested to `shape`.")


class Explanation(BaseModel):
    logits: list[float] = Field(description="The output layer before softmax.")
    layers: list[LayerActivations]


VERDICT_HELP = (
    "How sure the answer is. `digit`: the model is confident it is `digit`. `unsure`: it could be one of "
    "`alternatives`. `not-a-digit`: the ink is not one digit. Softmax always sums to 1, so `digit` and "
    "`probabilities` name a most likely digit even for a letter or a scribble; the verdict says whether to trust "
    "it. Decided from the ink's shape on the 28x28 input (a filled blob such as a dot, a straight stroke that is "
    "not upright, two shapes side by side) and from the calibrated top probability against the two thresholds in "
    "the model's card (`verdict.not_digit_below`, `verdict.unsure_below`; GET /models/{id}), fitted on "
    "validation data."
)
REASON_HELP = (
    "Why: `confident`, `low-confidence` (top probability under a threshold), `blob`, `straight-line` or "
    "`several-shapes` (more than one digit, or a digit and something else)."
)


class Alternative(BaseModel):
    digit: int = Field(ge=0, le=9)
    probability: float


class Prediction(BaseModel):
    digit: int = Field(ge=0, le=9, description="The most probable digit.")
    probabilities: list[float] = Field(min_length=10, max_length=10, description="Softmax over 0-9; sums to 1.")
    verdict: Literal["digit", "unsure", "not-a-digit"] = Field(description=VERDICT_HELP, examples=["digit"])
    reason: Literal["confident", "low-confidence", "blob", "straight-line", "several-shapes"] = Field(
        description=REASON_HELP, examples=["confident"])
    alternatives: list[Alternative] | None = Field(
        None, description="When unsure: the two or three likeliest digits, likeliest first.")
    model: str
    input: list[list[float]] = Field(description="The 28x28 image the model saw, 0 (black) to 1 (white).")
    elapsed_ms: float = Field(description="Server time for decode, preprocessing and inference.")
    explain: Explanation | None = None


class ModelAnswer(BaseModel):
    model: str
    digit: int = Field(ge=0, le=9)
    probabilities: list[float] = Field(min_length=10, max_length=10)
    verdict: Literal["digit", "unsure", "not-a-digit"] = Field(description=VERDICT_HELP)
    reason: Literal["confident", "low-confidence", "blob", "straight-line", "several-shapes"] = Field(
        description=REASON_HELP)
    alternatives: list[Alternative] | None = None


class BatchResponse(BaseModel):
    predictions: list[Prediction]


class CompareResponse(BaseModel):
    input: list[list[float]]
    answers: list[ModelAnswer]
    elapsed_ms: float


class ModelSummary(BaseModel):
    id: str
    title: str
    kind: str
    activation: str
    parameters: int
    test_accuracy: float
    default: bool


class ModelList(BaseModel):
    default: str
    models: list[ModelSummary]


ModelDetail = ModelCard


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    ready: bool
    runtime: str
    loaded: list[str]
    loading: list[str] = Field(default_factory=list,
                               description="Models still loading in the background; a request for one waits.")
    failed: dict[str, str] = Field(description="Models that did not load, with the reason.")


class ErrorResponse(BaseModel):
    detail: str = Field(description="What went wrong, in words a person understands.")
