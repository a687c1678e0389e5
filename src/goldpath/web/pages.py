"""The portal shell: template environment, the context every page gets, static files, the
home page and the error pages. Features add pages with templates of their own that extend
``base.html``."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader

from goldpath import __version__
from goldpath.core.logging import get_logger
from goldpath.web import assets

log = get_logger("goldpath.web")
STATIC_DIRS: list[Path] = [assets.STATIC_DIR]
ERROR_TITLES = {
    400: "That request did not make sense",
    403: "Not allowed",
    404: "Nothing here",
    409: "That clashes with something",
    500: "Something went wrong on our side",
}


#: Where the built-in sections sit in the navigation; plugins may give an ``order``.
NAV_ORDER = {"/": 0, "/catalog": 10, "/create": 20, "/docs": 30, "/search": 40}


def nav_items(request: Request) -> list[dict[str, Any]]:
    hook = request.app.state.platform.plugins.hook
    items = [item for group in hook.goldpath_nav_items() for item in group or []]
    return sorted(items, key=lambda item: item.get("order", NAV_ORDER.get(item["href"], 50)))


def _portal_context(request: Request) -> dict[str, Any]:
    path = request.url.path

    def active_nav(href: str) -> bool:
        return path == href if href == "/" else path == href or path.startswith(href + "/")

    return {
        "nav": nav_items(request),
        "version": __version__,
        "active_nav": active_nav,
        "search_query": request.query_params.get("query", "") if path == "/search" else "",
    }


templates = Jinja2Templates(
    directory=str(Path(__file__).parent / "templates"), context_processors=[_portal_context]
)


def page_context(request: Request, **extra: Any) -> dict[str, Any]:
    """What every page passes to its template (the shell adds nav and version itself; this
    stays for pages that build their context in one place)."""
    return {"nav": nav_items(request), "version": __version__, **extra}


def register_template_dir(path: Path) -> None:
    """Let a feature's pages extend the shell's ``base.html`` with templates of its own."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(path) not in loader.searchpath:
        loader.searchpath.append(str(path))


def register_static_dir(path: Path) -> None:
    """Serve a feature's own static files under ``/static/`` too."""
    if path not in STATIC_DIRS:
        STATIC_DIRS.append(path)


router = APIRouter(include_in_schema=False)


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    for root in STATIC_DIRS:
        candidate = (root / path).resolve()
        # Never a file outside the static folders, whatever the path spells.
        if candidate.is_relative_to(root.resolve()) and candidate.is_file():
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            return FileResponse(
                candidate,
                media_type=media_type,
                headers={"Cache-Control": "public, max-age=3600"},
            )
    if path.startswith("vendor/") and assets.missing():
        log.warning("portal assets are not built; run `make assets`", missing=assets.missing())
    return Response("not found", status_code=404, media_type="text/plain")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    from goldpath.web.home import TEAM_COOKIE

    platform = request.app.state.platform
    cards = [
        card
        for group in platform.plugins.hook.goldpath_home_cards(platform=platform)
        for card in group or []
    ]
    cards.sort(key=lambda card: (card.get("order", 100), card["id"]))
    rendered = [{**card, "html": card["render"](request)} for card in cards]
    response = templates.TemplateResponse(request, "home.html", {"cards": rendered})
    team = request.query_params.get("team")
    if team:
        # Remembered for the next visit, until identity knows the visitor's team.
        response.set_cookie(TEAM_COOKIE, team, max_age=365 * 24 * 3600, samesite="lax")
    return response


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    title = ERROR_TITLES.get(status, "Something went wrong" if status >= 500 else "Not possible")
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "path": request.url.path},
        status_code=status,
    )
