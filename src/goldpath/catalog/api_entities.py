"""Catalog entity reads with Backstage catalog-backend's paths, parameters and shapes.

Parameter names are Backstage's, so ``@backstage/catalog-client`` works unchanged: ``filter``,
``orderField``, ``order`` and ``facet`` repeat; ``fields`` and ``fullTextFilterFields`` are
comma-separated (repeating them works too). Integers are parsed here, not by FastAPI, so a
bad one gives Backstage's message. Responses are the stored entity JSON concatenated, not
re-serialised.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

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
    #: Backstage's predicate query; not supported yet, and refused rather than ignored.
    query: Any = None


@router.post("/entities/by-refs", summary="Entities by ref, in request order (null if missing)")
def post_entities_by_refs(
    body: ByRefsInput,
    queries: Queries,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
    fields: StrList = None,
) -> Response:
    if body.query is not None:
        raise InputError(
            "predicate queries (body.query) are not supported yet; use the filter parameter",
            where="query",
        )
    wanted = parse_fields(fields, body.fields)
    return _json(queries.by_refs_json(body.entityRefs, fields=wanted, filter=filter_))


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
