"""The ``techdocs_builds`` table and its queries: one row per build of an entity's docs.

A row is written ``queued`` when a build is asked for (in the same transaction as its task),
becomes ``building`` when a worker starts it, and ends ``succeeded`` or ``failed``. Lists
leave the log out; it is read with one build at a time.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from goldpath.core.db import Base, Database
from goldpath.core.errors import NotFoundError
from goldpath.core.events import UTCDateTime
from goldpath.docs.model import ACTIVE, FINISHED, Build, BuildStatus

#: Characters of log kept per build: MkDocs logs are short; a runaway plugin's are not.
MAX_LOG_CHARS = 200_000

builds_table = sa.Table(
    "techdocs_builds",
    Base.metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("entity_ref", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("task_id", sa.String(36), nullable=True),
    sa.Column("source", sa.Text(), nullable=True),
    sa.Column("source_hash", sa.String(128), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("warnings", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("pages", sa.Integer(), nullable=True),
    sa.Column("log", sa.Text(), nullable=False, server_default=""),
    sa.Index("ix_techdocs_builds_entity_ref_created_at", "entity_ref", "created_at"),
    sa.Index("ix_techdocs_builds_task_id", "task_id"),
    sa.Index("ix_techdocs_builds_status", "status"),
)

_b = builds_table.c
_SUMMARY = [c for c in builds_table.c if c.name != "log"]


def _now() -> datetime:
    return datetime.now(UTC)


def clip_log(text: str) -> str:
    if len(text) <= MAX_LOG_CHARS:
        return text
    cut = len(text) - MAX_LOG_CHARS
    return f"[{cut} earlier characters of the log were dropped]\n" + text[cut:]


def _build(row: Any) -> Build:
    data = dict(row._mapping)
    data.setdefault("log", "")
    return Build.model_validate(data)


def _newest_first(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.order_by(_b.created_at.desc(), _b.id.desc())


class BuildStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ write
    def create(
        self,
        entity_ref: str,
        reason: str,
        *,
        task_id: str | None,
        session: Session | None = None,
    ) -> Build:
        values = {
            "id": str(uuid.uuid4()),
            "entity_ref": entity_ref,
            "status": "queued",
            "reason": reason,
            "task_id": task_id,
            "created_at": _now(),
            "warnings": 0,
            "log": "",
        }
        if session is not None:
            session.execute(sa.insert(builds_table).values(**values))
        else:
            with self.db.session() as own:
                own.execute(sa.insert(builds_table).values(**values))
        return Build.model_validate(values)

    def start(self, build_id: str, *, source: str | None, source_hash: str | None) -> None:
        self._update(
            build_id,
            status="building",
            started_at=_now(),
            finished_at=None,
            source=source,
            source_hash=source_hash,
            error=None,
            log="",
        )

    def set_log(self, build_id: str, log: str) -> None:
        self._update(build_id, log=clip_log(log))

    def finish(
        self,
        build_id: str,
        status: BuildStatus,
        *,
        log: str,
        error: str | None = None,
        warnings: int = 0,
        pages: int | None = None,
        source: str | None = None,
        source_hash: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "finished_at": _now(),
            "log": clip_log(log),
            "error": error,
            "warnings": warnings,
            "pages": pages,
        }
        if source is not None:
            values["source"] = source
        if source_hash is not None:
            values["source_hash"] = source_hash
        with self.db.session() as session:
            row = session.execute(
                sa.select(_b.started_at).where(_b.id == build_id)
            ).scalar_one_or_none()
            if row is None:
                values["started_at"] = values["finished_at"]
            session.execute(sa.update(builds_table).where(_b.id == build_id).values(**values))

    def _update(self, build_id: str, **values: Any) -> None:
        with self.db.session() as session:
            session.execute(sa.update(builds_table).where(_b.id == build_id).values(**values))

    def delete(self, build_id: str) -> None:
        with self.db.session() as session:
            session.execute(sa.delete(builds_table).where(_b.id == build_id))

    def delete_entities(self, entity_refs: Sequence[str]) -> int:
        if not entity_refs:
            return 0
        with self.db.session() as session:
            result = session.execute(
                sa.delete(builds_table).where(_b.entity_ref.in_(list(entity_refs)))
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def prune(self, entity_ref: str, keep: int) -> None:
        """Drop all but the newest ``keep`` finished builds of an entity."""
        with self.db.session() as session:
            old = session.scalars(
                _newest_first(
                    sa.select(_b.id).where(_b.entity_ref == entity_ref, _b.status.in_(FINISHED))
                ).offset(keep)
            ).all()
            if old:
                session.execute(sa.delete(builds_table).where(_b.id.in_(old)))

    # ------------------------------------------------------------------- read
    def get(self, build_id: str) -> Build:
        with self.db.session(write=False) as session:
            row = session.execute(sa.select(builds_table).where(_b.id == build_id)).first()
        if row is None:
            raise NotFoundError(f"no docs build with id {build_id}", where=build_id)
        return _build(row)

    def by_task(self, task_id: str, *, session: Session | None = None) -> Build | None:
        query = sa.select(builds_table).where(_b.task_id == task_id)
        if session is not None:
            row = session.execute(query).first()
        else:
            with self.db.session(write=False) as own:
                row = own.execute(query).first()
        return _build(row) if row is not None else None

    def list(self, entity_ref: str, *, limit: int = 20) -> builtins.list[Build]:
        """Builds of an entity, newest first, without their logs."""
        with self.db.session(write=False) as session:
            rows = session.execute(
                _newest_first(sa.select(*_SUMMARY).where(_b.entity_ref == entity_ref)).limit(
                    max(1, limit)
                )
            ).all()
        return [_build(r) for r in rows]

    def latest(
        self, entity_ref: str, statuses: Iterable[BuildStatus] | None = None
    ) -> Build | None:
        query = sa.select(builds_table).where(_b.entity_ref == entity_ref)
        if statuses is not None:
            query = query.where(_b.status.in_(builtins.list(statuses)))
        with self.db.session(write=False) as session:
            row = session.execute(_newest_first(query).limit(1)).first()
        return _build(row) if row is not None else None

    def active(self, entity_ref: str) -> Build | None:
        return self.latest(entity_ref, ACTIVE)

    def latest_of(
        self, entity_refs: Sequence[str], statuses: Iterable[BuildStatus] | None = None
    ) -> dict[str, Build]:
        """The newest build (of ``statuses``) of each entity, without logs; one query."""
        if not entity_refs:
            return {}
        ranked = sa.select(
            *_SUMMARY,
            sa.func.row_number()
            .over(partition_by=_b.entity_ref, order_by=(_b.created_at.desc(), _b.id.desc()))
            .label("rank"),
        ).where(_b.entity_ref.in_(builtins.list(entity_refs)))
        if statuses is not None:
            ranked = ranked.where(_b.status.in_(builtins.list(statuses)))
        sub = ranked.subquery()
        columns = [sub.c[c.name] for c in _SUMMARY]
        with self.db.session(write=False) as session:
            rows = session.execute(sa.select(*columns).where(sub.c.rank == 1)).all()
        return {row.entity_ref: _build(row) for row in rows}

    def with_builds(self, entity_refs: Sequence[str]) -> set[str]:
        if not entity_refs:
            return set()
        with self.db.session(write=False) as session:
            return set(
                session.scalars(
                    sa.select(_b.entity_ref)
                    .where(_b.entity_ref.in_(builtins.list(entity_refs)))
                    .distinct()
                )
            )
