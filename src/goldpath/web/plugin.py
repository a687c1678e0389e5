"""The portal registers through the same hooks as every feature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from goldpath.core.platform import Platform


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.web.pages import router

    return [router]


@hookimpl
def goldpath_nav_items() -> list[dict[str, str]]:
    return [{"title": "Home", "href": "/"}]


@hookimpl
def goldpath_home_cards(platform: Platform) -> list[dict[str, Any]]:
    from goldpath.web.home import builtin_cards

    return builtin_cards(platform)


@hookimpl
def goldpath_error_page(request: Request, status: int, detail: str) -> Any:
    from goldpath.web.pages import error_page

    return error_page(request, status, detail)
