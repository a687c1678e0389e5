"""Catalog pages of the portal, at Backstage's URLs: ``/catalog`` (the list) and
``/catalog/:namespace/:kind/:name`` (an entity, its tabs at ``?tab=``).

Both work as plain pages; with htmx a filter, sort, page or tab change swaps only the part
that changed (the request says so with ``HX-Request`` and its ``HX-Target``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import QueryParams

from goldpath.catalog import definitions, links, listing, tabs
from goldpath.catalog.query import Condition
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import InputError, NotFoundError
from goldpath.web import pages as web_pages
from goldpath.web.pages import register_static_dir, register_template_dir, templates

router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")
register_static_dir(Path(__file__).parent / "static")
RESULTS_ID = "catalog-results"
PANEL_ID = "entity-panel"
#: Responses differ by these request headers (a fragment for htmx, else the whole page).
VARY = {"Vary": "HX-Request, HX-Target"}
#: Entities with the same name shown on a not-found page.
SUGGESTIONS = 10


def is_fragment_request(request: Request, target: str) -> bool:
    """htmx asks for ``target``'s content only: not a boosted link (that wants a page) nor
    a history restore after a cache miss (that needs the whole page back)."""
    headers = request.headers
    if headers.get("hx-request") != "true":
        return False
    if headers.get("hx-boosted") == "true" or headers.get("hx-history-restore-request") == "true":
        return False
    return headers.get("hx-target") in (None, "", target)


# ------------------------------------------------------------------------- the list
@router.get("/catalog", response_class=HTMLResponse)
def catalog_list(request: Request) -> Response:
    queries = get_catalog(request.app.state.platform).queries
    error: str | None = None
    try:
        state = listing.ListState.from_params(request.query_params)
    except InputError as exc:
        error, state = str(exc), listing.ListState()
    try:
        page = listing.list_page(queries, state)
    except InputError as exc:
        error = error or str(exc)
        page = listing.ListPage([], 0, 0, 0, None, None)
    fragment = is_fragment_request(request, RESULTS_ID)
    # The filters' options depend on the kind only; a fragment re-sends them when it changed.
    facets_changed = not fragment or _kinds_changed(request, state)
    context = web_pages.page_context(
        request,
        state=state,
        page=page,
        selects=listing.facet_selects(queries, state) if facets_changed else [],
        facets_changed=facets_changed,
        error=error,
        sorts=list(listing.SORTS),
        results_id=RESULTS_ID,
    )
    if fragment:
        # htmx swaps only what a 2xx answer holds: the error shows in place of the table.
        headers = {**VARY, "HX-Push-Url": state.url()}
        return templates.TemplateResponse(
            request, "catalog_list_fragment.html", context, headers=headers
        )
    status = 400 if error else 200
    return templates.TemplateResponse(
        request, "catalog_list.html", context, status_code=status, headers=VARY
    )


def _kinds_changed(request: Request, state: listing.ListState) -> bool:
    """Whether the page htmx is on (``HX-Current-URL``) filtered other kinds than ``state``."""
    current = request.headers.get("hx-current-url")
    if not current:
        return True
    try:
        before = listing.ListState.from_params(QueryParams(urlsplit(current).query))
    except InputError:
        return True
    return {k.lower() for k in before.selected("kind")} != {
        k.lower() for k in state.selected("kind")
    }


# ------------------------------------------------------------------------- an entity
def _header(entity: dict[str, Any]) -> dict[str, Any]:
    return {**links.summary(entity), "links": links.entity_links(entity)}


def _not_found(request: Request, kind: str, namespace: str, name: str) -> Response:
    queries = get_catalog(request.app.state.platform).queries
    same_name = queries.query_entities(
        where=((Condition("metadata.name", (name.lower(),)),),),
        fields=["kind", "metadata.name", "metadata.namespace", "metadata.title"],
        limit=SUGGESTIONS,
    )["items"]
    suggestions = [
        {"href": links.entity_href(links.ref_of(e)), "ref": links.ref_of(e)} for e in same_name
    ]
    context = web_pages.page_context(
        request,
        what=f"{kind.lower()}:{namespace}/{name}",
        name=name,
        suggestions=suggestions,
        search_url=listing.ListState(q=name).url(),
    )
    return templates.TemplateResponse(request, "catalog_not_found.html", context, status_code=404)


@router.get("/catalog/{namespace}/{kind}/{name}", response_class=HTMLResponse)
def entity_page(request: Request, namespace: str, kind: str, name: str) -> Response:
    platform = request.app.state.platform
    try:
        entity = get_catalog(platform).queries.by_name(kind, namespace, name)
    except NotFoundError:
        return _not_found(request, kind, namespace, name)
    header = _header(entity)
    found = tabs.entity_tabs(platform, entity)
    wanted = request.query_params.get("tab")
    active = next((t for t in found if t["id"] == wanted), found[0] if found else None)
    panel = tabs.render_tab(active, request, entity) if active else ""
    context = web_pages.page_context(
        request,
        entity=entity,
        header=header,
        tabs=[{**t, "href": f"{header['href']}?tab={quote(t['id'], safe='')}"} for t in found],
        active=active,
        unknown_tab=wanted if wanted and (active is None or active["id"] != wanted) else None,
        panel=panel,
        panel_id=PANEL_ID,
        # Highlighted definitions are on API pages only; any of their tabs may load one.
        styles=definitions.highlight_css() if header["kind"].lower() == "api" else "",
    )
    if is_fragment_request(request, PANEL_ID):
        return templates.TemplateResponse(
            request, "catalog_entity_fragment.html", context, headers=VARY
        )
    return templates.TemplateResponse(request, "catalog_entity.html", context, headers=VARY)


@router.get("/catalog/{namespace}/api/{name}/definition")
def api_definition(request: Request, namespace: str, name: str, format: str = "") -> Response:
    """An API entity's definition: OpenAPI/AsyncAPI as JSON (what swagger-ui reads), any
    other type, or ``?format=raw``, as the text it was written in."""
    entity = get_catalog(request.app.state.platform).queries.by_name("api", namespace, name)
    api_type, text = definitions.definition_of(entity)
    if format == "raw" or api_type not in definitions.DOCUMENT_TYPES:
        return Response(text, media_type="text/plain; charset=utf-8")
    if format not in ("", "json"):
        raise InputError("format must be json or raw", where="format")
    return Response(definitions.definition_json(entity), media_type="application/json")
