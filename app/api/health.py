"""Liveness (the process answers) and readiness (models loaded and warmed)."""

from __future__ import annotations

import re

from fastapi import APIRouter

from app import admission
from app.api.deps import RegistryDep, SettingsDep
from app.schemas import Health, Readiness

router = APIRouter(tags=["health"])
# Directories in a load error ("/srv/app/models/relu.keras") tell a visitor about the host: keep the file name only.
DIRECTORIES = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"`]+)+[\\/]")


def public_reason(reason: str) -> str:
    """A load failure as /readyz shows it: the file name and the error, without the server's directories."""
    return DIRECTORIES.sub("", reason)[:300]


@router.get("/healthz", response_model=Health, summary="Alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="Ready: models loaded and warmed")
async def readyz(registry: RegistryDep, settings: SettingsDep) -> Readiness:
    """Uvicorn accepts connections only after the lifespan has loaded and warmed the models, so an
    answer means ready; `failed` names any model that did not load while the others serve."""
    return Readiness(
        ready=registry.default in registry.models,
        runtime=settings.runtime,
        loaded=sorted(registry.models),
        loading=list(registry.loading),
        failed={model_id: public_reason(reason) for model_id, reason in registry.failed.items()},
        saturated=admission.heavy.saturated,
        heavy=admission.heavy.report(),
    )
