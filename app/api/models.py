"""What models are loaded, and each one's full card (history included) for the page's charts."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RegistryDep
from app.schemas import ErrorResponse, ModelDetail, ModelList, ModelSummary

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=ModelList, summary="List the available models")
def list_models(registry: RegistryDep) -> ModelList:
    registry.wait()  # list every model, even while some still load in the first seconds
    cards = [loaded.card for loaded in registry.models.values()]
    return ModelList(
        default=registry.default,
        models=[
            ModelSummary(
                id=card.id,
                title=card.title,
                kind=card.kind,
                activation=card.activation,
                parameters=card.parameters,
                test_accuracy=card.test_accuracy,
                default=card.id == registry.default,
            )
            for card in sorted(cards, key=lambda c: (c.id != registry.default, c.kind != "cnn", c.id))
        ],
    )


# 422 is declared so the schema shows our error shape, not FastAPI's default list of validation errors.
@router.get("/{model_id}", response_model=ModelDetail,
            responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
            summary="One model's card, with its per-epoch training history")
def get_model(model_id: str, registry: RegistryDep) -> ModelDetail:
    return registry.get(model_id).card
