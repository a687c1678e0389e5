"""Durable background tasks: a queue on a table, a periodic scheduler and worker threads.

A task is claimed with a lease that its worker keeps extending; a worker that dies simply
stops extending it, and ``recover_expired`` hands the task to someone else (or fails it once
its attempts are used up). Every write that records an outcome is fenced on the claim it
belongs to (status ``running`` and the attempt number), so a worker that lost its lease can
never overwrite the result of the worker that took over.
"""

from __future__ import annotations

import builtins
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goldpath.core import jsonutil
from goldpath.core.db import Base, Database
from goldpath.core.errors import ConflictError, GoldpathError, InputError, NotFoundError
from goldpath.core.events import UTCDateTime
from goldpath.core.logging import get_logger

log = get_logger("goldpath.tasks")

TaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
STATUSES: tuple[TaskStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP_SECONDS = 300.0
BACKOFF_JITTER = 0.2
_MAX_ERROR_CHARS = 4000
_MAX_PROGRESS_CHARS = 500
_NOTIFY_ON_COMMIT = "goldpath.tasks.notify"

tasks_table = sa.Table(
    "tasks",
    Base.metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"),
    sa.Column("unique_key", sa.Text(), nullable=True),
    sa.Column("active_key", sa.Text(), nullable=True),
    sa.Column("run_after", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
    sa.Column("worker_id", sa.String(200), nullable=True),
    sa.Column("result", sa.Text(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("progress", sa.Text(), nullable=True),
    sa.Index("uq_tasks_active_key", "active_key", unique=True),
    sa.Index("ix_tasks_status_run_after", "status", "run_after"),
    sa.Index("ix_tasks_status_lease", "status", "lease_expires_at"),
    sa.Index("ix_tasks_kind_created_at", "kind", "created_at"),
    sa.Index("ix_tasks_created_at", "created_at"),
)

periodic_jobs_table = sa.Table(
    "periodic_jobs",
    Base.metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(200), nullable=False),
    sa.Column("interval_seconds", sa.Float(), nullable=False),
    sa.Column("next_run_at", UTCDateTime(), nullable=False),
    sa.Column("last_run_at", UTCDateTime(), nullable=True),
    sa.Column("last_task_id", sa.String(36), nullable=True),
)

_t = tasks_table.c
_pj = periodic_jobs_table.c


@dataclass(frozen=True)
class PeriodicJob:
    key: str
    kind: str
    interval_seconds: float
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskRecord:
    id: str
    kind: str
    payload: dict[str, Any]
    status: TaskStatus
    attempts: int
    max_attempts: int
    unique_key: str | None
    run_after: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None
    progress: str | None


class PermanentTaskError(GoldpathError):
    """Raised by a handler when retrying cannot help: the task fails at once."""

    title = "Task failed"


class TaskCancelled(GoldpathError):
    """The running task was cancelled, or its lease passed to another worker: stop now."""

    status_code = 409
    title = "Task cancelled"


Handler = Callable[["TaskContext"], dict[str, Any] | None]


def backoff_seconds(attempt: int, spread: float | None = None) -> float:
    """Delay before retrying after failed attempt number ``attempt`` (1-based).

    ``spread`` in [0, 1] places the delay within its jitter band (lowest to highest);
    unset, it is random.
    """
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** max(0, attempt - 1))
    # Jitter spreads out retries of tasks that failed together (e.g. a dependency outage).
    where = random.random() if spread is None else min(1.0, max(0.0, spread))
    return delay * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * where)


def _now() -> datetime:
    return datetime.now(UTC)


def _describe(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, GoldpathError) else f"{type(exc).__name__}: {exc}"
    return text[:_MAX_ERROR_CHARS]


def _record(row: Any) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        kind=row.kind,
        payload=jsonutil.loads(row.payload),
        status=row.status,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        unique_key=row.unique_key,
        run_after=row.run_after,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=jsonutil.loads(row.result) if row.result is not None else None,
        error=row.error,
        progress=row.progress,
    )


def _write(session: Session, statement: sa.Executable) -> CursorResult[Any]:
    """Run an INSERT/UPDATE and keep its cursor result, whose rowcount fences our writes."""
    return cast("CursorResult[Any]", session.execute(statement))


