"""The scaffolder registers itself, and its built-in actions, through the plugin hooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from goldpath.core.platform import Platform
    from goldpath.scaffolder.actions.base import Action


@hookimpl
def goldpath_migration_dirs() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]


@hookimpl
def goldpath_services(platform: Platform) -> dict[str, Any]:
    from goldpath.scaffolder.service import ScaffolderService

    return {"scaffolder": ScaffolderService(platform)}


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.scaffolder import api, pages

    return [api.router, pages.router]


@hookimpl
def goldpath_cli(app: typer.Typer) -> None:
    from goldpath.scaffolder.cli import register

    register(app)


@hookimpl
def goldpath_task_handlers(platform: Platform) -> dict[str, Callable[..., Any]]:
    from goldpath.scaffolder.service import RUN_TASK, get_scaffolder

    return {RUN_TASK: lambda ctx: get_scaffolder(platform).run(ctx)}


@hookimpl
def goldpath_shutdown(platform: Platform) -> None:
    from goldpath.scaffolder.service import get_scaffolder

    get_scaffolder(platform).close()


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Create", "href": "/create"}]


@hookimpl
def goldpath_scaffolder_actions(platform: Platform) -> list[Action]:
    from goldpath.scaffolder.actions.catalog import catalog_actions
    from goldpath.scaffolder.actions.debug import debug_actions
    from goldpath.scaffolder.actions.fetch import fetch_actions
    from goldpath.scaffolder.actions.fs import fs_actions
    from goldpath.scaffolder.actions.publish_github import publish_actions

    return [
        *fetch_actions(),
        *fs_actions(),
        *debug_actions(),
        *catalog_actions(),
        *publish_actions(),
    ]
