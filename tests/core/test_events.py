"""The event log on both engines: append, filters, delivery after commit, async stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pluggy
import pytest

from goldpath.core import hookspecs, migrate
from goldpath.core import plugin as core_plugin
from goldpath.core.db import Database
from goldpath.core.errors import InputError
from goldpath.core.events import Event, EventLog


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    pm = pluggy.PluginManager("goldpath")
    pm.add_hookspecs(hookspecs)
    pm.register(core_plugin)
    database = Database(database_url)
    migrate.upgrade(database, pm)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def events(db: Database) -> EventLog:
    return EventLog(db)


def test_append_and_list_in_order(events: EventLog) -> None:
    first = events.append("deploy.started", subject="svc:api", data={"v": 1}, actor="alice")
    second = events.append("deploy.finished", subject="svc:api", data={"ok": True})
    assert first is not None and second is not None
    assert second.id > first.id
    assert first.created_at.tzinfo is not None
    assert (first.type, first.subject, first.data, first.actor) == (
        "deploy.started",
        "svc:api",
        {"v": 1},
        "alice",
    )
    assert events.list() == [first, second]


def test_list_filters(events: EventLog) -> None:
    def add(type_: str, subject: str | None = None) -> int:
        event = events.append(type_, subject=subject)
        assert event is not None
        return event.id

    a = add("catalog.location.added", subject="url:a")
    b = add("catalog.entities.stitched")
    c = add("deploy.started", subject="url:a")
    d = add("catalogue.misc")
    e = add("cat_x.odd")

    def ids(found: list[Event]) -> list[int]:
        return [x.id for x in found]

    assert ids(events.list(types=["deploy.started", "catalogue.misc"])) == [c, d]
    assert ids(events.list(type_prefix="catalog.")) == [a, b]
    # LIKE wildcards in a prefix are literal characters.
    assert ids(events.list(type_prefix="cat_")) == [e]
    assert ids(events.list(subject="url:a")) == [a, c]
    assert ids(events.list(after_id=b)) == [c, d, e]
    assert ids(events.list(after_id=a, limit=2)) == [b, c]
    assert ids(events.list(types=["deploy.started"], subject="url:a", after_id=a)) == [c]
    assert events.list(types=["nothing.like.this"]) == []


def test_rejects_unserialisable_data(events: EventLog) -> None:
    with pytest.raises(InputError):
        events.append("bad", data={"x": object()})
    assert events.list() == []


def test_subscribers_hear_committed_events_of_their_types(events: EventLog) -> None:
    everything: list[Event] = []
    deploys: list[Event] = []
    stop_all = events.subscribe(everything.append)
    events.subscribe(deploys.append, types=["deploy.started"])

    started = events.append("deploy.started")
    events.append("catalog.refreshed")
    assert [e.type for e in everything] == ["deploy.started", "catalog.refreshed"]
    assert deploys == [started]

    stop_all()
    events.append("deploy.started")
    assert len(everything) == 2
    assert len(deploys) == 2


def test_failing_subscriber_never_breaks_append(events: EventLog) -> None:
    heard: list[Event] = []

    def broken(_event: Event) -> None:
        raise RuntimeError("subscriber bug")

    events.subscribe(broken)
    events.subscribe(heard.append)
    appended = events.append("still.works")
    assert appended is not None
    assert heard == [appended]
    assert events.list() == [appended]


def test_event_in_callers_transaction_is_announced_after_commit(
    db: Database, events: EventLog
) -> None:
    heard: list[Event] = []
    events.subscribe(heard.append)
    with db.session() as session:
        pending = events.append("location.added", subject="file:x", session=session)
        assert heard == []  # not committed yet
    assert pending is not None
    assert heard == [pending]
    assert events.list() == [pending]


def test_rolled_back_transaction_announces_nothing(db: Database, events: EventLog) -> None:
    heard: list[Event] = []
    events.subscribe(heard.append)
    with pytest.raises(RuntimeError), db.session() as session:
        events.append("location.added", session=session)
        raise RuntimeError("the change failed")
    assert heard == []
    assert events.list() == []

    # The same session class keeps working for the next transaction.
    with db.session() as session:
        kept = events.append("location.added", session=session)
    assert heard == [kept]


def test_rolled_back_savepoint_drops_only_its_events(db: Database, events: EventLog) -> None:
    heard: list[Event] = []
    events.subscribe(heard.append)
    with db.session() as session:
        outer = events.append("outer", session=session)
        try:
            with session.begin_nested():
                events.append("inner.undone", session=session)
                raise ValueError("undo the savepoint")
        except ValueError:
            pass
        with session.begin_nested():
            kept = events.append("inner.kept", session=session)
        assert heard == []
    assert [e.type for e in heard] == ["outer", "inner.kept"]
    assert heard == [outer, kept]
    assert [e.type for e in events.list()] == ["outer", "inner.kept"]


def test_concurrent_appends_get_distinct_ordered_ids(events: EventLog) -> None:
    barrier = threading.Barrier(4)

    def write(n: int) -> None:
        barrier.wait(timeout=5)
        for i in range(10):
            events.append("load", data={"writer": n, "i": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    found = events.list(limit=1000)
    assert len(found) == 40
    assert [e.id for e in found] == sorted({e.id for e in found})


def test_stream_yields_appended_events_until_closed(events: EventLog) -> None:
    listeners: list[int] = []

    async def consume() -> list[Event]:
        stream = events.stream(types=["deploy.finished"])
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)  # let the stream subscribe before anything is appended
        listeners.append(events.subscriber_count)
        # Appends come from other threads in real use (workers, request handlers).
        await asyncio.to_thread(events.append, "deploy.started")
        await asyncio.to_thread(events.append, "deploy.finished", subject="one")
        await asyncio.to_thread(events.append, "deploy.finished", subject="two")
        got = [await asyncio.wait_for(first, 5), await asyncio.wait_for(anext(stream), 5)]
        await stream.aclose()
        listeners.append(events.subscriber_count)
        return got

    assert events.subscriber_count == 0
    got = asyncio.run(consume())
    assert [(e.type, e.subject) for e in got] == [
        ("deploy.finished", "one"),
        ("deploy.finished", "two"),
    ]
    assert listeners == [1, 0]
    # The loop is gone; appending must neither fail nor try to reach it.
    assert events.append("deploy.finished", subject="three") is not None
