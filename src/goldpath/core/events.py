"""The append-only event log: the record that metrics, audit and live views read.

Events are written in the writer's own transaction when it passes ``session``, so an event
exists exactly when the change it describes does; in-process subscribers hear of it only
once that transaction has committed.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.orm import Session, SessionTransaction

from goldpath.core import jsonutil
from goldpath.core.db import Base, Database
from goldpath.core.errors import InputError
from goldpath.core.logging import get_logger

log = get_logger("goldpath.events")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines.

    SQLite has no timezone type and hands back naive values; storing everything as UTC and
    re-attaching UTC on the way out keeps comparisons (stored as text there) in order.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


events_table = sa.Table(
    "events",
    Base.metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("subject", sa.Text(), nullable=True),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_events_type_id", "type", "id"),
    sa.Index("ix_events_subject_id", "subject", "id"),
    sa.Index("ix_events_created_at", "created_at"),
)


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    subject: str | None
    data: dict[str, Any]
    actor: str | None
    created_at: datetime


Subscriber = Callable[[Event], None]

# Key in ``Session.info`` under which events wait for their transaction to commit.
_PENDING = "goldpath.events.pending"
# Bounded so a stalled SSE client cannot grow memory without limit; it loses events instead.
_STREAM_QUEUE_SIZE = 10_000


@dataclass
class _Pending:
    log: EventLog
    event: Event
    # The innermost transaction the event was written in: if that savepoint is rolled back
    # the event never existed, even when the outer transaction later commits.
    transaction: SessionTransaction


class EventLog:
    """Append and read events; ``subscribe`` for in-process delivery after commit."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._subscribers: builtins.list[tuple[Subscriber, frozenset[str] | None]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ write
    def append(
        self,
        type: str,  # noqa: A002 - the event's own field name
        *,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
        session: Session | None = None,
    ) -> Event | None:
        """Record an event; with ``session`` it is part of (and waits for) that transaction.

        The returned event has its id either way; with ``session`` it is not yet committed.
        """
        if not type:
            raise InputError("event type must not be empty")
        payload = dict(data) if data else {}
        try:
            encoded = jsonutil.dumps(payload)
        except TypeError as exc:
            raise InputError(f"event data is not JSON-serialisable: {exc}", where=type) from exc
        created_at = datetime.now(UTC)
        values = {
            "type": type,
            "subject": subject,
            "data": encoded,
            "actor": actor,
            "created_at": created_at,
        }
        if session is not None:
            event = self._insert(session, values, payload)
            self._defer(session, event)
            return event
        with self.db.session() as own:
            event = self._insert(own, values, payload)
        self._publish(event)
        return event

    @staticmethod
    def _insert(session: Session, values: dict[str, Any], payload: dict[str, Any]) -> Event:
        result = cast(
            "CursorResult[Any]", session.execute(sa.insert(events_table).values(**values))
        )
        event_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if event_id is None:
            raise RuntimeError("the database did not return the new event's id")
        return Event(
            id=int(event_id),
            type=values["type"],
            subject=values["subject"],
            data=payload,
            actor=values["actor"],
            created_at=values["created_at"],
        )

    def _defer(self, session: Session, event: Event) -> None:
        pending: list[_Pending] | None = session.info.get(_PENDING)
        if pending is None:
            pending = []
            session.info[_PENDING] = pending
            sa_event.listen(session, "after_commit", _after_commit)
            sa_event.listen(session, "after_soft_rollback", _after_soft_rollback)
        transaction = session.get_nested_transaction() or session.get_transaction()
        assert transaction is not None  # the insert above began one
        pending.append(_Pending(self, event, transaction))

    # ------------------------------------------------------------------- read
    def list(
        self,
        *,
        types: list[str] | None = None,
        type_prefix: str | None = None,
        subject: str | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> builtins.list[Event]:
        """Events in the order they were appended (by id), oldest first."""
        query = sa.select(events_table)
        if types:
            query = query.where(events_table.c.type.in_(types))
        if type_prefix:
            query = query.where(events_table.c.type.startswith(type_prefix, autoescape=True))
        if subject is not None:
            query = query.where(events_table.c.subject == subject)
        if after_id is not None:
            query = query.where(events_table.c.id > after_id)
        query = query.order_by(events_table.c.id).limit(max(0, limit))
        with self.db.session(write=False) as session:
            rows = session.execute(query).all()
        return [_event(row) for row in rows]

    # ---------------------------------------------------------------- deliver
    def subscribe(
        self, callback: Subscriber, types: builtins.list[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` for every committed event (of ``types``); returns unsubscribe.

        Callbacks run on the thread that committed, so they must be quick.
        """
        entry: tuple[Subscriber, frozenset[str] | None] = (
            callback,
            frozenset(types) if types else None,
        )
        with self._lock:
            self._subscribers = [*self._subscribers, entry]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not entry]

        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        """Live subscribers in this process (open streams included)."""
        return len(self._subscribers)

    async def stream(self, types: builtins.list[str] | None = None) -> AsyncIterator[Event]:
        """Events appended from now on, for as long as the consumer keeps iterating."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=_STREAM_QUEUE_SIZE)

        def put(event: Event) -> None:
            if queue.full():
                log.warning("event stream consumer too slow, dropping event", event_id=event.id)
                return
            queue.put_nowait(event)

        def deliver(event: Event) -> None:
            # Appends happen on worker and request threads; the queue belongs to the loop.
            if not loop.is_closed():
                loop.call_soon_threadsafe(put, event)

        unsubscribe = self.subscribe(deliver, types)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    def _publish(self, event: Event) -> None:
        with self._lock:
            subscribers = self._subscribers
        for callback, types in subscribers:
            if types is not None and event.type not in types:
                continue
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed", event_type=event.type, event_id=event.id)


def _after_commit(session: Session) -> None:
    # Releasing a savepoint fires this hook too; only the outermost commit makes events real.
    if session.get_nested_transaction() is not None:
        return
    pending: list[_Pending] = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for item in pending:
        item.log._publish(item.event)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] = session.info.get(_PENDING) or []
    if not pending:
        return
    session.info[_PENDING] = [
        item for item in pending if not _within(item.transaction, previous_transaction)
    ]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _event(row: Any) -> Event:
    return Event(
        id=int(row.id),
        type=row.type,
        subject=row.subject,
        data=jsonutil.loads(row.data),
        actor=row.actor,
        created_at=row.created_at,
    )
