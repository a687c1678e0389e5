"""Catalog pages of the portal, at Backstage's URLs (/catalog, /catalog/:namespace/:kind/:name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from goldpath import __version__
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.web.pages import nav_items, register_template_dir, templates

router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")
PAGE_SIZE = 50


def _ref(entity: dict[str, Any]) -> str:
    meta = entity["metadata"]
    return f"{entity['kind'].lower()}:{meta.get('namespace', 'default')}/{meta['name']}"


def entity_href(ref: str) -> str:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return f"/catalog/{namespace}/{kind}/{name}"


@router.get("/catalog", response_class=HTMLResponse)
def catalog_list(
    request: Request,
    kind: str | None = None,
    q: str | None = Query(None, description="Text to look for in names"),
    cursor: str | None = None,
) -> HTMLResponse:
    catalog = get_catalog(request.app.state.platform)
    error = None
    try:
        if cursor:
            page = catalog.queries.query_entities(cursor=cursor, limit=PAGE_SIZE)
        else:
            page = catalog.queries.query_entities(
                filter=[f"kind={kind}"] if kind else None,
                order_fields=["metadata.name,asc"],
                full_text_term=q or None,
                full_text_fields=["metadata.name", "metadata.title", "metadata.description"]
                if q
                else None,
                limit=PAGE_SIZE,
            )
    except GoldpathError as exc:
        error = str(exc)
        page = {"items": [], "totalItems": 0, "pageInfo": {}}
    kinds = catalog.queries.facets(["kind"], None)["facets"]["kind"]
    return templates.TemplateResponse(
        request,
        "catalog_list.html",
        {
            "nav": nav_items(request),
            "version": __version__,
            "page": page,
            "kinds": sorted(kinds, key=lambda f: f["value"]),
            "kind": kind,
            "q": q or "",
            "error": error,
            "ref": _ref,
            "href": entity_href,
        },
    )


@router.get("/catalog/{namespace}/{kind}/{name}", response_class=HTMLResponse)
def entity_page(request: Request, namespace: str, kind: str, name: str) -> HTMLResponse:
    catalog = get_catalog(request.app.state.platform)
    try:
        entity = catalog.queries.by_name(kind, namespace, name)
    except NotFoundError:
        return templates.TemplateResponse(
            request,
            "not_found.html",
            {
                "nav": nav_items(request),
                "version": __version__,
                "what": f"{kind}:{namespace}/{name}",
            },
            status_code=404,
        )
    grouped: dict[str, list[str]] = {}
    for relation in entity.get("relations", []):
        grouped.setdefault(relation["type"], []).append(relation["targetRef"])
    return templates.TemplateResponse(
        request,
        "entity.html",
        {
            "nav": nav_items(request),
            "version": __version__,
            "entity": entity,
            "ref": _ref(entity),
            "relations": dict(sorted(grouped.items())),
            "href": entity_href,
            "errors": (entity.get("status") or {}).get("items", []),
        },
    )
