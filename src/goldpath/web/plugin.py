"""The portal registers through the same hooks as every feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from fastapi import APIRouter

    from goldpath.core.platform import Platform


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.web.pages import router

    return [router]


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Home", "href": "/"}, {"title": "API", "href": "/api/docs"}]
