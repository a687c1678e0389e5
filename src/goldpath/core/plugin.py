"""The core registers its own tables like any feature does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from fastapi import APIRouter

    from goldpath.core.platform import Platform


@hookimpl
def goldpath_migration_dirs() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.core.api import router

    return [router]
