"""The write side of final entities: ``catalog_entities`` plus their ``catalog_search`` rows.

The stitcher hands over whole batches; everything here works per batch (a few statements per
chunk of entities, never one round-trip per entity) because a large ingest writes millions of
search rows. Search rows are synced as a diff against what is stored: re-stitching an entity
usually changes a handful of rows (a new relation), and rewriting all of them would dominate
the ingest with index maintenance.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import structlog
from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from goldpath.catalog.flatten import SearchRowTuple, search_rows
from goldpath.catalog.store import EntityRow, MetaRow, SearchRow
from goldpath.core import jsonutil
from goldpath.core.errors import InputError

log = structlog.get_logger("goldpath.catalog.final")

#: Rows per statement for IN lists and multi-row inserts: well under SQLite's variable limit,
#: large enough that round-trips stay a small share of the work.
CHUNK = 500

_ENTITIES = cast(Table, EntityRow.__table__)
_SEARCH = cast(Table, SearchRow.__table__)

T = TypeVar("T")


@dataclass
class FinalEntity:
    """A stitched entity ready to be served; ``ref_key`` is its full ref in lower case."""

    ref_key: str
    uid: str
    etag: str
    kind: str
    namespace: str
    name: str
    entity: dict[str, Any]
    orphan: bool = False


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_final_entities(session: Session, items: Sequence[FinalEntity]) -> dict[str, str]:
    """Insert or replace final entities by ``ref_key``, with their search rows.

    A row keeps its ``id`` when replaced. An entity whose search rows cannot be built (keys
    that differ only in case) is not written, as Backstage refuses to stitch it; the result
    maps each such ``ref_key`` to the reason so the caller can record it. Later items win
    over earlier ones with the same ``ref_key``.
    """
    latest: dict[str, FinalEntity] = {}
    for item in items:
        latest[item.ref_key] = item
    rejected: dict[str, str] = {}
    prepared: list[tuple[FinalEntity, str, list[SearchRowTuple]]] = []
    for item in latest.values():
        try:
            rows = search_rows(item.entity)
        except InputError as exc:
            rejected[item.ref_key] = exc.message
            log.warning("entity not indexed", entity=item.ref_key, error=exc.message)
            continue
        prepared.append((item, jsonutil.dumps(item.entity), rows))
    now = datetime.now(UTC)
    for chunk in _chunks(prepared):
        _write_chunk(session, chunk, now)
    if prepared:
        bump_generation(session)
    return rejected


def bump_generation(session: Session) -> None:
    """Mark every cached answer derived from final entities as stale (in this transaction)."""
    session.execute(
        update(MetaRow).where(MetaRow.key == "generation").values(value=MetaRow.value + 1)
    )


def _upsert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_ENTITIES)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_ENTITIES.c.ref_key],
        set_={
            "uid": excluded.uid,
            "etag": excluded.etag,
            "kind": excluded.kind,
            "namespace": excluded.namespace,
            "name": excluded.name,
            "body": excluded.body,
            "orphan": excluded.orphan,
            "updated_at": excluded.updated_at,
        },
    ).returning(_ENTITIES.c.id, _ENTITIES.c.ref_key)


def _write_chunk(
    session: Session,
    chunk: Sequence[tuple[FinalEntity, str, list[SearchRowTuple]]],
    now: datetime,
) -> None:
    keys = [item.ref_key for item, _, _ in chunk]
    # (Results have .keys(), so dict() would treat them as mappings: build dicts by hand.)
    existing = {
        ref_key: entity_id
        for ref_key, entity_id in session.execute(
            select(_ENTITIES.c.ref_key, _ENTITIES.c.id).where(_ENTITIES.c.ref_key.in_(keys))
        )
    }
    values = [
        {
            "ref_key": item.ref_key,
            "uid": item.uid,
            "etag": item.etag,
            "kind": item.kind,
            "namespace": item.namespace,
            "name": item.name,
            "body": body,
            "orphan": item.orphan,
            "updated_at": now,
        }
        for item, body, _ in chunk
    ]
    # Upsert rather than insert-or-update so two writers racing on a new ref cannot fail.
    ids: dict[str, int] = {
        ref_key: entity_id
        for entity_id, ref_key in session.execute(_upsert_statement(session), values)
    }
    wanted: dict[int, list[SearchRowTuple]] = {ids[item.ref_key]: rows for item, _, rows in chunk}

    # Rows already stored for these entities. New entities normally have none, but a writer
    # that raced us to insert the same ref may have added some, so they are read too.
    stored: dict[int, dict[SearchRowTuple, list[int]]] = {}
    for row_id, entity_id, key, value, original in session.execute(
        select(
            _SEARCH.c.id,
            _SEARCH.c.entity_id,
            _SEARCH.c.key,
            _SEARCH.c.value,
            _SEARCH.c.original_value,
        ).where(_SEARCH.c.entity_id.in_(list(wanted)))
    ):
        stored.setdefault(entity_id, {}).setdefault((key, value, original), []).append(row_id)
    if not existing and not stored:
        to_insert = [(eid, *row) for eid, rows in wanted.items() for row in rows]
        _insert_search_rows(session, to_insert)
        return

    stale: list[int] = []
    to_insert = []
    for entity_id, rows in wanted.items():
        old = stored.get(entity_id, {})
        for row in rows:
            ids_for_row = old.get(row)
            if ids_for_row:
                ids_for_row.pop()
                continue
            to_insert.append((entity_id, *row))
        for leftover in old.values():
            stale.extend(leftover)
    for part in _chunks(stale):
        session.execute(delete(_SEARCH).where(_SEARCH.c.id.in_(part)))
    _insert_search_rows(session, to_insert)


def _insert_search_rows(
    session: Session, rows: Sequence[tuple[int, str, str | None, str | None]]
) -> None:
    """Bulk insert through the driver: the ORM's per-row bookkeeping would cost more than the
    database work for millions of rows."""
    if not rows:
        return
    connection = session.connection()
    dbapi = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        copy_sql = "COPY catalog_search (entity_id, key, value, original_value) FROM STDIN"
        with dbapi.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            "INSERT INTO catalog_search (entity_id, key, value, original_value) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )
    finally:
        cursor.close()


def delete_final_entities(session: Session, ref_keys: Sequence[str]) -> int:
    """Delete final entities (and their search rows) by ``ref_key``; returns how many went."""
    deleted = 0
    for part in _chunks(list(dict.fromkeys(ref_keys))):
        ids = select(_ENTITIES.c.id).where(_ENTITIES.c.ref_key.in_(part)).scalar_subquery()
        # Explicit rather than relying on ON DELETE CASCADE: SQLite only cascades when the
        # connection enabled foreign keys.
        session.execute(delete(_SEARCH).where(_SEARCH.c.entity_id.in_(ids)))
        result = session.execute(delete(_ENTITIES).where(_ENTITIES.c.ref_key.in_(part)))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        bump_generation(session)
    return deleted


def read_final_by_keys(session: Session, ref_keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored final entities by ``ref_key``; keys without one are absent from the result."""
    out: dict[str, dict[str, Any]] = {}
    for part in _chunks(list(dict.fromkeys(ref_keys))):
        for ref_key, body in session.execute(
            select(_ENTITIES.c.ref_key, _ENTITIES.c.body).where(_ENTITIES.c.ref_key.in_(part))
        ):
            out[ref_key] = jsonutil.loads(body)
    return out
