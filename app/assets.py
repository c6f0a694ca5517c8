"""Where the shipped files are: the page's static/ and templates/, and the trained models/.

In the repository they sit beside app/ (the layout people edit); in an installed wheel setuptools has put them
inside the package as app/static, app/templates and app/models (see pyproject.toml). Everything that needs one of
them asks `asset_dir`, so a source checkout and an installed package behave alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent  # the repository, when running from a checkout

Asset = Literal["static", "templates", "models"]


def asset_dir(name: Asset) -> Path:
    """The directory of one kind of shipped file: the installed package's copy first, the source checkout's second.

    When neither exists the installed location is returned, so the error that follows names where it looked."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    source = SOURCE_ROOT / name
    return source if source.is_dir() else installed


def from_source_checkout() -> bool:
    """True when the shipped files come from a repository checkout rather than an installed wheel."""
    return not (PACKAGE_DIR / "models").is_dir() and (SOURCE_ROOT / "models").is_dir()


def output_models_dir() -> Path:
    """Where `digit-lab train` and `export` write by default: the checkout's models/ (what the server serves), or
    ./models when installed (never into site-packages)."""
    return asset_dir("models") if from_source_checkout() else Path("models")
