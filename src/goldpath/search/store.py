"""Search tables and the index's write side.

``search_documents`` holds one narrow row per document: its key, type, entity, lower-cased
filter values, tags, order and a hash of it all, so filters and facets scan small rows.
``search_content`` holds, by the same id, what is served (``document`` JSON plus ``title`` and
``body``, its ``text``) and the searchable columns. ``search_tags`` holds tags one row each,
for filters. The full-text index hangs off ``search_content``: an FTS5 table kept in step by
triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL (both created
by the migration).

Writers take one lock (SQLite's write lock, a transaction-level advisory lock on
PostgreSQL) before they read what they index, so two writers of the same entity — a catalog
change and a full reindex, say — apply in the order they read, and the newer one wins.
Writes work per batch: a few statements per few hundred documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from goldpath.core import jsonutil
from goldpath.core.db import Base, bulk_insert
from goldpath.search.documents import IndexRow

T = TypeVar("T")
CHUNK = 500
# Any fixed number; distinct from the migration lock's.
_PG_WRITE_LOCK = 0x5EA2C4
TABLES = ("search_documents", "search_content", "search_tags")
#: Bumped when what documents hold changes, so an index built by an older version is rebuilt.
INDEX_VERSION = 1

_DOC_COLUMNS = (
    "id",
    "doc_key",
    "type",
    "entity_key",
    "kind",
    "namespace",
    "name",
    "owner",
    "lifecycle",
    "spec_type",
    "tags",
    "sort_key",
    "hash",
)
_CONTENT_COLUMNS = ("id", "title", "names", "meta", "body", "filters", "document")


class DocumentRow(Base):
    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``<type>|<entity key>`` for an entity, ``techdocs|<entity key>|<path>#<anchor>``.
    doc_key: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(String(32))
    #: The entity a document belongs to (its own, or its docs'), full ref in lower case.
    entity_key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(63), index=True)
    namespace: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255), index=True)
    #: The owner's full ref (``group:default/team-a``), lower case.
    owner: Mapped[str] = mapped_column(String(255), index=True)
    lifecycle: Mapped[str] = mapped_column(String(63), index=True)
    spec_type: Mapped[str] = mapped_column(String(63), index=True)
    #: Space-separated, for counting facets without a join (filters use search_tags).
    tags: Mapped[str] = mapped_column(Text)
    #: Order of an empty search: by type, then title (docs: by entity, then page order).
    sort_key: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_search_documents_entity", "entity_key", "type"),
        Index("ix_search_documents_type_sort", "type", "sort_key", "id"),
    )


class ContentRow(Base):
    __tablename__ = "search_content"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text)
    names: Mapped[str] = mapped_column(Text)
    meta: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    #: Filter values as full-text tokens (``documents.filter_token``).
    filters: Mapped[str] = mapped_column(Text)
    #: The rest of the served document (JSON), without ``title`` and ``text``.
    document: Mapped[str] = mapped_column(Text)


class TagRow(Base):
    __tablename__ = "search_tags"

    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class SearchMetaRow(Base):
    """``generation`` grows with every index write (facet caches check it); ``version`` is
    the INDEX_VERSION the index was last fully built with."""

    __tablename__ = "search_meta"

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _binds(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    names = [f"{prefix}{i}" for i in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values, strict=True))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock(session: Session) -> None:
    """Serialise index writers (on SQLite the write transaction already is)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
    else:
        session.connection()  # BEGIN IMMEDIATE now, before the caller reads what it indexes


@dataclass
class SyncReport:
    written: int = 0
    deleted: int = 0
    unchanged: int = 0

    def add(self, other: SyncReport) -> None:
        self.written += other.written
        self.deleted += other.deleted
        self.unchanged += other.unchanged


def _existing(
    session: Session, entity_keys: Sequence[str], types: Sequence[str]
) -> dict[str, tuple[int, str]]:
    # By entity alone, types checked here: a planner with stale statistics (documents of a
    # type that was empty at the last ANALYZE) would otherwise walk the type index.
    found: dict[str, tuple[int, str]] = {}
    wanted = set(types)
    for chunk in chunks(list(entity_keys)):
        key_list, params = _binds("k", chunk)
        rows = session.execute(
            text(
                f"SELECT doc_key, id, hash, type FROM search_documents "
                f"WHERE entity_key IN ({key_list})"
            ),
            params,
        )
        found.update((r.doc_key, (r.id, r.hash)) for r in rows if r.type in wanted)
    return found


def _values(doc_id: int, row: IndexRow) -> tuple[Any, ...]:
    return (
        doc_id,
        row.doc_key,
        row.type,
        row.entity_key,
        row.kind,
        row.namespace,
        row.name,
        row.owner,
        row.lifecycle,
        row.spec_type,
        " ".join(row.tags),
        row.sort_key,
        row.hash,
    )


def _content(doc_id: int, row: IndexRow) -> tuple[Any, ...]:
    return (
        doc_id,
        row.title,
        row.names,
        row.meta,
        row.body,
        row.filter_tokens(),
        jsonutil.dumps(row.document),
    )


def _new_ids(session: Session, count: int) -> list[int]:
    if is_postgres(session):
        rows = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('search_documents', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return [int(r[0]) for r in rows]
    # Under the write lock, so nobody else allocates meanwhile.
    top = session.execute(text("SELECT coalesce(max(id), 0) FROM search_documents")).scalar()
    return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))


def delete_ids(session: Session, ids: Sequence[int]) -> int:
    for chunk in chunks(list(ids)):
        id_list, params = _binds("i", chunk)
        for table, column in (
            ("search_tags", "doc_id"),
            ("search_content", "id"),
            ("search_documents", "id"),
        ):
            session.execute(text(f"DELETE FROM {table} WHERE {column} IN ({id_list})"), params)
    return len(ids)