def _claimed_by(task: TaskRecord) -> sa.ColumnElement[bool]:
    """Rows still held by this claim of ``task`` (not recovered, cancelled or re-claimed)."""
    return sa.and_(_t.id == task.id, _t.status == "running", _t.attempts == task.attempts)


class TaskContext:
    """What a handler gets: its task, and ways to show it is alive and making progress."""

    def __init__(self, queue: TaskQueue, task: TaskRecord) -> None:
        self.task = task
        self._queue = queue
        self._lost = False

    def heartbeat(self) -> None:
        """Extend the lease; raises ``TaskCancelled`` if the task should stop."""
        if self._lost or not self._queue._extend_lease(self.task):
            self._lost = True
            raise TaskCancelled(f"task {self.task.id} was cancelled or lost its lease")

    def progress(self, message: str) -> None:
        """Record a short progress line (and heartbeat)."""
        message = message[:_MAX_PROGRESS_CHARS]
        if self._lost or not self._queue._extend_lease(self.task, progress=message):
            self._lost = True
            raise TaskCancelled(f"task {self.task.id} was cancelled or lost its lease")
        self.task.progress = message

    @property
    def cancelled(self) -> bool:
        """True once the task was cancelled or handed to another worker."""
        if not self._lost:
            with self._queue.db.session(write=False) as session:
                held = session.execute(sa.select(_t.id).where(_claimed_by(self.task))).first()
            self._lost = held is None
        return self._lost


