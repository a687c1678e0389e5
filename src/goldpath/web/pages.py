"""Portal pages of the shell itself: the home page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import FileSystemLoader

from goldpath import __version__

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def register_template_dir(path: Path) -> None:
    """Let a feature's pages extend the shell's ``base.html`` with templates of its own."""
    loader = templates.env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(path) not in loader.searchpath:
        loader.searchpath.append(str(path))


router = APIRouter(include_in_schema=False)


def nav_items(request: Request) -> list[dict[str, str]]:
    hook = request.app.state.platform.plugins.hook
    return [item for group in hook.goldpath_nav_items() for item in group or []]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    catalog = request.app.state.platform.services["catalog"]
    facets = catalog.queries.facets(["kind"], None)["facets"]["kind"]
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "nav": nav_items(request),
            "version": __version__,
            "kinds": sorted(facets, key=lambda f: -f["count"]),
            "locations": catalog.list_locations(),
        },
    )