def _insert(session: Session, rows: Sequence[IndexRow]) -> None:
    if not rows:
        return
    ids = _new_ids(session, len(rows))
    pairs = list(zip(ids, rows, strict=True))
    bulk_insert(session, "search_documents", _DOC_COLUMNS, [_values(i, r) for i, r in pairs])
    bulk_insert(session, "search_content", _CONTENT_COLUMNS, [_content(i, r) for i, r in pairs])
    bulk_insert(
        session, "search_tags", ("tag", "doc_id"), [(t, i) for i, r in pairs for t in r.tags]
    )


def _set_all(table: str, columns: Sequence[str]) -> Any:
    assignments = ", ".join(f"{c} = :{c}" for c in columns if c != "id")
    return text(f"UPDATE {table} SET {assignments} WHERE id = :id")


def _update(session: Session, changed: Sequence[tuple[int, IndexRow]]) -> None:
    if not changed:
        return
    session.execute(
        _set_all("search_documents", _DOC_COLUMNS),
        [dict(zip(_DOC_COLUMNS, _values(i, r), strict=True)) for i, r in changed],
    )
    session.execute(
        _set_all("search_content", _CONTENT_COLUMNS),
        [dict(zip(_CONTENT_COLUMNS, _content(i, r), strict=True)) for i, r in changed],
    )
    for chunk in chunks([i for i, _ in changed]):
        id_list, params = _binds("i", chunk)
        session.execute(text(f"DELETE FROM search_tags WHERE doc_id IN ({id_list})"), params)
    tags = [(tag, i) for i, r in changed for tag in r.tags]
    bulk_insert(session, "search_tags", ("tag", "doc_id"), tags)


def sync(
    session: Session, rows: Iterable[IndexRow], entity_keys: Sequence[str], types: Sequence[str]
) -> SyncReport:
    """Make the documents of ``types`` belonging to ``entity_keys`` exactly ``rows``: new ones
    inserted, changed ones rewritten in place (their id, and so their order, stays), the rest
    deleted. Unchanged documents cost nothing but the hash comparison."""
    latest = {r.doc_key: r for r in rows}
    existing = _existing(session, entity_keys, types)
    report = SyncReport()
    fresh: list[IndexRow] = []
    changed: list[tuple[int, IndexRow]] = []
    for key, row in latest.items():
        found = existing.get(key)
        if found is None:
            fresh.append(row)
        elif found[1] != row.hash:
            changed.append((found[0], row))
        else:
            report.unchanged += 1
    gone = [doc_id for key, (doc_id, _) in existing.items() if key not in latest]
    report.deleted = delete_ids(session, gone)
    _update(session, changed)
    _insert(session, fresh)
    report.written = len(fresh) + len(changed)
    return report


def delete_entities(session: Session, entity_keys: Sequence[str]) -> int:
    """Every document of these entities, their docs pages included."""
    ids: list[int] = []
    for chunk in chunks(list(entity_keys)):
        key_list, params = _binds("k", chunk)
        ids += session.scalars(
            text(f"SELECT id FROM search_documents WHERE entity_key IN ({key_list})"), params
        ).all()
    return delete_ids(session, ids)


def stored_rows(session: Session, entity_keys: Sequence[str], doc_type: str) -> list[IndexRow]:
    """Documents of one type as stored (tags aside), to patch them."""
    ids: list[int] = []
    for chunk in chunks(list(entity_keys)):
        key_list, params = _binds("k", chunk)
        rows = session.execute(
            text(f"SELECT id, type FROM search_documents WHERE entity_key IN ({key_list})"),
            params,
        )
        ids += [r.id for r in rows if r.type == doc_type]
    out: list[IndexRow] = []
    for id_chunk in chunks(ids):
        id_list, params = _binds("i", id_chunk)
        result = session.execute(
            text(
                "SELECT d.doc_key, d.type, d.entity_key, c.title, c.body, c.document, c.names, "
                "c.meta, d.sort_key FROM search_documents d JOIN search_content c ON c.id = d.id "
                f"WHERE d.id IN ({id_list})"
            ),
            params,
        )
        out += [
            IndexRow(
                doc_key=r.doc_key,
                type=r.type,
                entity_key=r.entity_key,
                title=r.title,
                body=r.body,
                document=jsonutil.loads(r.document),
                names=r.names,
                meta=r.meta,
                sort_key=r.sort_key,
            )
            for r in result
        ]
    return out


def indexed_entity_keys(session: Session) -> set[str]:
    return set(session.scalars(text("SELECT DISTINCT entity_key FROM search_documents")))


def bump_generation(session: Session) -> None:
    session.execute(text("UPDATE search_meta SET value = value + 1 WHERE key = 'generation'"))


def get_meta(session: Session, key: str) -> int | None:
    value = session.execute(
        text("SELECT value FROM search_meta WHERE key = :k"), {"k": key}
    ).scalar()
    return None if value is None else int(value)


def set_meta(session: Session, key: str, value: int) -> None:
    updated = session.execute(
        text("UPDATE search_meta SET value = :v WHERE key = :k"), {"k": key, "v": value}
    )
    if not getattr(updated, "rowcount", 0):
        session.execute(
            text("INSERT INTO search_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
        )


def counts_by_type(session: Session) -> dict[str, int]:
    rows = session.execute(text("SELECT type, count(*) FROM search_documents GROUP BY type"))
    return {r[0]: int(r[1]) for r in rows}


def optimize(session: Session) -> None:
    """After a large build: merge FTS5's segments into one (faster queries); refresh the
    planner's statistics on PostgreSQL (the caller vacuums outside a transaction)."""
    if is_postgres(session):
        for table in TABLES:
            session.execute(text(f"ANALYZE {table}"))
    else:
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
