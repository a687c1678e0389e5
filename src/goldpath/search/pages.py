"""The portal's search page at Backstage's URL, ``/search?query=``: results of every type
with highlighted snippets, facets to narrow them, cursor paging; as-you-type with htmx."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from goldpath.core.errors import InputError
from goldpath.search.model import FACET_FIELDS, SearchQuery
from goldpath.search.service import get_search
from goldpath.web.pages import register_template_dir, templates

router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")
PAGE_LIMIT = 20
TYPES = {
    "software-catalog": "Catalog",
    "techdocs": "Docs",
    "software-template": "Golden paths",
}
#: Facets shown beside the results, in this order.
SHOWN_FACETS = [
    field for field in ("kind", "type", "owner", "lifecycle", "tags") if field in FACET_FIELDS
]


def highlighted(text: str | None, pre: str, post: str) -> Markup:
    """Escape the text, then turn the search engine's marks into <mark> elements."""
    escaped = str(escape(text or ""))
    # Safe: everything was escaped first; only the engine's own marks become tags.
    return Markup(  # noqa: S704
        escaped.replace(str(escape(pre)), "<mark>").replace(str(escape(post)), "</mark>")
    )


templates.env.filters["search_highlight"] = highlighted


def _filters(request: Request) -> dict[str, list[str]]:
    return {
        field: values
        for field in SHOWN_FACETS
        if (values := [v for v in request.query_params.getlist(field) if v])
    }


def _toggle(request: Request, field: str, value: str) -> str:
    """The URL of this page with ``field=value`` added, or removed when it is there."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    if (field, value) in pairs:
        pairs.remove((field, value))
    else:
        pairs.append((field, value))
    return "/search?" + urlencode(pairs)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> HTMLResponse:
    params = request.query_params
    term = params.get("query", "").strip()
    chosen_type = params.get("type", "")
    filters = _filters(request)
    error = None
    results: dict[str, Any] = {"results": [], "numberOfResults": 0, "facets": {}}
    try:
        results = get_search(request.app.state.platform).query(
            SearchQuery(
                term=term,
                types=[chosen_type] if chosen_type in TYPES else [],
                filters=filters,
                page_cursor=params.get("cursor") or None,
                page_limit=PAGE_LIMIT,
            )
        )
    except InputError as exc:
        error = str(exc)
    context = {
        "term": term,
        "chosen_type": chosen_type,
        "types": TYPES,
        "filters": filters,
        "shown_facets": SHOWN_FACETS,
        "results": results,
        "error": error,
        "toggle": lambda field, value: _toggle(request, field, value),
        "page_url": lambda cursor: (
            "/search?"
            + urlencode(
                [(k, v) for k, v in params.multi_items() if k != "cursor"] + [("cursor", cursor)]
            )
        ),
    }
    # htmx asks for the results alone while the visitor types.
    name = "search_results.html" if request.headers.get("HX-Request") else "search.html"
    return templates.TemplateResponse(request, name, context)
