"""The catalog's public face: every adapter (API, CLI, portal, other features) calls this."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from goldpath.catalog import model
from goldpath.catalog.predicate_eval import matches_predicate
from goldpath.catalog.processing import (
    ORPHAN_PARENT,
    Processor,
    RunReport,
    generated_location_name,
)
from goldpath.catalog.query import EntityQueries
from goldpath.catalog.readers import LOCATION_TYPES
from goldpath.catalog.refs import EntityRef, entity_ref_of, parse_entity_ref
from goldpath.catalog.store import EntityRow, LocationRow, ProcessingRow
from goldpath.catalog.validation import validate_entity
from goldpath.core import jsonutil
from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.core.urlreaders import url_readers

REFRESH_TASK = "catalog.refresh_location"
REFRESH_ALL_TASK = "catalog.refresh_all"


@dataclass(frozen=True)
class Location:
    id: str
    type: str
    target: str
    #: The ref of the location's own Location entity (catalog-client ≥ 1.16 requires it).
    entity_ref: str

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "type": self.type,
            "target": self.target,
            "entityRef": self.entity_ref,
        }


def _location(row: LocationRow) -> Location:
    name = row.entity_name or generated_location_name(row.type, row.target)
    return Location(
        id=row.id, type=row.type, target=row.target, entity_ref=f"location:default/{name}"
    )


MANAGED_BY_LOCATION = "backstage.io/managed-by-location"


class CatalogService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.settings = platform.settings
        self.queries = EntityQueries(platform.db)
        self.processor = Processor(
            platform.db,
            platform.settings,
            platform.events,
            lambda: url_readers(platform),
            on_change=lambda written, deleted: platform.plugins.hook.goldpath_catalog_changed(
                platform=platform, written=written, deleted=deleted
            ),
        )

    # ------------------------------------------------------------- locations
    def _normalise_target(self, type_: str, target: str) -> str:
        if type_ not in LOCATION_TYPES:
            raise InputError(
                f"unknown location type {type_!r}; expected one of {', '.join(LOCATION_TYPES)}",
                where="type",
            )
        if not target or not target.strip():
            raise InputError("a location needs a target", where="target")
        target = target.strip()
        if type_ == "file":
            target = str(self.processor.reader().check_file(target))
        return target

    def add_location(
        self,
        type_: str,
        target: str,
        *,
        dry_run: bool = False,
        refresh: bool = True,
        on_conflict: str = "reject",
    ) -> dict[str, Any]:
        """Register a location (Backstage's ``POST /locations``) and schedule its processing.

        ``on_conflict="refresh"``: an already registered location is refreshed and returned
        instead of rejected (Backstage's ``onConflict=refresh``).
        """
        if on_conflict not in ("reject", "refresh"):
            raise InputError("onConflict must be reject or refresh", where="onConflict")
        target = self._normalise_target(type_, target)
        reader = self.processor.reader()
        reader.check_target(type_, target)
        key = f"{type_}:{target}".lower()
        with self.db.session(write=False) as session:
            existing = session.scalars(select(LocationRow).where(LocationRow.key == key)).first()
        if dry_run:
            entities, errors = self.processor.dry_run(type_, target)
            if errors and not entities:
                first = errors[0]
                raise InputError(first["message"], where=first.get("where"), details=errors)
            location = existing or LocationRow(
                id=str(uuid.uuid4()), type=type_, target=target, entity_name=None
            )
            return {
                "location": _location(location).as_dict(),
                "entities": entities,
                "exists": existing is not None,
                "errors": errors,
            }
        if existing is not None and on_conflict == "refresh":
            task_id = self.schedule_refresh(existing.id) if refresh else None
            return {"location": _location(existing).as_dict(), "entities": [], "taskId": task_id}
        if existing is not None:
            raise ConflictError(
                f"location {type_}:{target} is already registered (id {existing.id})",
                where=f"{type_}:{target}",
            )
        # Fail now, not in the background, when the target names nothing at all.
        if type_ == "file":
            with self.processor.reader() as probe:
                if not probe.expand(type_, target):
                    raise InputError(f"no file matches {target}", where=target)
        row = LocationRow(
            id=str(uuid.uuid4()),
            type=type_,
            target=target,
            key=key,
            created_at=datetime.now(UTC),
            entity_name=generated_location_name(type_, target),
        )
        try:
            with self.db.session() as session:
                session.add(row)
                self.platform.events.append(
                    "catalog.location.added",
                    subject=f"{type_}:{target}",
                    data={"id": row.id},
                    session=session,
                )
        except IntegrityError as exc:
            raise ConflictError(f"location {type_}:{target} is already registered") from exc
        task_id = self.schedule_refresh(row.id) if refresh else None
        return {"location": _location(row).as_dict(), "entities": [], "taskId": task_id}

    def list_locations(self) -> list[Location]:
        with self.db.session(write=False) as session:
            rows = session.scalars(select(LocationRow).order_by(LocationRow.created_at)).all()
        return [_location(r) for r in rows]

    def get_location(self, location_id: str) -> Location:
        with self.db.session(write=False) as session:
            row = session.get(LocationRow, location_id)
        if row is None:
            raise NotFoundError(f"no location with id {location_id}")
        return _location(row)

    def find_location(self, type_: str, target: str) -> Location | None:
        key = f"{type_}:{self._normalise_target(type_, target)}".lower()
        with self.db.session(write=False) as session:
            row = session.scalars(select(LocationRow).where(LocationRow.key == key)).first()
        return _location(row) if row else None

    def update_location(self, location_id: str, type_: str, target: str) -> Location:
        """Point a location elsewhere; its id and entity ref stay (Backstage's PUT)."""
        target = self._normalise_target(type_, target)
        self.processor.reader().check_target(type_, target)
        key = f"{type_}:{target}".lower()
        try:
            with self.db.session() as session:
                row = session.get(LocationRow, location_id)
                if row is None:
                    raise NotFoundError(f"no location with id {location_id}")
                row.entity_name = row.entity_name or generated_location_name(row.type, row.target)
                row.type, row.target, row.key = type_, target, key
                location = _location(row)
                self.platform.events.append(
                    "catalog.location.updated",
                    subject=f"{type_}:{target}",
                    data={"id": location_id},
                    session=session,
                )
        except IntegrityError as exc:
            raise ConflictError(f"location {type_}:{target} is already registered") from exc
        self.schedule_refresh(location_id)
        return location

    def query_locations(
        self, *, limit: int = 100, cursor: str | None = None, query: Any = None
    ) -> dict[str, Any]:
        """Backstage's ``POST /locations/by-query``: locations matching a predicate, paged."""
        offset = 0
        if cursor:
            try:
                offset = int(cursor)
            except ValueError as exc:
                raise InputError("malformed cursor", where="cursor") from exc
        if limit < 1 or limit > 1000:
            raise InputError("limit must be between 1 and 1000", where="limit")
        matching = [
            loc.as_dict()
            for loc in self.list_locations()
            if query is None or matches_predicate(loc.as_dict(), query)
        ]
        page = matching[offset : offset + limit]
        next_offset = offset + limit
        page_info = {"nextCursor": str(next_offset)} if next_offset < len(matching) else {}
        return {"items": page, "totalItems": len(matching), "pageInfo": page_info}

    def remove_location(self, location_id: str) -> int:
        """Unregister a location and delete every entity it produced."""
        location = self.get_location(location_id)
        with self.db.session() as session:
            row = session.get(LocationRow, location_id)
            if row is not None:
                session.delete(row)
            self.platform.events.append(
                "catalog.location.removed",
                subject=f"{location.type}:{location.target}",
                data={"id": location_id},
                session=session,
            )
        return self.processor.delete_location_entities(location_id)

    def entities_at(self, type_: str, target: str) -> list[dict[str, Any]]:
        """The entities read from one document (``backstage.io/managed-by-location``)."""
        from goldpath.catalog.predicates import parse_predicate

        predicate = {f"metadata.annotations.{MANAGED_BY_LOCATION}": f"{type_}:{target}"}
        page = self.queries.query_page(where=parse_predicate(predicate), limit=1000)
        return [jsonutil.loads(body) for body in page.bodies]

    def location_by_entity(self, kind: str, namespace: str, name: str) -> Location:
        key = str(EntityRef(kind, namespace, name)).lower()
        with self.db.session(write=False) as session:
            row = session.get(ProcessingRow, key)
            location = (
                session.get(LocationRow, row.location_id) if row and row.location_id else None
            )
        if location is None:
            raise NotFoundError(f"no location found for entity {key}")
        return _location(location)

    # ------------------------------------------------------------- refresh
    def schedule_refresh(self, location_id: str) -> str:
        return self.platform.tasks.enqueue(
            REFRESH_TASK, {"location_id": location_id}, unique_key=f"catalog:refresh:{location_id}"
        )

    def refresh_location_now(self, location_id: str) -> RunReport:
        return self.processor.refresh_location(location_id)

    def refresh_entity(self, entity_ref: str) -> str:
        """Reprocess the location that holds an entity (Backstage's ``POST /refresh``)."""
        ref = parse_entity_ref(entity_ref)
        with self.db.session(write=False) as session:
            row = session.get(ProcessingRow, ref.key)
        if row is None:
            raise NotFoundError(f"no entity {ref}")
        if row.location_id is None:
            raise InputError(f"{ref} comes from an entity provider; it refreshes itself")
        return self.schedule_refresh(row.location_id)

    def refresh_all(self) -> list[str]:
        return [self.schedule_refresh(loc.id) for loc in self.list_locations()]

    def ensure_static_locations(self) -> None:
        """Register the locations listed in ``catalog.locations`` (idempotent)."""
        for static in self.settings.catalog.locations:
            if self.find_location(static.type, static.target) is None:
                self.add_location(static.type, static.target)

    # ------------------------------------------------------------- entities
    def delete_entity_by_uid(self, uid: str) -> None:
        with self.db.session(write=False) as session:
            row = session.scalars(select(EntityRow.ref_key).where(EntityRow.uid == uid)).first()
        if row is None:
            raise NotFoundError(f"no entity with uid {uid}")
        self.processor.delete_entities([row])

    def ancestry(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """The chain of Location entities that produced an entity, root first."""
        key = str(EntityRef(kind, namespace, name)).lower()
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        current: str | None = key
        with self.db.session(write=False) as session:
            while current and current not in seen:
                seen.add(current)
                body = session.scalars(
                    select(EntityRow.body).where(EntityRow.ref_key == current)
                ).first()
                row = session.get(ProcessingRow, current)
                if body is None or row is None:
                    if current == key:
                        raise NotFoundError(f"no entity {key}")
                    break
                entity = jsonutil.loads(body)
                parent = row.parent_key
                is_parent_entity = (
                    parent and ":" in parent and not parent.startswith(("root:", "provider:"))
                )
                items.append(
                    {
                        "entity": entity,
                        "parentEntityRefs": [str(parse_entity_ref(parent))]
                        if is_parent_entity
                        else [],
                    }
                )
                current = parent if is_parent_entity else None
        # Backstage names the entity asked about as the root of its ancestry.
        return {"rootEntityRef": str(entity_ref_of(items[0]["entity"])), "items": items}

    def validate_entity(self, entity: Any, location: str | None = None) -> list[dict[str, str]]:
        """Backstage's ``POST /validate-entity``: the problems, empty when valid."""
        if not isinstance(entity, dict):
            return [{"name": "InputError", "message": "entity must be an object"}]
        problems = validate_entity(
            entity,
            allowed_kinds=self.settings.catalog.allowed_kinds,
            allow_unknown_kinds=self.settings.catalog.allow_unknown_kinds,
        )
        try:
            ref = str(entity_ref_of(entity))
        except Exception:  # noqa: BLE001 - an unnamed entity is reported by validation
            ref = "entity"
        where = f" ({location})" if location else ""
        return [
            {"name": "InputError", "message": f"{ref}{where}: {p.path}: {p.message}"}
            for p in problems
        ]

    def errors(self) -> list[dict[str, Any]]:
        """Every stored processing error, per entity and per location."""
        out: list[dict[str, Any]] = []
        with self.db.session(write=False) as session:
            rows = session.execute(
                select(
                    ProcessingRow.ref_key,
                    ProcessingRow.errors,
                    ProcessingRow.location_id,
                    ProcessingRow.source,
                    ProcessingRow.processed.is_not(None).label("ok"),
                ).where(ProcessingRow.errors != "[]")
            ).all()
            locations = {r.id: r for r in session.scalars(select(LocationRow))}
        for row in rows:
            location = locations.get(row.location_id) if row.location_id else None
            for error in jsonutil.loads(row.errors):
                out.append(
                    {
                        "entityRef": row.ref_key,
                        "location": f"{location.type}:{location.target}" if location else None,
                        "locationId": row.location_id,
                        "source": error.get("where") or row.source,
                        "name": error.get("name", "Error"),
                        "message": error["message"],
                        "servedVersion": bool(row.ok),
                    }
                )
        return out

    def orphans(self) -> list[str]:
        with self.db.session(write=False) as session:
            return list(
                session.scalars(
                    select(ProcessingRow.ref_key).where(ProcessingRow.parent_key == ORPHAN_PARENT)
                )
            )

    def root_location_name(self, location: Location) -> str:
        return generated_location_name(location.type, location.target)


def get_catalog(platform: Platform) -> CatalogService:
    return platform.service("catalog", CatalogService)


__all__ = ["CatalogService", "Location", "get_catalog", "model"]
