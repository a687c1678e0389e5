"""Catalog entity reads with Backstage catalog-backend's paths, parameters and shapes.

Parameter names are Backstage's, so ``@backstage/catalog-client`` works unchanged: ``filter``,
``orderField``, ``order`` and ``facet`` repeat; ``fields`` and ``fullTextFilterFields`` are
comma-separated (repeating them works too). Integers are parsed here, not by FastAPI, so a
bad one gives Backstage's message. Responses are the stored entity JSON concatenated, not
re-serialised.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from goldpath.catalog.predicates import parse_predicate
from goldpath.catalog.query import EntityQueries, entities_array_json, parse_fields
from goldpath.core import jsonutil
from goldpath.core.errors import InputError

router = APIRouter(prefix="/api/catalog", tags=["catalog"])

JSON = "application/json"
StrList = Annotated[list[str] | None, Query()]


async def get_queries(request: Request) -> EntityQueries:
    # async: a dependency that does no I/O should not cost a thread-pool hop per request.
    queries: EntityQueries = request.app.state.platform.services["catalog"].queries
    return queries


Queries = Annotated[EntityQueries, Depends(get_queries)]


def _json(content: bytes) -> Response:
    return Response(content=content, media_type=JSON)


@router.get("/entities", summary="Entities matching a filter, by entity ref")
def get_entities(
    request: Request,
    queries: Queries,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
    fields: StrList = None,
    order: StrList = None,
    offset: str | None = None,
    limit: str | None = None,
    after: str | None = None,
) -> Response:
    wanted = parse_fields(fields)
    if limit is None and offset is None and after is None:
        # Unbounded: stream, so the whole catalog never sits in memory as one response.
        chunks = queries.iter_list_json(filter=filter_, order=order, fields=wanted)
        return StreamingResponse(chunks, media_type=JSON)
    page = queries.list_page(filter=filter_, order=order, offset=offset, limit=limit, after=after)
    response = _json(entities_array_json(page.bodies, wanted))
    if page.after:
        url = request.url.remove_query_params("offset").include_query_params(after=page.after)
        response.headers["link"] = f'<{url.path}?{url.query}>; rel="next"'
    return response


@router.get("/entities/by-query", summary="A page of entities, with cursors and a total")
def get_entities_by_query(
    queries: Queries,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
    fields: StrList = None,
    limit: str | None = None,
    offset: str | None = None,
    cursor: str | None = None,
    orderField: StrList = None,  # noqa: N803 - Backstage's parameter name
    fullTextFilterTerm: str | None = None,  # noqa: N803
    fullTextFilterFields: StrList = None,  # noqa: N803
) -> Response:
    return _json(
        queries.query_entities_json(
            fields=fields,
            cursor=cursor,
            limit=limit,
            offset=offset,
            filter=filter_,
            order_fields=orderField,
            full_text_term=fullTextFilterTerm,
            full_text_fields=fullTextFilterFields,
        )
    )


class ByRefsInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    entityRefs: list[str]  # noqa: N815 - Backstage's field name
    fields: list[str] | None = None
    #: Backstage's predicate query, AND'ed with any ``filter`` parameters.
    query: Any = None


@router.post("/entities/by-refs", summary="Entities by ref, in request order (null if missing)")
def post_entities_by_refs(
    body: ByRefsInput,
    queries: Queries,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
    fields: StrList = None,
) -> Response:
    where = None if body.query is None else parse_predicate(body.query)
    wanted = parse_fields(fields, body.fields)
    return _json(queries.by_refs_json(body.entityRefs, fields=wanted, filter=filter_, where=where))


def _body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("Request body must be a JSON object", where="body")
    return body


def _string_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"Invalid {name}, expected an array of strings", where=name)
    return value


def _body_integer(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"Invalid {name}, not an integer", where=name)
    return value


def _order_by(value: Any) -> list[str] | None:
    """``orderBy: [{field, order}]`` as ``orderField`` strings (``field,order``)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        field = item.get("field") if isinstance(item, dict) else None
        order = item.get("order", "asc") if isinstance(item, dict) else None
        if not isinstance(field, str) or not field or "," in field or not isinstance(order, str):
            raise InputError(
                "Invalid orderBy, expected an array of {field, order}", where="orderBy"
            )
        out.append(f"{field},{order}")
    return out


@router.post("/entities/by-query", summary="A page of entities matching a predicate query")
def post_entities_by_query(body: Annotated[Any, Body()], queries: Queries) -> Response:
    """Backstage's ``queryEntitiesByPredicate``: the first page from ``{query, limit, offset,
    orderBy, fullTextFilter, fields}``, later ones from ``{cursor, limit, fields}``; the
    response is ``GET /entities/by-query``'s."""
    data = _body_object(body)
    fields = parse_fields(_string_list(data.get("fields"), "fields"))
    limit = _body_integer(data.get("limit"), "limit")
    cursor = data.get("cursor")
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor:
            raise InputError("Invalid cursor, expected a string", where="cursor")
        return _json(queries.query_entities_json(fields=fields, cursor=cursor, limit=limit))
    predicate = data.get("query")
    full_text = data.get("fullTextFilter")
    term: Any = None
    text_fields = None
    if full_text is not None:
        if not isinstance(full_text, dict):
            raise InputError("Invalid fullTextFilter, expected an object", where="fullTextFilter")
        term = full_text.get("term")
        if term is not None and not isinstance(term, str):
            raise InputError("Invalid fullTextFilter.term, expected a string", where="fullText")
        text_fields = _string_list(full_text.get("fields"), "fullTextFilter.fields")
    return _json(
        queries.query_entities_json(
            fields=fields,
            limit=limit,
            offset=_body_integer(data.get("offset"), "offset"),
            order_fields=_order_by(data.get("orderBy")),
            full_text_term=term,
            full_text_fields=text_fields,
            where=None if predicate is None else parse_predicate(predicate),
            query=predicate if predicate is not None else {},
        )
    )


@router.get("/entities/by-name/{kind}/{namespace}/{name}", summary="One entity by its ref")
def get_entity_by_name(kind: str, namespace: str, name: str, queries: Queries) -> Response:
    return _json(queries.by_name_json(kind, namespace, name))


@router.get("/entities/by-uid/{uid}", summary="One entity by its uid")
def get_entity_by_uid(uid: str, queries: Queries) -> Response:
    return _json(queries.by_uid_json(uid))


@router.get("/entity-facets", summary="Value counts of entity fields")
def get_entity_facets(
    queries: Queries,
    facet: StrList = None,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
) -> Response:
    return _json(jsonutil.dumps_bytes(queries.facets(facet or [], filter_)))


@router.post("/entity-facets", summary="Value counts of entity fields, by predicate query")
def post_entity_facets(body: Annotated[Any, Body()], queries: Queries) -> Response:
    """Backstage's ``queryEntityFacetsByPredicate``: ``{facets, query}``."""
    data = _body_object(body)
    facets = _string_list(data.get("facets"), "facets") or []
    predicate = data.get("query")
    where = None if predicate is None else parse_predicate(predicate)
    return _json(jsonutil.dumps_bytes(queries.facets(facets, None, where)))
