"""Catalog write endpoints and locations, with Backstage catalog-backend's paths and shapes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from goldpath.catalog.service import CatalogService, get_catalog
from goldpath.core.errors import InputError

router = APIRouter(prefix="/api/catalog", tags=["catalog"])


def _catalog(request: Request) -> CatalogService:
    return get_catalog(request.app.state.platform)


class LocationInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(examples=["file", "url", "git"])
    target: str


class RefreshInput(BaseModel):
    #: Omit to refresh every location (a goldpath extension).
    entityRef: str | None = None  # noqa: N815 - Backstage's field name


class ValidateInput(BaseModel):
    entity: Any
    location: str | None = None


@router.get("/locations")
def list_locations(request: Request) -> list[dict[str, Any]]:
    return [{"data": loc.as_dict()} for loc in _catalog(request).list_locations()]


@router.post("/locations", status_code=201)
def add_location(
    request: Request,
    body: LocationInput,
    dryRun: bool = Query(False),  # noqa: N803 - Backstage's parameter names
    onConflict: str = Query("reject", pattern="^(reject|refresh)$"),  # noqa: N803
) -> JSONResponse:
    result = _catalog(request).add_location(
        body.type, body.target, dry_run=dryRun, on_conflict=onConflict
    )
    # Backstage answers 201 to dry runs too, and its client insists on it.
    return JSONResponse(result, status_code=201)


class LocationQueryInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(100, ge=1, le=1000)
    cursor: str | None = None
    query: dict[str, Any] | None = None


@router.post("/locations/by-query")
def query_locations(request: Request, body: LocationQueryInput) -> dict[str, Any]:
    return _catalog(request).query_locations(limit=body.limit, cursor=body.cursor, query=body.query)


@router.put("/locations/{location_id}")
def update_location(request: Request, location_id: str, body: LocationInput) -> dict[str, str]:
    return _catalog(request).update_location(location_id, body.type, body.target).as_dict()


@router.post("/analyze-location")
def analyze_location() -> None:
    raise InputError(
        "goldpath does not analyze repositories to generate entities; register the "
        "catalog-info.yaml file, URL or git repository directly with POST /locations"
    )


@router.get("/locations/by-entity/{kind}/{namespace}/{name}")
def location_by_entity(request: Request, kind: str, namespace: str, name: str) -> dict[str, str]:
    return _catalog(request).location_by_entity(kind, namespace, name).as_dict()


@router.get("/locations/{location_id}")
def get_location(request: Request, location_id: str) -> dict[str, str]:
    return _catalog(request).get_location(location_id).as_dict()


@router.delete("/locations/{location_id}", status_code=204)
def delete_location(request: Request, location_id: str) -> Response:
    _catalog(request).remove_location(location_id)
    return Response(status_code=204)


@router.post("/refresh")
def refresh(request: Request, body: RefreshInput) -> dict[str, Any]:
    catalog = _catalog(request)
    if body.entityRef:
        return {"taskIds": [catalog.refresh_entity(body.entityRef)]}
    return {"taskIds": catalog.refresh_all()}


@router.post("/validate-entity")
def validate(request: Request, body: ValidateInput) -> JSONResponse:
    errors = _catalog(request).validate_entity(body.entity, body.location)
    if errors:
        return JSONResponse({"errors": errors}, status_code=400)
    return JSONResponse({}, status_code=200)


@router.delete("/entities/by-uid/{uid}", status_code=204)
def delete_entity(request: Request, uid: str) -> Response:
    _catalog(request).delete_entity_by_uid(uid)
    return Response(status_code=204)


@router.get("/entities/by-name/{kind}/{namespace}/{name}/ancestry")
def ancestry(request: Request, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return _catalog(request).ancestry(kind, namespace, name)


@router.get("/processing-errors")
def processing_errors(request: Request) -> dict[str, Any]:
    """Every stored processing error (a goldpath extension)."""
    return {"items": _catalog(request).errors()}
