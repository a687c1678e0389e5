"""TechDocs registers itself through the same hooks a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goldpath.core.hookspecs import hookimpl

# Imported lazily: the CLI loads every plugin to find its commands and must start fast.
if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from goldpath.core.platform import Platform


@hookimpl
def goldpath_migration_dirs() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]


@hookimpl
def goldpath_services(platform: Platform) -> dict[str, Any]:
    from goldpath.docs.service import DocsService

    service = DocsService(platform)
    service.connect()
    return {"docs": service}


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.docs import api, pages

    return [api.router, pages.router]


@hookimpl
def goldpath_cli(app: typer.Typer) -> None:
    from goldpath.docs.cli import docs_app

    app.add_typer(docs_app, name="docs")


@hookimpl
def goldpath_task_handlers(platform: Platform) -> dict[str, Callable[..., Any]]:
    from goldpath.docs.service import BUILD_TASK, CHECK_TASK, get_docs

    return {
        BUILD_TASK: lambda ctx: get_docs(platform).run_build(ctx),
        CHECK_TASK: lambda ctx: get_docs(platform).run_check(ctx),
    }


@hookimpl
def goldpath_catalog_changed(platform: Platform, written: list[str], deleted: list[str]) -> None:
    from goldpath.core.logging import get_logger
    from goldpath.docs.service import get_docs

    try:
        get_docs(platform).on_catalog_changed(written, deleted)
    except Exception:
        # The catalog's change has committed; the next refresh checks these docs again.
        get_logger("goldpath.docs").exception("could not queue a docs check")


@hookimpl
def goldpath_git_pushed(platform: Platform, push: dict[str, Any]) -> None:
    from goldpath.docs.service import get_docs

    get_docs(platform).on_git_pushed(push)


@hookimpl
def goldpath_startup(platform: Platform) -> None:
    from goldpath.docs.service import get_docs

    get_docs(platform).storage  # noqa: B018 - a misconfigured storage fails the start, not a build


@hookimpl
def goldpath_shutdown(platform: Platform) -> None:
    from goldpath.docs.service import get_docs

    if "docs" in platform.services:
        get_docs(platform).close()


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Docs", "href": "/docs"}]
