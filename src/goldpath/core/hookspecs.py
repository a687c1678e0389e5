"""The whole extension API of goldpath, one hook per capability.

Built-in features implement these exactly as a third-party plugin does (see
``plugins.DEFAULT_PLUGINS``); third parties register through the ``goldpath.plugins``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from goldpath.core.platform import Platform
    from goldpath.core.tasks import PeriodicJob

hookspec = pluggy.HookspecMarker("goldpath")
hookimpl = pluggy.HookimplMarker("goldpath")


@hookspec
def goldpath_migration_dirs() -> list[Path]:  # type: ignore[empty-body]
    """Alembic version directories holding this plugin's migrations."""


@hookspec
def goldpath_services(platform: Platform) -> dict[str, Any]:  # type: ignore[empty-body]
    """Service objects to expose as ``platform.services[name]``."""


@hookspec
def goldpath_routers(platform: Platform) -> list[APIRouter]:  # type: ignore[empty-body]
    """FastAPI routers (API and portal pages) to mount on the app."""


@hookspec
def goldpath_cli(app: typer.Typer) -> None:
    """Add command groups to the ``goldpath`` CLI."""


@hookspec
def goldpath_task_handlers(  # type: ignore[empty-body]
    platform: Platform,
) -> dict[str, Callable[..., Any]]:
    """Durable task handlers by task kind."""


@hookspec
def goldpath_periodic_jobs(platform: Platform) -> list[PeriodicJob]:  # type: ignore[empty-body]
    """Jobs the scheduler enqueues on an interval (one active run per job key)."""


@hookspec
def goldpath_startup(platform: Platform) -> None:
    """Called once the database is migrated and services exist (serve, worker, up)."""


@hookspec
def goldpath_shutdown(platform: Platform) -> None:
    """Called when the process stops."""


@hookspec
def goldpath_demo_data(platform: Platform) -> None:
    """Load this plugin's part of the demo organisation (``goldpath up``)."""


@hookspec
def goldpath_catalog_providers(platform: Platform) -> list[Any]:  # type: ignore[empty-body]
    """Catalog entity providers (see ``goldpath.catalog.providers.EntityProvider``)."""


@hookspec
def goldpath_scaffolder_actions(platform: Platform) -> list[Any]:  # type: ignore[empty-body]
    """Scaffolder actions (``goldpath.scaffolder.actions.base.Action``) templates can use."""


@hookspec
def goldpath_url_readers(platform: Platform) -> list[Any]:  # type: ignore[empty-body]
    """Readers for URLs goldpath serves itself (``goldpath.core.urlreaders.UrlReader``)."""


@hookspec
def goldpath_nav_items() -> list[dict[str, str]]:  # type: ignore[empty-body]
    """Portal navigation entries: ``{"title", "href"}``."""


@hookspec
def goldpath_git_pushed(platform: Platform, push: dict[str, Any]) -> None:
    """A hosted ref moved: ``{owner, name, ref, before, after, created, deleted, pusher}``."""


@hookspec
def goldpath_catalog_changed(platform: Platform, written: list[str], deleted: list[str]) -> None:
    """Final entities changed (ref keys ``kind:ns/name``), called after the change committed."""


@hookspec
def goldpath_docs_built(platform: Platform, entity_ref: str, pages: list[dict[str, Any]]) -> None:
    """A TechDocs site was stored for ``entity_ref``; ``pages``: ``{path, title, text,
    sections: [{id, title, text}]}`` (``path`` relative to the site root, ``id`` an anchor)."""


@hookspec
def goldpath_entity_tabs(  # type: ignore[empty-body]
    platform: Platform, entity: dict[str, Any]
) -> list[dict[str, Any]]:
    """Tabs for this entity's portal page, if they apply to it: ``{"id", "title", "order",
    "render": (request, entity) -> HTML str}``; shown at ``?tab=<id>``."""


@hookspec
def goldpath_home_cards(platform: Platform) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Cards for the portal's home page: ``{"id", "title", "order", "render": (request) -> HTML
    str}``."""


@hookspec(firstresult=True)
def goldpath_error_page(request: Any, status: int, detail: str) -> Any:
    """An HTML page (a Starlette ``Response``) for an error on a portal request, or None."""
