"""Durable tasks on both engines: results, retries, leases, dedupe, workers and the scheduler.

The queue is built directly on a migrated core schema (no feature plugins), so these tests
exercise only the core.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pluggy
import pytest

from goldpath.core import hookspecs, migrate
from goldpath.core import plugin as core_plugin
from goldpath.core.db import Database
from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.core.tasks import (
    PeriodicJob,
    PermanentTaskError,
    Scheduler,
    TaskCancelled,
    TaskContext,
    TaskQueue,
    TaskRecord,
    Worker,
    backoff_seconds,
)


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
def tasks(db: Database) -> TaskQueue:
    return TaskQueue(db, lease_seconds=5.0)


def wait_for(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def status(queue: TaskQueue, task_id: str) -> str:
    return queue.get(task_id).status


# ------------------------------------------------------------------ basic runs
def test_enqueue_run_and_record_result(tasks: TaskQueue) -> None:
    tasks.register("add", lambda ctx: {"sum": ctx.task.payload["a"] + ctx.task.payload["b"]})
    task_id = tasks.enqueue("add", {"a": 2, "b": 3})

    queued = tasks.get(task_id)
    assert (queued.status, queued.attempts, queued.result) == ("queued", 0, None)
    assert queued.created_at.tzinfo is not None

    assert tasks.run_until_idle(timeout=5) == 1
    done = tasks.get(task_id)
    assert done.status == "succeeded"
    assert done.result == {"sum": 5}
    assert done.attempts == 1
    assert done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert done.finished_at.tzinfo is not None and done.finished_at >= done.started_at
    assert tasks.run_one() is False


def test_handler_may_return_nothing_and_report_progress(tasks: TaskQueue) -> None:
    def work(ctx: TaskContext) -> None:
        ctx.progress("halfway")
        assert not ctx.cancelled

    tasks.register("quiet", work)
    task_id = tasks.enqueue("quiet")
    assert tasks.run_one() is True
    done = tasks.get(task_id)
    assert (done.status, done.result, done.progress) == ("succeeded", None, "halfway")


def test_task_not_due_yet_waits(tasks: TaskQueue) -> None:
    tasks.register("later", lambda ctx: None)
    task_id = tasks.enqueue("later", run_after=datetime.now(UTC) + timedelta(hours=1))
    assert tasks.run_until_idle(timeout=5) == 0
    assert status(tasks, task_id) == "queued"
    with pytest.raises(InputError):
        tasks.enqueue("later", run_after=datetime(2030, 1, 1))  # naive: ambiguous


def test_get_missing_and_list_filters(tasks: TaskQueue) -> None:
    tasks.register("ok", lambda ctx: None)
    with pytest.raises(NotFoundError):
        tasks.get("00000000-0000-0000-0000-000000000000")
    first = tasks.enqueue("ok")
    second = tasks.enqueue("other")
    tasks.run_one()  # runs "ok" (oldest first)
    assert [t.id for t in tasks.list(kind="ok")] == [first]
    assert [t.id for t in tasks.list(status="queued")] == [second]
    assert {t.id for t in tasks.list()} == {first, second}
    assert len(tasks.list(limit=1)) == 1
    with pytest.raises(InputError):
        tasks.list(status="sleeping")


def test_unregistered_kind_fails_with_clear_error(tasks: TaskQueue) -> None:
    task_id = tasks.enqueue("nobody.handles.this")
    assert tasks.run_one() is True
    failed = tasks.get(task_id)
    assert failed.status == "failed"
    assert failed.error is not None and "nobody.handles.this" in failed.error
    assert failed.attempts == 1


def test_register_twice_conflicts(tasks: TaskQueue) -> None:
    tasks.register("k", lambda ctx: None)
    with pytest.raises(ConflictError):
        tasks.register("k", lambda ctx: {"other": True})


# ------------------------------------------------------------ retries/failure
def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    # The middle of the band doubles from 2 s per attempt up to the 300 s cap...
    assert [backoff_seconds(n, spread=0.5) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_seconds(30, spread=0.5) == 300.0
    # ...and jitter moves it 20 % either way.
    assert backoff_seconds(1, spread=0.0) == pytest.approx(1.6)
    assert backoff_seconds(1, spread=1.0) == pytest.approx(2.4)
    assert backoff_seconds(30, spread=1.0) == pytest.approx(360.0)
    # Unset, the spread is random: retries that failed together do not retry together.
    samples = [backoff_seconds(2) for _ in range(200)]
    assert all(3.2 <= s <= 4.8 for s in samples)
    assert max(samples) - min(samples) > 0.4


def test_retry_with_backoff_then_success(tasks: TaskQueue) -> None:
    calls: list[int] = []

    def flaky(ctx: TaskContext) -> dict[str, Any]:
        calls.append(ctx.task.attempts)
        if len(calls) == 1:
            raise ValueError("flaky dependency")
        return {"ok": True}

    tasks.register("flaky", flaky)
    task_id = tasks.enqueue("flaky", max_attempts=3)
    before = datetime.now(UTC)
    assert tasks.run_one() is True
    after = datetime.now(UTC)

    waiting = tasks.get(task_id)
    assert waiting.status == "queued"
    assert waiting.attempts == 1
    assert waiting.error == "ValueError: flaky dependency"
    assert before + timedelta(seconds=1.6) <= waiting.run_after <= after + timedelta(seconds=2.4)
    assert tasks.run_one() is False  # backing off, not due yet

    time.sleep(max(0.0, (waiting.run_after - datetime.now(UTC)).total_seconds()) + 0.05)
    assert tasks.run_one() is True
    done = tasks.get(task_id)
    assert (done.status, done.attempts, done.result, done.error) == (
        "succeeded",
        2,
        {"ok": True},
        None,
    )
    assert calls == [1, 2]


@pytest.mark.parametrize("error", [PermanentTaskError("bad target"), InputError("bad target")])
def test_permanent_failure_is_not_retried(tasks: TaskQueue, error: Exception) -> None:
    calls: list[int] = []

    def doomed(ctx: TaskContext) -> None:
        calls.append(1)
        raise error

    tasks.register("doomed", doomed)
    task_id = tasks.enqueue("doomed", max_attempts=5)
    assert tasks.run_one() is True
    failed = tasks.get(task_id)
    assert (failed.status, failed.attempts, failed.error) == ("failed", 1, "bad target")
    assert failed.finished_at is not None
    assert tasks.run_one() is False
    assert calls == [1]


def test_exhausted_attempts_fail_with_reason(tasks: TaskQueue) -> None:
    def boom(ctx: TaskContext) -> None:
        raise RuntimeError("disk full")

    tasks.register("boom", boom)
    task_id = tasks.enqueue("boom", max_attempts=1)
    assert tasks.run_one() is True
    failed = tasks.get(task_id)
    assert failed.status == "failed"
    assert failed.error == "gave up after 1 attempts: RuntimeError: disk full"
    assert tasks.run_one() is False


# ------------------------------------------------------------------ unique key
def test_unique_key_dedupes_while_active(tasks: TaskQueue) -> None:
    # While running, the task itself is the active one for its key.
    tasks.register(
        "refresh", lambda ctx: {"again": tasks.enqueue("refresh", unique_key=ctx.task.unique_key)}
    )
    first = tasks.enqueue("refresh", {"n": 1}, unique_key="loc:1")
    assert tasks.enqueue("refresh", {"n": 2}, unique_key="loc:1") == first
    assert tasks.get(first).payload == {"n": 1}
    other = tasks.enqueue("refresh", unique_key="loc:2", run_after=timedelta(hours=1))
    assert other != first

    assert tasks.run_one() is True
    done = tasks.get(first)
    assert (done.status, done.result) == ("succeeded", {"again": first})

    # Once finished, the key is free again.
    again = tasks.enqueue("refresh", unique_key="loc:1")
    assert again not in (first, other)
    assert len(tasks.list(kind="refresh")) == 3


def test_unique_key_holds_under_concurrent_enqueue(tasks: TaskQueue) -> None:
    threads = 8
    barrier = threading.Barrier(threads)
    ids: list[str] = []
    errors: list[BaseException] = []

    def enqueue() -> None:
        try:
            barrier.wait(timeout=5)
            ids.append(tasks.enqueue("race", unique_key="same"))
        except BaseException as exc:  # reported below; a thread must not die silently
            errors.append(exc)

    workers = [threading.Thread(target=enqueue) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=10)
    assert not errors
    assert len(ids) == threads
    assert len(set(ids)) == 1
    assert len(tasks.list(kind="race")) == 1


def test_enqueue_inside_callers_transaction(db: Database, tasks: TaskQueue) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        rolled_back = tasks.enqueue("tx", session=session)
        raise RuntimeError("abort the caller's transaction")
    with pytest.raises(NotFoundError):
        tasks.get(rolled_back)

    with db.session() as session:
        kept = tasks.enqueue("tx", unique_key="tx:1", session=session)
        assert tasks.enqueue("tx", unique_key="tx:1", session=session) == kept
    assert status(tasks, kept) == "queued"


# ------------------------------------------------------------------- cancel
def test_cancel_queued_task(tasks: TaskQueue) -> None:
    ran: list[str] = []
    tasks.register("c", lambda ctx: ran.append(ctx.task.id) and None)
    task_id = tasks.enqueue("c", unique_key="c:1")
    cancelled = tasks.cancel(task_id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert tasks.run_one() is False
    assert ran == []
    assert tasks.enqueue("c", unique_key="c:1") != task_id  # key released
    with pytest.raises(NotFoundError):
        tasks.cancel("00000000-0000-0000-0000-000000000000")


def test_cancel_running_task_stops_it_and_keeps_cancelled(tasks: TaskQueue) -> None:
    started = threading.Event()
    stopped: list[str] = []

    def long_running(ctx: TaskContext) -> dict[str, Any]:
        started.set()
        deadline = time.monotonic() + 5
        try:
            while time.monotonic() < deadline:
                ctx.heartbeat()
                time.sleep(0.02)
        except TaskCancelled:
            stopped.append("heartbeat")
            raise
        return {"finished": True}

    tasks.register("long", long_running)
    task_id = tasks.enqueue("long")
    runner = threading.Thread(target=tasks.run_one)
    runner.start()
    try:
        assert started.wait(5)
        tasks.cancel(task_id)
    finally:
        runner.join(timeout=8)
    assert not runner.is_alive()
    assert stopped == ["heartbeat"]
    final = tasks.get(task_id)
    assert final.status == "cancelled" and final.result is None


def test_cancel_finished_task_changes_nothing(tasks: TaskQueue) -> None:
    tasks.register("done", lambda ctx: {"v": 1})
    task_id = tasks.enqueue("done")
    tasks.run_one()
    assert tasks.cancel(task_id).status == "succeeded"


# ------------------------------------------------------------ crash recovery
def test_expired_lease_is_requeued_and_completed_by_another_worker(
    db: Database, tasks: TaskQueue
) -> None:
    crashed = TaskQueue(db, lease_seconds=0.3)
    tasks.register("job", lambda ctx: {"by": "survivor"})
    task_id = tasks.enqueue("job", max_attempts=2)

    [claimed] = crashed.claim("doomed-worker")
    assert claimed.id == task_id and claimed.status == "running"
    assert tasks.recover_expired() == 0  # lease still valid
    assert tasks.run_one() is False  # never handed out twice while leased

    time.sleep(0.4)
    assert tasks.recover_expired() == 1
    requeued = tasks.get(task_id)
    assert requeued.status == "queued"
    assert requeued.error is not None and requeued.error.startswith("worker lost")

    assert tasks.run_one(worker_id="survivor") is True
    done = tasks.get(task_id)
    assert (done.status, done.attempts, done.result) == ("succeeded", 2, {"by": "survivor"})

    # The crashed worker waking up cannot heartbeat or record anything any more.
    zombie = TaskContext(crashed, claimed)
    with pytest.raises(TaskCancelled):
        zombie.heartbeat()
    assert zombie.cancelled
    assert tasks.get(task_id).result == {"by": "survivor"}


def test_expired_lease_without_attempts_left_fails_with_reason(db: Database) -> None:
    crashed = TaskQueue(db, lease_seconds=0.2)
    task_id = crashed.enqueue("job", max_attempts=1, unique_key="job:1")
    assert [t.id for t in crashed.claim("doomed-worker")] == [task_id]
    time.sleep(0.3)
    assert crashed.recover_expired() == 1
    failed = crashed.get(task_id)
    assert failed.status == "failed"
    assert failed.error == "worker lost: lease expired after 1 attempts"
    assert failed.finished_at is not None
    assert crashed.recover_expired() == 0
    assert crashed.enqueue("job", unique_key="job:1") != task_id


# ------------------------------------------------------------------ workers
def test_two_workers_never_run_a_task_twice(db: Database) -> None:
    executions: list[str] = []
    lock = threading.Lock()

    def record(ctx: TaskContext) -> None:
        with lock:
            executions.append(ctx.task.id)
        time.sleep(0.01)

    # Two queues on one database stand for two worker processes.
    first, second = TaskQueue(db, lease_seconds=5), TaskQueue(db, lease_seconds=5)
    first.register("count", record)
    second.register("count", record)
    ids = [first.enqueue("count", {"n": n}) for n in range(40)]

    workers = [
        Worker(first, concurrency=3, poll_interval=0.02, worker_id="a"),
        Worker(second, concurrency=3, poll_interval=0.02, worker_id="b"),
    ]
    for w in workers:
        w.start()
    try:
        wait_for(lambda: len(first.list(kind="count", status="succeeded", limit=100)) == 40)
    finally:
        for w in workers:
            w.stop(timeout=5)
    counts = Counter(executions)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
    assert all(t.attempts == 1 for t in first.list(kind="count", limit=100))


def test_worker_start_and_stop(tasks: TaskQueue) -> None:
    tasks.register("w", lambda ctx: {"thread": threading.current_thread().name})
    worker = Worker(tasks, concurrency=2, poll_interval=0.05)
    worker.start()
    try:
        assert worker.running
        task_id = tasks.enqueue("w")
        wait_for(lambda: status(tasks, task_id) == "succeeded")
        result = tasks.get(task_id).result
        assert result is not None and result["thread"].startswith("goldpath-worker-")
    finally:
        worker.stop(timeout=5)
    assert not worker.running
    assert not [t for t in threading.enumerate() if t.name.startswith("goldpath-worker")]

    late = tasks.enqueue("w")
    time.sleep(0.2)
    assert status(tasks, late) == "queued"  # stopped means stopped


def test_worker_with_no_concurrency_starts_nothing(tasks: TaskQueue) -> None:
    tasks.register("idle", lambda ctx: None)
    worker = Worker(tasks, concurrency=0, poll_interval=0.05)
    worker.start()
    try:
        task_id = tasks.enqueue("idle")
        time.sleep(0.2)
        assert not worker.running
        assert status(tasks, task_id) == "queued"
    finally:
        worker.stop()


def test_stop_lets_task_in_flight_finish(tasks: TaskQueue) -> None:
    started = threading.Event()

    def slow(ctx: TaskContext) -> dict[str, bool]:
        started.set()
        time.sleep(0.5)
        return {"finished": True}

    tasks.register("slow", slow)
    worker = Worker(tasks, concurrency=1, poll_interval=0.05)
    worker.start()
    try:
        task_id = tasks.enqueue("slow")
        assert started.wait(5)
    finally:
        worker.stop(timeout=5)
    assert tasks.get(task_id).result == {"finished": True}


def test_worker_heartbeats_keep_long_task_leased(db: Database) -> None:
    queue = TaskQueue(db, lease_seconds=0.6)
    runs: list[int] = []

    def long_without_heartbeat(ctx: TaskContext) -> None:
        runs.append(ctx.task.attempts)
        time.sleep(1.5)  # well past the lease: only the worker's heartbeat keeps it

    queue.register("long", long_without_heartbeat)
    task_id = queue.enqueue("long")
    other_process = TaskQueue(db, lease_seconds=0.6)
    worker = Worker(queue, concurrency=1, poll_interval=0.05)
    worker.start()
    try:
        recovered = 0
        deadline = time.monotonic() + 8
        while status(queue, task_id) != "succeeded" and time.monotonic() < deadline:
            recovered += other_process.recover_expired()
            time.sleep(0.05)
    finally:
        worker.stop(timeout=5)
    assert recovered == 0
    assert runs == [1]
    assert status(queue, task_id) == "succeeded"


def test_worker_recovers_tasks_of_a_crashed_worker(db: Database) -> None:
    crashed = TaskQueue(db, lease_seconds=0.2)
    survivor = TaskQueue(db, lease_seconds=0.6)
    survivor.register("job", lambda ctx: {"ok": True})
    task_id = crashed.enqueue("job")
    crashed.claim("doomed-worker")
    worker = Worker(survivor, concurrency=1, poll_interval=0.05)
    worker.start()
    try:
        wait_for(lambda: status(survivor, task_id) == "succeeded")
    finally:
        worker.stop(timeout=5)
    assert survivor.get(task_id).attempts == 2


# ---------------------------------------------------------------- scheduler
def test_scheduler_enqueues_once_per_interval(tasks: TaskQueue) -> None:
    tasks.register("tick", lambda ctx: None)
    job = PeriodicJob(key="tick.job", kind="tick", interval_seconds=60, payload={"p": 1})
    scheduler = Scheduler(tasks, [job])
    now = datetime.now(UTC)

    [first] = scheduler.tick(now)
    assert scheduler.tick(now) == []
    assert Scheduler(tasks, [job]).tick(now + timedelta(seconds=30)) == []  # another process
    record = tasks.get(first)
    assert (record.kind, record.payload) == ("tick", {"p": 1})
    assert record.unique_key == "periodic:tick.job"

    tasks.run_until_idle(timeout=5)
    [second] = scheduler.tick(now + timedelta(seconds=61))
    assert second != first
    assert scheduler.tick(now + timedelta(seconds=62)) == []
    assert len(tasks.list(kind="tick")) == 2


def test_scheduler_ticking_concurrently_enqueues_once(tasks: TaskQueue) -> None:
    job = PeriodicJob(key="busy", kind="busy", interval_seconds=60)
    schedulers = [Scheduler(tasks, [job]) for _ in range(6)]
    barrier = threading.Barrier(len(schedulers))
    results: list[list[str]] = []
    errors: list[BaseException] = []
    now = datetime.now(UTC)

    def tick(s: Scheduler) -> None:
        try:
            barrier.wait(timeout=5)
            results.append(s.tick(now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert sum(len(r) for r in results) == 1
    assert len(tasks.list(kind="busy")) == 1


def test_worker_ticks_scheduler(tasks: TaskQueue) -> None:
    tasks.register("beat", lambda ctx: None)
    scheduler = Scheduler(tasks, [PeriodicJob(key="beat", kind="beat", interval_seconds=0.3)])
    worker = Worker(tasks, concurrency=1, poll_interval=0.05, scheduler=scheduler)
    worker.start()
    try:
        wait_for(lambda: len(tasks.list(kind="beat", status="succeeded")) >= 2)
    finally:
        worker.stop(timeout=5)
    beats: list[TaskRecord] = tasks.list(kind="beat")
    created = sorted(t.created_at for t in beats)
    # Never more often than the interval, however often the worker ticks.
    assert all(b - a >= timedelta(seconds=0.25) for a, b in zip(created, created[1:], strict=False))
