"""The catalog registers itself through the same hooks a third-party plugin uses."""

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
    from goldpath.core.tasks import PeriodicJob, TaskContext


@hookimpl
def goldpath_migration_dirs() -> list[Path]:
    return [Path(__file__).parent / "migrations" / "versions"]


@hookimpl
def goldpath_services(platform: Platform) -> dict[str, Any]:
    from goldpath.catalog.service import CatalogService

    return {"catalog": CatalogService(platform)}


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.catalog import api_entities, api_locations, pages

    # Locations first: its /entities/by-name/.../ancestry must not be shadowed.
    return [api_locations.router, api_entities.router, pages.router]


@hookimpl
def goldpath_cli(app: typer.Typer) -> None:
    from goldpath.catalog.cli import catalog_app

    app.add_typer(catalog_app, name="catalog")


@hookimpl
def goldpath_task_handlers(platform: Platform) -> dict[str, Callable[..., Any]]:
    from goldpath.catalog.service import REFRESH_ALL_TASK, REFRESH_TASK, get_catalog
    from goldpath.core.errors import NotFoundError
    from goldpath.core.tasks import PermanentTaskError

    def refresh_location(ctx: TaskContext) -> dict[str, Any]:
        try:
            report = get_catalog(platform).processor.refresh_location(
                ctx.task.payload["location_id"], progress=ctx.progress
            )
        except NotFoundError as exc:
            raise PermanentTaskError(str(exc)) from exc
        return report.as_dict()

    def refresh_all(_ctx: TaskContext) -> dict[str, Any]:
        return {"scheduled": get_catalog(platform).refresh_all()}

    return {REFRESH_TASK: refresh_location, REFRESH_ALL_TASK: refresh_all}


@hookimpl
def goldpath_periodic_jobs(platform: Platform) -> list[PeriodicJob]:
    from goldpath.catalog.service import REFRESH_ALL_TASK
    from goldpath.core.tasks import PeriodicJob

    interval = platform.settings.catalog.refresh_interval_seconds
    return [PeriodicJob(key="catalog.refresh", kind=REFRESH_ALL_TASK, interval_seconds=interval)]


@hookimpl
def goldpath_startup(platform: Platform) -> None:
    from goldpath.catalog.providers import ProviderConnection
    from goldpath.catalog.service import get_catalog

    catalog = get_catalog(platform)
    catalog.ensure_static_locations()
    for providers in platform.plugins.hook.goldpath_catalog_providers(platform=platform):
        for provider in providers or []:
            provider.connect(ProviderConnection(catalog.processor, provider.name))


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Catalog", "href": "/catalog"}]


@hookimpl
def goldpath_entity_tabs(platform: Platform, entity: dict[str, Any]) -> list[dict[str, Any]]:
    from goldpath.catalog.tabs import builtin_tabs

    return builtin_tabs(entity)