class TaskQueue:
    """Enqueue, claim, run and inspect durable tasks."""

    def __init__(self, db: Database, *, lease_seconds: float = 30.0) -> None:
        if lease_seconds <= 0:
            raise InputError("lease_seconds must be positive", where="lease_seconds")
        self.db = db
        self.lease_seconds = lease_seconds
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, TaskContext] = {}
        self._running_lock = threading.Lock()
        self._work_available = threading.Condition()

    # ------------------------------------------------------------- handlers
    def register(self, kind: str, handler: Handler) -> None:
        if not kind:
            raise InputError("task kind must not be empty")
        existing = self._handlers.get(kind)
        if existing is not None and existing is not handler:
            raise ConflictError(f"a handler for task kind {kind!r} is already registered")
        self._handlers[kind] = handler

    @property
    def kinds(self) -> builtins.list[str]:
        return sorted(self._handlers)

    # -------------------------------------------------------------- enqueue
    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        unique_key: str | None = None,
        run_after: datetime | timedelta | None = None,
        max_attempts: int = 3,
        session: Session | None = None,
    ) -> str:
        """Queue a task and return its id.

        With ``unique_key``, while a task with that key is queued or running its id is
        returned instead of a new task. With ``session`` the task is written in (and becomes
        visible with) the caller's transaction.
        """
        if not kind:
            raise InputError("task kind must not be empty")
        if max_attempts < 1:
            raise InputError("max_attempts must be at least 1", where="max_attempts")
        now = _now()
        if run_after is None:
            due = now
        elif isinstance(run_after, timedelta):
            due = now + run_after
        elif run_after.tzinfo is None:
            raise InputError("run_after must be timezone-aware", where="run_after")
        else:
            due = run_after
        try:
            encoded = jsonutil.dumps(payload or {})
        except TypeError as exc:
            raise InputError(f"task payload is not JSON-serialisable: {exc}", where=kind) from exc
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "payload": encoded,
            "status": "queued",
            "attempts": 0,
            "max_attempts": max_attempts,
            "unique_key": unique_key,
            "active_key": unique_key,
            "run_after": due,
            "created_at": now,
        }
        if session is not None:
            task_id = self._insert(session, values)
            self._notify_after_commit(session)
            return task_id
        with self.db.session() as own:
            task_id = self._insert(own, values)
        self._notify()
        return task_id

    def _insert(self, session: Session, values: dict[str, Any]) -> str:
        key = values["unique_key"]
        if key is None:
            session.execute(sa.insert(tasks_table).values(**values))
            return str(values["id"])
        # Another transaction may insert the same key between our look and our insert; the
        # unique index on active_key turns that race into an IntegrityError, after which the
        # winner's row is visible (PostgreSQL waits for it to commit before raising).
        for _ in range(5):
            existing = session.execute(
                sa.select(_t.id).where(_t.active_key == key)
            ).scalar_one_or_none()
            if existing is not None:
                return str(existing)
            try:
                with session.begin_nested():
                    session.execute(sa.insert(tasks_table).values(**values))
            except IntegrityError:
                continue
            return str(values["id"])
        raise ConflictError(f"could not enqueue task with unique key {key!r}", where=key)

    def _notify(self) -> None:
        with self._work_available:
            self._work_available.notify_all()

    def _notify_after_commit(self, session: Session) -> None:
        if session.info.get(_NOTIFY_ON_COMMIT):
            return
        session.info[_NOTIFY_ON_COMMIT] = True
        sa_event.listen(session, "after_commit", lambda _s: self._notify())

    def wait_for_work(self, timeout: float) -> None:
        """Sleep until a task is enqueued in this process, or ``timeout`` passes."""
        with self._work_available:
            self._work_available.wait(timeout)

    # -------------------------------------------------------------- inspect
    def get(self, task_id: str) -> TaskRecord:
        with self.db.session(write=False) as session:
            row = session.execute(sa.select(tasks_table).where(_t.id == task_id)).first()
        if row is None:
            raise NotFoundError(f"no task with id {task_id}", where=task_id)
        return _record(row)

    def list(
        self, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> builtins.list[TaskRecord]:
        """Tasks, newest first."""
        query = sa.select(tasks_table)
        if kind is not None:
            query = query.where(_t.kind == kind)
        if status is not None:
            if status not in STATUSES:
                raise InputError(
                    f"unknown task status {status!r}; expected one of {', '.join(STATUSES)}",
                    where="status",
                )
            query = query.where(_t.status == status)
        query = query.order_by(_t.created_at.desc(), _t.id).limit(max(0, limit))
        with self.db.session(write=False) as session:
            rows = session.execute(query).all()
        return [_record(row) for row in rows]

    def cancel(self, task_id: str) -> TaskRecord:
        """Cancel a queued or running task; a finished task is left as it is.

        A running handler learns of it at its next heartbeat, progress or ``cancelled``
        check; nothing it records afterwards is kept.
        """
        with self.db.session() as session:
            result = _write(
                session,
                sa.update(tasks_table)
                .where(_t.id == task_id, _t.status.in_(("queued", "running")))
                .values(
                    status="cancelled",
                    finished_at=_now(),
                    active_key=None,
                    lease_expires_at=None,
                ),
            )
            if result.rowcount == 0:
                exists = session.execute(sa.select(_t.id).where(_t.id == task_id)).first()
                if exists is None:
                    raise NotFoundError(f"no task with id {task_id}", where=task_id)
        return self.get(task_id)

    # ---------------------------------------------------------------- claim
    def claim(self, worker_id: str, limit: int = 1) -> builtins.list[TaskRecord]:
        """Lease up to ``limit`` due tasks to ``worker_id``, counting an attempt for each."""
        now = _now()
        due = (
            sa.select(_t.id)
            .where(_t.status == "queued", _t.run_after <= now)
            .order_by(_t.run_after, _t.created_at)
            .limit(limit)
        )
        # Look first without the write lock: on SQLite an idle poll would otherwise
        # serialise behind (and hold up) every other writer.
        with self.db.session(write=False) as session:
            if session.execute(due).first() is None:
                return []
        with self.db.session() as session:
            # SKIP LOCKED lets PostgreSQL workers claim side by side; SQLite's write
            # transaction (BEGIN IMMEDIATE) already excludes every other claimer.
            locked = due.with_for_update(skip_locked=True) if self.db.is_postgres else due
            ids = builtins.list(session.execute(locked).scalars())
            if not ids:
                return []
            session.execute(
                sa.update(tasks_table)
                .where(_t.id.in_(ids), _t.status == "queued")
                .values(
                    status="running",
                    attempts=_t.attempts + 1,
                    started_at=now,
                    lease_expires_at=now + timedelta(seconds=self.lease_seconds),
                    worker_id=worker_id,
                )
            )
            # Only rows this very claim took, should another claimer have beaten us to one.
            rows = session.execute(
                sa.select(tasks_table)
                .where(
                    _t.id.in_(ids),
                    _t.status == "running",
                    _t.worker_id == worker_id,
                    _t.started_at == now,
                )
                .order_by(_t.run_after, _t.created_at)
            ).all()
        return [_record(row) for row in rows]

    # ------------------------------------------------------------------ run
    def run_one(self, worker_id: str = "inline") -> bool:
        """Claim one due task and run it here; False when nothing was due."""
        claimed = self.claim(worker_id, limit=1)
        if not claimed:
            return False
        self._execute(claimed[0])
        return True

    def run_until_idle(self, timeout: float = 30.0) -> int:
        """Run due tasks in this thread until none is due; returns how many ran.

        Tasks waiting for a retry later are not waited for. Raises ``TimeoutError`` if tasks
        keep coming for longer than ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        count = 0
        while self.run_one():
            count += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"tasks were still due after {timeout:g}s ({count} ran)")
        return count

    def _execute(self, task: TaskRecord) -> None:
        handler = self._handlers.get(task.kind)
        if handler is None:
            self._finish(
                task, "failed", error=f"no handler is registered for task kind {task.kind!r}"
            )
            return
        ctx = TaskContext(self, task)
        with self._running_lock:
            self._running[task.id] = ctx
        started = time.monotonic()
        try:
            try:
                outcome = handler(ctx)
            except TaskCancelled:
                log.info("task stopped: cancelled or lease lost", task_id=task.id, kind=task.kind)
                return
            except (PermanentTaskError, InputError) as exc:
                log.warning(
                    "task failed permanently", task_id=task.id, kind=task.kind, error=str(exc)
                )
                self._finish(task, "failed", error=_describe(exc))
                return
            except Exception as exc:
                log.warning(
                    "task attempt failed",
                    task_id=task.id,
                    kind=task.kind,
                    attempt=task.attempts,
                    exc_info=True,
                )
                self._retry_or_fail(task, exc)
                return
            result = outcome if outcome is None or isinstance(outcome, dict) else {"value": outcome}
            try:
                encoded = jsonutil.dumps(result) if result is not None else None
            except TypeError as exc:
                self._finish(task, "failed", error=f"result is not JSON-serialisable: {exc}")
                return
            self._finish(task, "succeeded", result=encoded)
            log.info(
                "task succeeded",
                task_id=task.id,
                kind=task.kind,
                seconds=round(time.monotonic() - started, 3),
            )
        finally:
            with self._running_lock:
                self._running.pop(task.id, None)

    def _finish(
        self,
        task: TaskRecord,
        status: TaskStatus,
        *,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.db.session() as session:
            updated = _write(
                session,
                sa.update(tasks_table)
                .where(_claimed_by(task))
                .values(
                    status=status,
                    finished_at=_now(),
                    active_key=None,
                    lease_expires_at=None,
                    result=result,
                    error=error,
                ),
            ).rowcount
        if updated == 0:
            log.warning(
                "task outcome discarded: cancelled or lease lost meanwhile",
                task_id=task.id,
                kind=task.kind,
                outcome=status,
            )

    def _retry_or_fail(self, task: TaskRecord, exc: Exception) -> None:
        if task.attempts >= task.max_attempts:
            self._finish(
                task,
                "failed",
                error=f"gave up after {task.attempts} attempts: {_describe(exc)}",
            )
            return
        delay = backoff_seconds(task.attempts)
        with self.db.session() as session:
            session.execute(
                sa.update(tasks_table)
                .where(_claimed_by(task))
                .values(
                    status="queued",
                    run_after=_now() + timedelta(seconds=delay),
                    lease_expires_at=None,
                    worker_id=None,
                    error=_describe(exc),
                )
            )

    # ---------------------------------------------------------------- leases
    def _extend_lease(self, task: TaskRecord, *, progress: str | None = None) -> bool:
        values: dict[str, Any] = {
            "lease_expires_at": _now() + timedelta(seconds=self.lease_seconds)
        }
        if progress is not None:
            values["progress"] = progress
        with self.db.session() as session:
            updated = _write(
                session, sa.update(tasks_table).where(_claimed_by(task)).values(**values)
            ).rowcount
        return updated == 1

    def heartbeat_running(self) -> int:
        """Extend the leases of every task running in this process; returns how many."""
        with self._running_lock:
            contexts = builtins.list(self._running.values())
        if not contexts:
            return 0
        lease_end = _now() + timedelta(seconds=self.lease_seconds)
        alive = 0
        with self.db.session() as session:
            for ctx in contexts:
                updated = _write(
                    session,
                    sa.update(tasks_table)
                    .where(_claimed_by(ctx.task))
                    .values(lease_expires_at=lease_end),
                ).rowcount
                if updated:
                    alive += 1
                else:
                    # Tell the handler at its next heartbeat, without another query.
                    ctx._lost = True
        return alive

    def recover_expired(self) -> int:
        """Requeue (or fail, when out of attempts) tasks whose worker stopped heartbeating."""
        now = _now()
        expired = sa.select(_t.id, _t.attempts, _t.max_attempts).where(
            _t.status == "running", _t.lease_expires_at < now
        )
        with self._running_lock:
            # Alive in this process: its lease only lapsed because heartbeats were late.
            mine = builtins.list(self._running)
        if mine:
            expired = expired.where(_t.id.not_in(mine))
        with self.db.session(write=False) as session:
            if session.execute(expired.limit(1)).first() is None:
                return 0
        recovered = 0
        with self.db.session() as session:
            locked = expired.with_for_update(skip_locked=True) if self.db.is_postgres else expired
            for row in session.execute(locked).all():
                fence = sa.and_(
                    _t.id == row.id,
                    _t.status == "running",
                    _t.attempts == row.attempts,
                    _t.lease_expires_at < now,
                )
                if row.attempts < row.max_attempts:
                    values: dict[str, Any] = {
                        "status": "queued",
                        "run_after": now,
                        "lease_expires_at": None,
                        "worker_id": None,
                        "error": f"worker lost: lease expired (attempt {row.attempts} of "
                        f"{row.max_attempts})",
                    }
                else:
                    values = {
                        "status": "failed",
                        "finished_at": now,
                        "active_key": None,
                        "lease_expires_at": None,
                        "error": f"worker lost: lease expired after {row.attempts} attempts",
                    }
                updated = _write(
                    session, sa.update(tasks_table).where(fence).values(**values)
                ).rowcount
                recovered += updated
                if updated:
                    log.warning(
                        "recovered task from a lost worker",
                        task_id=row.id,
                        attempts=row.attempts,
                        outcome=values["status"],
                    )
        if recovered:
            self._notify()
        return recovered


class Scheduler:
    """Enqueues each periodic job once per interval, however many processes tick."""

    def __init__(self, queue: TaskQueue, jobs: list[PeriodicJob]) -> None:
        keys = [job.key for job in jobs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise InputError(f"periodic job keys must be unique: {', '.join(duplicates)}")
        for job in jobs:
            if job.interval_seconds <= 0:
                raise InputError("interval_seconds must be positive", where=job.key)
        self.queue = queue
        self.jobs = builtins.list(jobs)

    def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every job that is due; returns the task ids."""
        if not self.jobs:
            return []
        now = now or _now()
        db = self.queue.db
        keys = [job.key for job in self.jobs]
        with db.session(write=False) as session:
            rows = {
                row.key: row
                for row in session.execute(sa.select(periodic_jobs_table).where(_pj.key.in_(keys)))
            }
        for job in self.jobs:
            if job.key not in rows:
                self._register(job, now)
            elif rows[job.key].interval_seconds != job.interval_seconds:
                self._reschedule(job, now)
        due = [
            job
            for job in self.jobs
            if job.key not in rows
            or rows[job.key].next_run_at <= now
            or rows[job.key].interval_seconds != job.interval_seconds
        ]
        if not due:
            return []
        task_ids: list[str] = []
        with db.session() as session:
            for job in due:
                # Compare-and-set on next_run_at: of several processes ticking at once, only
                # one moves it forward (PostgreSQL re-checks the condition after the row lock).
                advanced = _write(
                    session,
                    sa.update(periodic_jobs_table)
                    .where(_pj.key == job.key, _pj.next_run_at <= now)
                    .values(
                        next_run_at=now + timedelta(seconds=job.interval_seconds),
                        last_run_at=now,
                        kind=job.kind,
                    ),
                ).rowcount
                if not advanced:
                    continue
                task_id = self.queue.enqueue(
                    job.kind,
                    dict(job.payload),
                    unique_key=f"periodic:{job.key}",
                    session=session,
                )
                session.execute(
                    sa.update(periodic_jobs_table)
                    .where(_pj.key == job.key)
                    .values(last_task_id=task_id)
                )
                task_ids.append(task_id)
        return task_ids

    def _register(self, job: PeriodicJob, now: datetime) -> None:
        try:
            with self.queue.db.session() as session:
                session.execute(
                    sa.insert(periodic_jobs_table).values(
                        key=job.key,
                        kind=job.kind,
                        interval_seconds=job.interval_seconds,
                        next_run_at=now,
                    )
                )
        except IntegrityError:
            pass  # another process registered it first

    def _reschedule(self, job: PeriodicJob, now: datetime) -> None:
        # A shorter interval takes effect now rather than after the old, longer wait.
        soonest = now + timedelta(seconds=job.interval_seconds)
        with self.queue.db.session() as session:
            session.execute(
                sa.update(periodic_jobs_table)
                .where(_pj.key == job.key)
                .values(
                    interval_seconds=job.interval_seconds,
                    next_run_at=sa.case(
                        (_pj.next_run_at > soonest, soonest), else_=_pj.next_run_at
                    ),
                )
            )


class Worker:
    """Threads that run tasks, plus one that heartbeats, recovers and ticks the scheduler."""

    def __init__(
        self,
        queue: TaskQueue,
        *,
        concurrency: int = 2,
        poll_interval: float = 0.5,
        scheduler: Scheduler | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.queue = queue
        self.concurrency = max(0, concurrency)
        self.poll_interval = poll_interval
        self.scheduler = scheduler
        self.worker_id = worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("worker already started")
        if self.concurrency == 0:
            return
        self._stop.clear()
        for n in range(self.concurrency):
            self._threads.append(
                threading.Thread(
                    target=self._run_tasks,
                    args=(f"{self.worker_id}/{n}",),
                    name=f"goldpath-worker-{n}",
                    daemon=True,
                )
            )
        self._threads.append(
            threading.Thread(target=self._maintain, name="goldpath-worker-maintenance", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        log.info("worker started", worker_id=self.worker_id, concurrency=self.concurrency)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking tasks; wait up to ``timeout`` for tasks in flight to finish."""
        self._stop.set()
        self.queue._notify()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            # Daemon threads: they die with the process and their leases simply expire.
            log.warning("worker threads still busy at shutdown", threads=stuck)
        self._threads = []

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run_tasks(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                ran = self.queue.run_one(worker_id)
            except Exception:
                log.exception("worker failed to claim or record a task", worker_id=worker_id)
                ran = False
            if not ran and not self._stop.is_set():
                self.queue.wait_for_work(self.poll_interval)

    def _maintain(self) -> None:
        lease = self.queue.lease_seconds
        heartbeat_every = lease / 3
        recover_every = max(lease / 2, self.poll_interval)
        last_heartbeat = last_recover = float("-inf")
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last_heartbeat >= heartbeat_every:
                last_heartbeat = now
                self._guard("heartbeat", self.queue.heartbeat_running)
            if now - last_recover >= recover_every:
                last_recover = now
                self._guard("recover expired tasks", self.queue.recover_expired)
            if self.scheduler is not None:
                self._guard("tick scheduler", self.scheduler.tick)
            self._stop.wait(min(self.poll_interval, heartbeat_every))

    @staticmethod
    def _guard(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception(f"worker could not {what}")
