"""Search over HTTP with Backstage search-backend's path, parameters and result shape.

``GET /api/search/query?term=&types[0]=&filters[kind]=&pageCursor=&pageLimit=``: Backstage's
clients encode arrays and objects with ``qs``, so ``types``, ``types[]`` and ``types[0]`` all
name the document types, and ``filters[kind]``, ``filters[kind][]`` and ``filters[kind][0]``
a filter's values (repeated: any of them). ``facets`` (goldpath's) picks the facets to count:
a comma-separated list, ``none``, or absent for all. Other parameters are ignored, as
Backstage ignores them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request, Response

from goldpath.core.errors import InputError
from goldpath.search.model import (
    DEFAULT_PAGE_LIMIT,
    FACET_FIELDS,
    MAX_PAGE_LIMIT,
    SearchQuery,
    SearchResultSet,
)
from goldpath.search.service import SearchService

router = APIRouter(prefix="/api/search", tags=["search"])

_TYPES = re.compile(r"^types(\[\d*\])?$")
_FILTER = re.compile(r"^filters\[([^\[\]]+)\](\[\d*\])?$")
_PARAMETERS: list[dict[str, Any]] = [
    {"name": "term", "in": "query", "schema": {"type": "string", "default": ""}},
    {
        "name": "types[]",
        "in": "query",
        "description": "Document types: software-catalog, software-template, techdocs.",
        "schema": {"type": "array", "items": {"type": "string"}},
    },
    {
        "name": "filters",
        "in": "query",
        "style": "deepObject",
        "explode": True,
        "description": "filters[kind]=Component; kind, namespace, name, owner, lifecycle, "
        "type, tags. Repeat a filter for any of several values.",
        "schema": {"type": "object", "additionalProperties": {}},
    },
    {"name": "pageCursor", "in": "query", "schema": {"type": "string"}},
    {
        "name": "pageLimit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT},
    },
    {
        "name": "facets",
        "in": "query",
        "description": f"Facets to count: {', '.join(FACET_FIELDS)} (comma-separated), "
        "all or none. Default: all.",
        "schema": {"type": "string"},
    },
]


def _service(request: Request) -> SearchService:
    service: SearchService = request.app.state.platform.services["search"]
    return service


def parse_query_string(raw: str) -> SearchQuery:
    """A query from a ``qs``-style query string (see the module docstring)."""
    term = ""
    types: list[str] = []
    filters: dict[str, list[str]] = {}
    cursor: str | None = None
    limit = DEFAULT_PAGE_LIMIT
    facets: list[str] | None = None
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key == "term":
            term = value
        elif _TYPES.match(key):
            types.extend(v for v in value.split(",") if v)
        elif match := _FILTER.match(key):
            filters.setdefault(match.group(1), []).append(value)
        elif key.startswith("filters"):
            raise InputError(f"malformed filter parameter {key!r}", where=key)
        elif key == "pageCursor":
            cursor = value or None
        elif key == "pageLimit":
            try:
                limit = int(value)
            except ValueError as exc:
                raise InputError("pageLimit must be an integer", where="pageLimit") from exc
        elif key == "facets":
            wanted = value.strip().lower()
            if wanted == "all":
                facets = list(FACET_FIELDS)
                continue
            names = [] if wanted in ("none", "false", "") else value.split(",")
            facets = (facets or []) + [n.strip() for n in names if n.strip()]
    return SearchQuery(
        term=term,
        types=types,
        filters=filters,
        page_cursor=cursor,
        page_limit=limit,
        facets=facets,
    )


@router.get(
    "/query",
    summary="Search the catalog, templates and docs (Backstage's search query)",
    response_model=None,
    responses={200: {"model": SearchResultSet}},
    openapi_extra={"parameters": _PARAMETERS},
)
def get_query(request: Request) -> Response:
    query = parse_query_string(request.url.query)
    result = _service(request).query(query)
    return Response(orjson.dumps(result), media_type="application/json")


@router.get("/status", summary="What the index holds and whether it follows the catalog")
def get_status(request: Request) -> dict[str, Any]:
    return _service(request).status()


@router.post(
    "/reindex", status_code=202, summary="Rebuild the index from the catalog, in the background"
)
def post_reindex(request: Request) -> dict[str, str]:
    return {"taskId": _service(request).schedule_reindex()}
