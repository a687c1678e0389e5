"""Scaffolder tables and the queries over them.

A task row holds what Backstage's ``SerializedTask`` shows (spec, status, times, creator)
plus goldpath's per-step state and the rendered output. Its log is a separate append-only
table read by id (``after``) for live streams. Secrets never enter either: they sit encrypted
in ``scaffolder_task_secrets`` only while the task can still run, and are deleted when it ends.
"""

from __future__ import annotations

import builtins
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from goldpath.core import jsonutil
from goldpath.core.db import Base, Database
from goldpath.core.errors import NotFoundError
from goldpath.core.events import UTCDateTime

TaskStatus = Literal["open", "processing", "completed", "failed", "cancelled"]
TASK_STATUSES: tuple[TaskStatus, ...] = ("open", "processing", "completed", "failed", "cancelled")
FINISHED: tuple[TaskStatus, ...] = ("completed", "failed", "cancelled")
EventType = Literal["log", "completion", "cancelled", "recovered"]

tasks_table = sa.Table(
    "scaffolder_tasks",
    Base.metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("template_ref", sa.Text(), nullable=False),
    sa.Column("template_version", sa.String(64), nullable=True),
    sa.Column("spec", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("last_heartbeat_at", UTCDateTime(), nullable=True),
    sa.Column("steps", sa.Text(), nullable=False, server_default="{}"),
    sa.Column("output", sa.Text(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    # The durable queue task running this scaffolder task (cancel reaches it through this).
    sa.Column("run_id", sa.String(36), nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
)

events_table = sa.Table(
    "scaffolder_task_events",
    Base.metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column(
        "task_id",
        sa.String(36),
        sa.ForeignKey("scaffolder_tasks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

secrets_table = sa.Table(
    "scaffolder_task_secrets",
    Base.metadata,
    sa.Column(
        "task_id",
        sa.String(36),
        sa.ForeignKey("scaffolder_tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ciphertext", sa.Text(), nullable=False),
)

_t = tasks_table.c
_e = events_table.c


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TaskRow:
    id: str
    template_ref: str
    template_version: str | None
    spec: dict[str, Any]
    status: TaskStatus
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_heartbeat_at: datetime | None
    steps: dict[str, dict[str, Any]]
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    run_id: str | None
    attempt: int


@dataclass
class TaskEvent:
    id: int
    task_id: str
    type: EventType
    body: dict[str, Any]
    created_at: datetime


def _row(row: Any) -> TaskRow:
    return TaskRow(
        id=row.id,
        template_ref=row.template_ref,
        template_version=row.template_version,
        spec=jsonutil.loads(row.spec),
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_heartbeat_at=row.last_heartbeat_at,
        steps=jsonutil.loads(row.steps) if row.steps else {},
        output=jsonutil.loads(row.output) if row.output else None,
        error=jsonutil.loads(row.error) if row.error else None,
        run_id=row.run_id,
        attempt=row.attempt,
    )


def _event(row: Any) -> TaskEvent:
    return TaskEvent(
        id=int(row.id),
        task_id=row.task_id,
        type=row.type,
        body=jsonutil.loads(row.body),
        created_at=row.created_at,
    )


class TaskStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Told (task id) after every committed write, so live streams in this process wake at
        # once; streams served by another process fall back to polling.
        self._listeners: set[Callable[[str], None]] = set()
        self._listeners_lock = threading.Lock()

    def listen(self, callback: Callable[[str], None]) -> Callable[[], None]:
        with self._listeners_lock:
            self._listeners.add(callback)

        def stop() -> None:
            with self._listeners_lock:
                self._listeners.discard(callback)

        return stop

    def _changed(self, task_id: str) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback(task_id)

    # ------------------------------------------------------------------ tasks
    def create(
        self,
        *,
        template_ref: str,
        template_version: str | None,
        spec: dict[str, Any],
        created_by: str | None,
        secrets_ciphertext: str | None,
        enqueue: Any,
    ) -> str:
        """Insert a task (and its secrets) and, in the same transaction, its queue task.

        ``enqueue(session, task_id) -> run_id`` queues the durable run, so a task never
        exists without something that will run it.
        """
        task_id = str(uuid.uuid4())
        with self.db.session() as session:
            session.execute(
                sa.insert(tasks_table).values(
                    id=task_id,
                    template_ref=template_ref,
                    template_version=template_version,
                    spec=jsonutil.dumps(spec),
                    status="open",
                    created_by=created_by,
                    created_at=now(),
                    steps="{}",
                    attempt=0,
                )
            )
            if secrets_ciphertext is not None:
                session.execute(
                    sa.insert(secrets_table).values(task_id=task_id, ciphertext=secrets_ciphertext)
                )
            run_id = enqueue(session, task_id)
            session.execute(sa.update(tasks_table).where(_t.id == task_id).values(run_id=run_id))
        self._changed(task_id)
        return task_id

    def get(self, task_id: str) -> TaskRow:
        with self.db.session(write=False) as session:
            row = session.execute(sa.select(tasks_table).where(_t.id == task_id)).first()
        if row is None:
            raise NotFoundError(f"no scaffolder task with id {task_id}", where=task_id)
        return _row(row)

    def status(self, task_id: str) -> str | None:
        """Just the status (polled while a task runs, so no JSON columns are read)."""
        with self.db.session(write=False) as session:
            value = session.execute(sa.select(_t.status).where(_t.id == task_id)).scalar()
        return cast("str | None", value)

    def list(
        self,
        *,
        created_by: list[str] | None = None,
        status: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
    ) -> tuple[builtins.list[TaskRow], int]:
        query = sa.select(tasks_table)
        count = sa.select(sa.func.count()).select_from(tasks_table)
        if created_by:
            query = query.where(_t.created_by.in_(created_by))
            count = count.where(_t.created_by.in_(created_by))
        if status:
            query = query.where(_t.status.in_(status))
            count = count.where(_t.status.in_(status))
        order = _t.created_at.desc() if newest_first else _t.created_at.asc()
        query = query.order_by(order, _t.id).limit(limit).offset(offset)
        with self.db.session(write=False) as session:
            rows = session.execute(query).all()
            total = int(session.execute(count).scalar_one())
        return [_row(r) for r in rows], total

    def update(self, task_id: str, *, only_if_status: tuple[str, ...] = (), **values: Any) -> bool:
        """Update columns (JSON ones encoded here); ``only_if_status`` fences the write."""
        for key in ("spec", "steps", "output", "error"):
            if key in values and values[key] is not None:
                values[key] = jsonutil.dumps(values[key])
        statement = sa.update(tasks_table).where(_t.id == task_id).values(**values)
        if only_if_status:
            statement = statement.where(_t.status.in_(only_if_status))
        with self.db.session() as session:
            result = cast("CursorResult[Any]", session.execute(statement))
        self._changed(task_id)
        return bool(result.rowcount)

    # ----------------------------------------------------------------- events
    def record(
        self,
        task_id: str,
        events: builtins.list[tuple[EventType, dict[str, Any]]],
        *,
        only_if_status: tuple[str, ...] = (),
        durable: bool = True,
        **values: Any,
    ) -> bool:
        """Append events and update the task row in one transaction (one write per step
        boundary keeps the engine's per-step overhead low). Returns False, writing nothing,
        when ``only_if_status`` no longer holds (the task was cancelled meanwhile).

        ``durable=False`` is for progress (log lines, step states, heartbeats): on
        PostgreSQL the commit does not wait for the WAL flush, which a crash can lose only
        the last few milliseconds of. Outcomes are always written durably.
        """
        for key in ("spec", "steps", "output", "error"):
            if key in values and values[key] is not None:
                values[key] = jsonutil.dumps(values[key])
        stamp = now()
        rows = [
            {"task_id": task_id, "type": t, "body": jsonutil.dumps(b), "created_at": stamp}
            for t, b in events
        ]
        with self.db.session() as session:
            if not durable and self.db.is_postgres:
                session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
            if values:
                statement = sa.update(tasks_table).where(_t.id == task_id).values(**values)
                if only_if_status:
                    statement = statement.where(_t.status.in_(only_if_status))
                result = cast("CursorResult[Any]", session.execute(statement))
                if not result.rowcount:
                    return False
            if rows:
                session.execute(sa.insert(events_table), rows)
        self._changed(task_id)
        return True

    def append_events(
        self, task_id: str, events: builtins.list[tuple[EventType, dict[str, Any]]]
    ) -> None:
        self.record(task_id, events)

    def events(
        self, task_id: str, *, after: int | None = None, limit: int = 1000
    ) -> builtins.list[TaskEvent]:
        query = sa.select(events_table).where(_e.task_id == task_id)
        if after is not None:
            query = query.where(_e.id > after)
        query = query.order_by(_e.id).limit(limit)
        with self.db.session(write=False) as session:
            rows = session.execute(query).all()
        return [_event(r) for r in rows]

    # ---------------------------------------------------------------- secrets
    def secrets_ciphertext(self, task_id: str) -> str | None:
        with self.db.session(write=False) as session:
            value = session.execute(
                sa.select(secrets_table.c.ciphertext).where(secrets_table.c.task_id == task_id)
            ).scalar_one_or_none()
        return cast("str | None", value)

    def set_secrets(self, task_id: str, ciphertext: str | None) -> None:
        with self.db.session() as session:
            session.execute(sa.delete(secrets_table).where(secrets_table.c.task_id == task_id))
            if ciphertext is not None:
                session.execute(
                    sa.insert(secrets_table).values(task_id=task_id, ciphertext=ciphertext)
                )

    def delete_secrets(self, task_id: str) -> None:
        self.set_secrets(task_id, None)
