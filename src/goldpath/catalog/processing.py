"""Processing: read locations, resolve placeholders, validate, compute relations, stitch.

A run over one registered location walks its tree of ``Location`` entities depth-first,
flushes entities to the database in batches, and stitches the entities each batch touched,
so a large catalog becomes queryable progressively and memory stays bounded. Entities whose
input (their document plus everything their placeholders read) did not change are skipped.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from goldpath.catalog import model
from goldpath.catalog.documents import parse_documents
from goldpath.catalog.final import FinalEntity, delete_final_entities, write_final_entities
from goldpath.catalog.placeholders import has_placeholders, resolve_placeholders
from goldpath.catalog.readers import Reader, Source
from goldpath.catalog.refs import EntityRef, entity_ref_of
from goldpath.catalog.relations import relations_for
from goldpath.catalog.store import EntityRow, LocationRow, ProcessingRow, RelationRow
from goldpath.catalog.validation import validate_entity
from goldpath.core import jsonutil
from goldpath.core.config import Settings
from goldpath.core.db import Database, analyze, bulk_insert, vacuum_analyze
from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.core.events import EventLog
from goldpath.core.urlreaders import UrlReader

log = structlog.get_logger("goldpath.catalog")

BATCH_SIZE = 1000
#: Entities written before the planner statistics are refreshed (then at every doubling).
ANALYZE_AFTER = 5000
CATALOG_TABLES = ("catalog_processing", "catalog_relations", "catalog_entities", "catalog_search")
ORPHAN_PARENT = ""  # parent_key of an entity no source emits any more
PROCESSING_STATUS = "backstage.io/catalog-processing"


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def generated_location_name(type_: str, target: str) -> str:
    """Backstage names the entity of a registered location after a hash of type and target."""
    return (
        "generated-" + hashlib.sha1(f"{type_}:{target}".encode(), usedforsecurity=False).hexdigest()
    )


def location_entity(type_: str, target: str, name: str | None = None) -> dict[str, Any]:
    ref = f"{type_}:{target}"
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": name or generated_location_name(type_, target),
            "namespace": "default",
            "annotations": {
                model.ANNOTATION_LOCATION: ref,
                model.ANNOTATION_ORIGIN_LOCATION: ref,
            },
        },
        "spec": {"type": type_, "target": target},
    }


@dataclass
class Emitted:
    """An entity as a source emitted it, before processing."""

    entity: dict[str, Any]
    ref: EntityRef
    parent_key: str
    source: Source | None = None
    line: int | None = None
    errors: list[str] = field(default_factory=list)

    def where(self) -> str:
        if self.source is None:
            return str(self.ref)
        return f"{self.source}" + (f" line {self.line}" if self.line else "")


@dataclass
class RunReport:
    entities: int = 0
    processed: int = 0
    unchanged: int = 0
    failed: int = 0
    orphaned: int = 0
    stitched: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    #: Conflict messages by the Location entity whose child was rejected.
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    def conflict(self, parent_key: str, message: str, where: str) -> None:
        self.conflicts.setdefault(parent_key, []).append(message)
        self.errors.append(_error(message, where, "ConflictError"))
        self.failed += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "entities": self.entities,
            "processed": self.processed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "orphaned": self.orphaned,
            "stitched": self.stitched,
            "errors": self.errors[:50],
            "seconds": round(self.seconds, 3),
        }


def _error(message: str, where: str | None, name: str = "InputError") -> dict[str, Any]:
    return {"name": name, "message": message, "where": where}


Progress = Callable[[str], None]
#: Told, after commit, which final entities were written and which were deleted.
ChangeListener = Callable[[list[str], list[str]], None]


class Processor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        events: EventLog,
        url_readers: Callable[[], list[UrlReader]] | None = None,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.events = events
        self._url_readers = url_readers
        self._on_change = on_change

    def _changed(self, written: list[str], deleted: list[str]) -> None:
        if self._on_change is not None and (written or deleted):
            self._on_change(written, deleted)

    def reader(self) -> Reader:
        return Reader(self.settings, url_readers=self._url_readers() if self._url_readers else [])

    # ================================================================ reading
    def walk(
        self, root: dict[str, Any], root_parent: str, reader: Reader, report: RunReport
    ) -> Iterator[Emitted]:
        """Every entity under ``root`` (a Location entity), depth-first, root included."""
        root_ref = entity_ref_of(root)
        stack: list[Emitted] = [Emitted(root, root_ref, root_parent)]
        seen_sources: set[str] = set()
        seen_refs: dict[str, str] = {}
        while stack:
            item = stack.pop()
            if item.ref.key in seen_refs:
                message = (
                    f"{item.ref} at {item.where()} is already defined at "
                    f"{seen_refs[item.ref.key]}; the later one is rejected"
                )
                report.conflict(item.parent_key, message, item.where())
                continue
            seen_refs[item.ref.key] = item.where()
            children: list[Emitted] = []
            if item.entity.get("kind") == "Location":
                children = self._read_targets(item, reader, seen_sources, report)
            yield item
            stack.extend(reversed(children))

    def _read_targets(
        self, loc: Emitted, reader: Reader, seen: set[str], report: RunReport
    ) -> list[Emitted]:
        spec = loc.entity.get("spec") if isinstance(loc.entity.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        targets: list[Any] = []
        if isinstance(spec.get("target"), str):
            targets.append(spec["target"])
        if isinstance(spec.get("targets"), list):
            targets.extend(spec["targets"])
        type_hint = spec.get("type") if isinstance(spec.get("type"), str) else None
        origin = _annotation(loc.entity, model.ANNOTATION_ORIGIN_LOCATION)
        children: list[Emitted] = []
        for target in targets:
            if not isinstance(target, str) or not target:
                continue
            try:
                if loc.source is None:
                    base_type = type_hint or "file"
                    sources = reader.expand(base_type, target)
                else:
                    resolved = reader.resolve_relative(loc.source, target, type_hint=type_hint)
                    if type_hint in ("url", "git") and resolved.type != type_hint:
                        resolved = Source(type_hint, resolved.target)
                    sources = reader.expand(resolved.type, resolved.target)
                if not sources:
                    raise GoldpathError(f"no file matches {target}", where=target)
            except GoldpathError as exc:
                loc.errors.append(f"target {target}: {exc.message}")
                report.errors.append(
                    _error(exc.message, f"{loc.ref}: {target}", exc.backstage_name)
                )
                continue
            for source in sources:
                key = str(source)
                if key in seen:
                    continue
                seen.add(key)
                children.extend(self._read_source(loc, source, origin, reader, report))
        return children

    def _read_source(
        self, loc: Emitted, source: Source, origin: str | None, reader: Reader, report: RunReport
    ) -> list[Emitted]:
        try:
            documents = parse_documents(reader.read(source), str(source))
        except GoldpathError as exc:
            loc.errors.append(f"{source}: {exc.message}")
            report.errors.append(_error(exc.message, str(source), exc.backstage_name))
            return []
        out = []
        for doc in documents:
            where = f"{source}" + (f" line {doc.line}" if doc.line else "")
            entity = doc.data
            try:
                if not isinstance(entity, dict):
                    raise GoldpathError(
                        f"expected an entity (a mapping), got {type(entity).__name__}"
                    )
                metadata = entity.get("metadata")
                if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
                    raise GoldpathError("entity has no metadata.name")
                if not isinstance(entity.get("kind"), str):
                    raise GoldpathError(f"entity {metadata['name']} has no kind")
                ref = entity_ref_of(entity)
            except GoldpathError as exc:
                loc.errors.append(f"{where}: {exc.message}")
                report.errors.append(_error(exc.message, where, "InputError"))
                continue
            annotations = metadata.get("annotations")
            if not isinstance(annotations, dict):
                annotations = {}
                metadata["annotations"] = annotations
            annotations[model.ANNOTATION_LOCATION] = str(source)
            annotations[model.ANNOTATION_ORIGIN_LOCATION] = origin or str(source)
            out.append(Emitted(entity, ref, loc.ref.key, source, doc.line))
        return out

    # ================================================================ runs
    def refresh_location(self, location_id: str, progress: Progress | None = None) -> RunReport:
        started = time.perf_counter()
        with self.db.session(write=False) as session:
            row = session.get(LocationRow, location_id)
            if row is None:
                raise NotFoundError(f"location {location_id} does not exist")
            type_, target, entity_name = row.type, row.target, row.entity_name
        report = RunReport()
        emitted_keys: set[str] = set()
        # Stitched once at the end: an entity's relations keep arriving from later batches
        # (a team gains ownerOf rows from every file), so stitching per batch redoes work.
        dirty: set[str] = set()
        analyzed = 0
        with self.reader() as reader:
            root = location_entity(type_, target, entity_name)
            batch: list[Emitted] = []
            for item in self.walk(root, f"root:{location_id}", reader, report):
                if item.ref.key not in emitted_keys:
                    report.entities += 1
                emitted_keys.add(item.ref.key)
                batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    dirty |= self._flush(batch, location_id, reader, report)
                    batch = []
                    analyzed = self._maybe_analyze(report.processed, analyzed)
                    if progress:
                        progress(f"{report.entities} entities read")
            dirty |= self._flush(batch, location_id, reader, report)
        self._maybe_analyze(report.processed, analyzed)
        report.stitched += self.stitch(dirty, progress)
        if len(dirty) >= ANALYZE_AFTER:
            vacuum_analyze(self.db, CATALOG_TABLES)
        self._apply_conflicts(location_id, report)
        report.orphaned = self._orphan_missing(location_id, emitted_keys)
        report.seconds = time.perf_counter() - started
        self.events.append(
            "catalog.location.refreshed",
            subject=f"{type_}:{target}",
            data={"location_id": location_id, **report.as_dict()},
        )
        log.info("location refreshed", location=f"{type_}:{target}", **report.as_dict())
        return report

    def _maybe_analyze(self, processed: int, analyzed: int) -> int:
        """Refresh planner statistics whenever a run has doubled what it wrote."""
        if processed - analyzed >= max(ANALYZE_AFTER, analyzed):
            self._analyze()
            return processed
        return analyzed

    def _analyze(self) -> None:
        with self.db.session() as session:
            analyze(session, CATALOG_TABLES)

    def dry_run(self, type_: str, target: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What registering the location would add, with no writes."""
        report = RunReport()
        entities: list[dict[str, Any]] = []
        with self.reader() as reader:
            for item in self.walk(location_entity(type_, target), "dry-run", reader, report):
                resolved, errors, _reads = self._prepare(item, reader)
                if errors:
                    report.errors.extend(_error(e, item.where()) for e in errors)
                    continue
                entities.append(resolved)
        return entities, report.errors

    def apply_provider_mutation(
        self,
        provider: str,
        *,
        full: Sequence[dict[str, Any]] | None = None,
        added: Sequence[dict[str, Any]] = (),
        removed: Sequence[str] = (),
    ) -> RunReport:
        """Entity providers push entities: a full replacement of their set, or a delta."""
        report = RunReport()
        parent = f"provider:{provider}"
        items = list(full if full is not None else added)
        emitted: list[Emitted] = []
        for entity in items:
            ref = entity_ref_of(entity)
            annotations = entity.setdefault("metadata", {}).setdefault("annotations", {})
            annotations.setdefault(model.ANNOTATION_LOCATION, parent)
            annotations.setdefault(model.ANNOTATION_ORIGIN_LOCATION, parent)
            emitted.append(Emitted(entity, ref, parent))
        report.entities = len(emitted)
        dirty: set[str] = set()
        with self.reader() as reader:
            for start in range(0, len(emitted), BATCH_SIZE):
                dirty |= self._flush(emitted[start : start + BATCH_SIZE], None, reader, report)
        report.stitched += self.stitch(dirty)
        gone: list[str] = [r.lower() for r in removed]
        if full is not None:
            keep = {e.ref.key for e in emitted}
            with self.db.session(write=False) as session:
                owned = session.scalars(
                    select(ProcessingRow.ref_key).where(ProcessingRow.parent_key == parent)
                ).all()
            gone.extend(k for k in owned if k not in keep)
        if gone:
            self.delete_entities(gone)
        return report

    # ================================================================ processing
    def _prepare(
        self, item: Emitted, reader: Reader, *, maybe_placeholders: bool = True
    ) -> tuple[dict[str, Any], list[str], list[str]]:
        """Resolve placeholders and validate. Returns (entity, error messages, reads).

        ``maybe_placeholders=False`` when the serialised entity has no ``"$`` at all, which
        spares walking every entity of a large location.
        """
        entity = item.entity
        errors: list[str] = []
        reads: list[str] = []
        if maybe_placeholders and has_placeholders(entity):
            resolution = resolve_placeholders(entity, item.source, reader)
            entity, reads = resolution.value, resolution.reads
            errors.extend(resolution.errors)
        if not errors:
            settings = self.settings.catalog
            for problem in validate_entity(
                entity,
                allowed_kinds=settings.allowed_kinds,
                allow_unknown_kinds=settings.allow_unknown_kinds,
            ):
                errors.append(_problem_text(problem.path, problem.message))
        return entity, errors, reads

    def _flush(
        self, batch: list[Emitted], location_id: str | None, reader: Reader, report: RunReport
    ) -> set[str]:
        """Process a batch and store it; return the keys whose final entity must be rebuilt.

        The work that needs no database (placeholders, validation, relations) happens before
        the write transaction opens, so the SQLite write lock is held only for the writes.
        """
        if not batch:
            return set()
        # A Location entity can appear twice in a run when a conflict added an error to it
        # after it was emitted: the last copy carries every error.
        unique: dict[str, Emitted] = {}
        for item in batch:
            unique[item.ref.key] = item
        keys = list(unique)
        now = _now()
        to_stitch: set[str] = set()
        table = cast(Table, ProcessingRow.__table__)
        with self.db.session(write=False) as session:
            existing = {
                row.ref_key: row
                for row in session.execute(
                    select(
                        table.c.ref_key,
                        table.c.parent_key,
                        table.c.location_id,
                        table.c.source,
                        table.c.input_hash,
                        table.c.processed.is_not(None).label("ok"),
                    ).where(table.c.ref_key.in_(keys))
                )
            }
            live_locations = set(session.scalars(select(LocationRow.id)).all())
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        failed_updates: list[dict[str, Any]] = []
        changed_relations: dict[str, list[tuple[str, str, str]]] = {}
        for key, item in unique.items():
            row = existing.get(key)
            owner = location_id or item.parent_key
            if row is not None and row.parent_key != ORPHAN_PARENT:
                row_owner = row.location_id or row.parent_key
                if row_owner != owner and (
                    row.location_id is None or row.location_id in live_locations
                ):
                    message = (
                        f"{item.ref} from {item.where()} conflicts with the same entity "
                        f"already provided by {row.source or row.parent_key}; "
                        "the later one is rejected"
                    )
                    report.conflict(item.parent_key, message, item.where())
                    continue
            unprocessed = jsonutil.dumps_sorted(item.entity)
            entity, errors, reads = self._prepare(
                item, reader, maybe_placeholders=b'"$' in unprocessed
            )
            input_hash = _digest(
                unprocessed + "\n".join([item.parent_key, *reads, *errors, *item.errors]).encode()
            )
            if (
                row is not None
                and row.input_hash == input_hash
                and row.ok
                and row.parent_key == item.parent_key
            ):
                report.unchanged += 1
                continue
            relations: list[tuple[str, str, str]] = []
            if not errors:
                found, problems = relations_for(entity)
                errors.extend(_problem_text(p.path, p.message) for p in problems)
                relations = [(r.source.key, r.type, r.target.key) for r in found]
            # Errors reading a Location's targets show on it but do not block it.
            error_records = [_error(e, item.where()) for e in [*item.errors, *errors]]
            values: dict[str, Any] = {
                # Kept only when processing failed, to show what was read; a clean entity's
                # processed form says it all and halves what an ingest writes.
                "unprocessed": unprocessed.decode() if errors else "",
                "parent_key": item.parent_key,
                "location_id": location_id,
                "source": str(item.source) if item.source else None,
                "source_line": item.line,
                "input_hash": input_hash,
                "errors": jsonutil.dumps(error_records),
                "processed_at": now,
            }
            if errors:
                report.failed += 1
                report.errors.extend(_error(f"{item.ref}: {e}", item.where()) for e in errors)
            else:
                report.processed += 1
                # A failed attempt keeps the last good processed form, which stays served.
                values["processed"] = jsonutil.dumps(entity)
                changed_relations[key] = relations
            if row is None:
                inserts.append({"ref_key": key, "processed": None, **values})
            elif errors:
                failed_updates.append({"b_key": key, **values})
            else:
                updates.append({"b_key": key, **values})
            to_stitch.add(key)
        with self.db.session() as session:
            connection = session.connection()
            if inserts:
                connection.execute(insert(table), inserts)
            for rows in (updates, failed_updates):
                if rows:
                    connection.execute(
                        update(table).where(table.c.ref_key == bindparam("b_key")), rows
                    )
            if changed_relations:
                to_stitch |= self._replace_relations(session, changed_relations)
        return to_stitch

    def _apply_conflicts(self, location_id: str, report: RunReport) -> None:
        """Put this run's conflicts on the Location entities that emitted the rejected
        copies, and clear conflicts that no longer happen."""
        to_stitch: set[str] = set()
        with self.db.session() as session:
            rows = session.scalars(
                select(ProcessingRow).where(
                    ProcessingRow.location_id == location_id,
                    ProcessingRow.ref_key.like("location:%"),
                )
            ).all()
            for row in rows:
                errors = jsonutil.loads(row.errors)
                kept = [e for e in errors if e.get("name") != "ConflictError"]
                kept.extend(
                    _error(m, row.source, "ConflictError")
                    for m in report.conflicts.get(row.ref_key, [])
                )
                if kept != errors:
                    row.errors = jsonutil.dumps(kept)
                    to_stitch.add(row.ref_key)
        self.stitch(to_stitch)

    def _replace_relations(
        self, session: Session, changed: dict[str, list[tuple[str, str, str]]]
    ) -> set[str]:
        """Swap the relations each entity declares; return every source whose set changed."""
        keys = list(changed)
        touched: set[str] = set()
        for row in session.execute(
            select(RelationRow.source_key).where(RelationRow.originating_key.in_(keys)).distinct()
        ):
            touched.add(row.source_key)
        session.execute(delete(RelationRow).where(RelationRow.originating_key.in_(keys)))
        rows = []
        for origin, relations in changed.items():
            for source_key, type_, target in relations:
                touched.add(source_key)
                rows.append((origin, source_key, type_, target))
        bulk_insert(
            session,
            RelationRow.__tablename__,
            ("originating_key", "source_key", "type", "target_ref"),
            rows,
        )
        return touched

    # ================================================================ stitching
    def stitch(self, keys: Iterable[str], progress: Progress | None = None) -> int:
        """Rebuild the final entity of each key from its processed form and relations."""
        pending = sorted(set(keys))
        written = 0
        for start in range(0, len(pending), BATCH_SIZE):
            written += self._stitch_chunk(pending[start : start + BATCH_SIZE])
            if progress:
                progress(f"{min(start + BATCH_SIZE, len(pending))}/{len(pending)} stitched")
        return written

    def _stitch_chunk(self, keys: list[str]) -> int:
        with self.db.session() as session:
            rows = session.execute(
                select(
                    ProcessingRow.ref_key,
                    ProcessingRow.processed,
                    ProcessingRow.errors,
                    ProcessingRow.parent_key,
                ).where(ProcessingRow.ref_key.in_(keys), ProcessingRow.processed.is_not(None))
            ).all()
            if not rows:
                return 0
            present = [r.ref_key for r in rows]
            relations: dict[str, set[tuple[str, str]]] = {k: set() for k in present}
            for rel in session.execute(
                select(RelationRow.source_key, RelationRow.type, RelationRow.target_ref).where(
                    RelationRow.source_key.in_(present)
                )
            ):
                relations[rel.source_key].add((rel.type, rel.target_ref))
            current = {
                r.ref_key: (r.uid, r.etag)
                for r in session.execute(
                    select(EntityRow.ref_key, EntityRow.uid, EntityRow.etag).where(
                        EntityRow.ref_key.in_(present)
                    )
                )
            }
            finals: list[FinalEntity] = []
            for row in rows:
                entity = jsonutil.loads(row.processed)
                metadata = entity.setdefault("metadata", {})
                metadata.setdefault("namespace", "default")
                orphan = row.parent_key == ORPHAN_PARENT
                if orphan:
                    metadata.setdefault("annotations", {})[model.ANNOTATION_ORPHAN] = "true"
                entity["relations"] = [
                    {"type": t, "targetRef": target} for t, target in sorted(relations[row.ref_key])
                ]
                errors = jsonutil.loads(row.errors)
                if errors:
                    entity["status"] = {
                        "items": [
                            {
                                "type": PROCESSING_STATUS,
                                "level": "error",
                                "message": f"{e.get('name', 'Error')}: {e['message']}",
                                "error": {"name": e.get("name", "Error"), "message": e["message"]},
                            }
                            for e in errors
                        ]
                    }
                metadata.pop("uid", None)
                metadata.pop("etag", None)
                etag = _digest(jsonutil.dumps_sorted(entity))
                uid_etag = current.get(row.ref_key)
                if uid_etag is not None and uid_etag[1] == etag:
                    continue
                uid = uid_etag[0] if uid_etag else str(uuid.uuid4())
                metadata["uid"] = uid
                metadata["etag"] = etag
                finals.append(
                    FinalEntity(
                        ref_key=row.ref_key,
                        uid=uid,
                        etag=etag,
                        kind=entity.get("kind", ""),
                        namespace=metadata.get("namespace", "default"),
                        name=metadata.get("name", ""),
                        entity=entity,
                        orphan=orphan,
                    )
                )
            if finals:
                rejected = write_final_entities(session, finals)
                for ref_key, reason in rejected.items():
                    # Backstage refuses to stitch such entities too; say why on the entity.
                    processing = session.get(ProcessingRow, ref_key)
                    if processing is not None:
                        errors = jsonutil.loads(processing.errors)
                        errors.append(_error(reason, processing.source))
                        processing.errors = jsonutil.dumps(errors)
                        processing.processed = None
        if finals:
            self.events.append(
                "catalog.entities.stitched",
                data={"refs": [f.ref_key for f in finals[:200]], "count": len(finals)},
            )
            self._changed([f.ref_key for f in finals if f.ref_key not in rejected], [])
        return len(finals)

    # ================================================================ removal
    def _orphan_missing(self, location_id: str, emitted: set[str]) -> int:
        with self.db.session() as session:
            owned = session.scalars(
                select(ProcessingRow.ref_key).where(
                    ProcessingRow.location_id == location_id,
                    ProcessingRow.parent_key != ORPHAN_PARENT,
                )
            ).all()
            gone = [k for k in owned if k not in emitted]
            for start in range(0, len(gone), BATCH_SIZE):
                session.execute(
                    update(ProcessingRow)
                    .where(ProcessingRow.ref_key.in_(gone[start : start + BATCH_SIZE]))
                    .values(parent_key=ORPHAN_PARENT)
                )
        self.stitch(gone)
        return len(gone)

    def delete_entities(self, keys: Sequence[str]) -> int:
        """Remove entities and their relations; re-stitch what pointed at them."""
        deleted = 0
        touched: set[str] = set()
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), BATCH_SIZE):
            chunk = keys[start : start + BATCH_SIZE]
            with self.db.session() as session:
                for row in session.execute(
                    select(RelationRow.source_key)
                    .where(RelationRow.originating_key.in_(chunk))
                    .distinct()
                ):
                    touched.add(row.source_key)
                session.execute(delete(RelationRow).where(RelationRow.originating_key.in_(chunk)))
                session.execute(delete(ProcessingRow).where(ProcessingRow.ref_key.in_(chunk)))
                deleted += delete_final_entities(session, chunk)
            self._changed([], chunk)
        self.stitch(touched - set(keys))
        return deleted

    def delete_location_entities(self, location_id: str) -> int:
        with self.db.session(write=False) as session:
            keys = session.scalars(
                select(ProcessingRow.ref_key).where(ProcessingRow.location_id == location_id)
            ).all()
        return self.delete_entities(list(keys))


def _annotation(entity: dict[str, Any], name: str) -> str | None:
    metadata = entity.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
        value = metadata["annotations"].get(name)
        return value if isinstance(value, str) else None
    return None


def _problem_text(path: str, message: str) -> str:
    return message if message.startswith(path) else f"{path}: {message}"
