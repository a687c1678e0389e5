"""Search registers itself through the same hooks a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from goldpath.core.hookspecs import hookimpl

# Imported lazily: the CLI loads every plugin to find its commands and must start fast.
if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from goldpath.core.platform import Platform
    from goldpath.core.tasks import PeriodicJob, TaskContext

log = structlog.get_logger("goldpath.search")


@hookimpl
def goldpath_migration_dirs() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]


@hookimpl
def goldpath_services(platform: Platform) -> dict[str, Any]:
    from goldpath.search.service import SearchService

    return {"search": SearchService(platform)}


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.search import api, pages

    return [api.router, pages.router]


@hookimpl
def goldpath_cli(app: typer.Typer) -> None:
    from goldpath.search.cli import search_app

    app.add_typer(search_app, name="search")


@hookimpl
def goldpath_task_handlers(platform: Platform) -> dict[str, Callable[..., Any]]:
    from goldpath.search.service import REINDEX_TASK, get_search

    def reindex(ctx: TaskContext) -> dict[str, Any]:
        service = get_search(platform)
        # The periodic run is a safety net: skipped when a reindex ran within its interval
        # (at the first start of an installation, say, or just asked for).
        within = ctx.task.payload.get("unless_within_seconds")
        if isinstance(within, int | float) and service.seconds_since_reindex() < within:
            return {"skipped": "a reindex ran recently"}
        return service.reindex(progress=ctx.progress)

    return {REINDEX_TASK: reindex}


@hookimpl
def goldpath_periodic_jobs(platform: Platform) -> list[PeriodicJob]:
    from goldpath.core.tasks import PeriodicJob
    from goldpath.search.service import REINDEX_TASK, get_search

    interval = get_search(platform).reindex_interval()
    if interval <= 0:
        return []
    return [
        PeriodicJob(
            key="search.reindex",
            kind=REINDEX_TASK,
            interval_seconds=interval,
            payload={"unless_within_seconds": interval / 2},
        )
    ]


@hookimpl
def goldpath_startup(platform: Platform) -> None:
    from goldpath.search.service import get_search

    task_id = get_search(platform).ensure_fresh()
    if task_id:
        log.info("search index out of date; rebuilding in the background", task=task_id)


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Search", "href": "/search"}]


def _reindex_later(platform: Platform, what: str) -> None:
    """An index write failed: the catalog's change stands, so heal the index instead."""
    from goldpath.search.service import get_search

    log.exception("search index update failed; a reindex is scheduled", change=what)
    try:
        get_search(platform).schedule_reindex()
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.exception("could not schedule a search reindex")


@hookimpl
def goldpath_catalog_changed(platform: Platform, written: list[str], deleted: list[str]) -> None:
    from goldpath.search.service import get_search

    try:
        get_search(platform).entities_changed(written, deleted)
    except Exception:  # noqa: BLE001 - a search failure must not fail a catalog write
        _reindex_later(platform, f"{len(written)} written, {len(deleted)} deleted")


@hookimpl
def goldpath_docs_built(platform: Platform, entity_ref: str, pages: list[dict[str, Any]]) -> None:
    from goldpath.search.service import get_search

    try:
        get_search(platform).docs_built(entity_ref, pages)
    except Exception:  # noqa: BLE001 - the docs build itself succeeded
        log.exception("indexing docs failed", entity=entity_ref)
