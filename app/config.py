"""Settings from environment variables (prefix DIGIT_LAB_), with defaults that run the demo as shipped.

`digit-lab serve` builds one Settings with its flags as explicit overrides (a flag beats the environment); the
app, the registry and uvicorn all read that one object."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.assets import asset_dir
from app.modeling import DEFAULT_MODEL


class Settings(BaseSettings):
    """Every limit and location in one place; `DIGIT_LAB_MAX_BATCH=16` and so on override them."""

    model_config = SettingsConfigDict(env_prefix="DIGIT_LAB_", env_file=None, extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to bind (0.0.0.0 in a container).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port).")
    workers: int = Field(1, ge=1, description="Server processes, each with its own socket on the port.")
    graceful_timeout: int = Field(10, ge=0, description="Seconds in-flight requests get to finish after SIGTERM.")
    models_dir: Path = Field(default_factory=lambda: asset_dir("models"),
                             description="Directory of <id>.keras + <id>.json (default: the shipped models).")
    default_model: str = Field(DEFAULT_MODEL, description="Model used when a request names none.")
    runtime: Literal["keras", "litert"] = Field("keras", description="Inference runtime.")
    preload_all: bool = Field(
        False, description="Load and warm every model before serving. Off: only the default model is, and the "
        "others load in the background right after (a request for one waits for it; /readyz lists them).")
    max_request_bytes: int = Field(2 * 1024 * 1024, gt=0, description="Largest request body accepted.")
    max_image_pixels: int = Field(16_000_000, gt=0, description="Largest width x height decoded.")
    max_image_side: int = Field(10_000, gt=0, description="Longest side decoded, in pixels.")
    max_batch: int = Field(64, gt=0, description="Most images in one /predict/batch request.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    access_log: bool = Field(True, description="Log one line per request (uvicorn's access log). Turn it off "
                             "behind a proxy that logs already: it costs roughly 5-10% of throughput under load.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (off if empty).")


@lru_cache
def get_settings() -> Settings:
    return Settings()
