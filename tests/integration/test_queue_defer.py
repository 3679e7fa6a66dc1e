"""Runner `procrastinate` in this process, on real PostgreSQL: what the hook defers with a
stock change, how a refused run waits, the sweeps, the ticks, "sync now", and the CLI's
refusals of a runner that cannot work.

No worker process here: a test runs a task itself (Work.run, Work.tick) or reads
procrastinate_jobs (tests/integration/test_queue_workers.py has the workers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlmodel import Session, select

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.channels import channel_by_name, pause_channel_by_hand, resume_channel
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import JobSchedule, Listing
from omnisync.hub.bootstrap import Hub, bootstrap, engine_channels
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.guard import AdvisoryLock, advisory_guard
from omnisync.sync.queue.hook import remove_push_hook
from omnisync.sync.queue.names import WAKE_TASK, lock_of, task_name
from omnisync.sync.queue.runner import QueueRunner, SweepOptions
from omnisync.sync.queue.sweeps import RECOVERED_PRIORITY, sweep_dirty, sweep_stalled
from omnisync.sync.queue.targets import Deferral, Target
from omnisync.sync.queue.work import Work
from tests.support.cli_runner import invoke_cli
from tests.support.databases import POSTGRES_URL, migrated_sqlite_file, sqlite_url
from tests.support.hub_setup import sandbox_channel, write_config
from tests.support.queue_checks import channel_id, channel_tasks, counted, hub_quantities
from tests.support.queue_hub import queue_config, queue_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
]

TOKEN = "queue-defer-93be07"
SKUS = ("D-0", "D-1")


@pytest.fixture(scope="module")
def market() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, name="defer", rate=1000, burst=1000) as server:
        yield server


@pytest.fixture(scope="module")
def hub(market: SandboxMarketplace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub of runner `procrastinate` with channel `sb` (orders every 2 s), shared by the
    module's tests: `work` puts it back as it was before each."""
    market.set_listings([{"sku": sku, "title": sku, "quantity": 0} for sku in SKUS])
    channel = sandbox_channel(market.url, extra="schedule: {orders: 2s}\n")
    config = queue_config(tmp_path_factory.mktemp("queue-defer") / "config", {"sb": channel})
    with pytest.MonkeyPatch.context() as patch, queue_database() as url:
        patch.setenv("SB_KEY", TOKEN)
        hub = bootstrap(config, database_url=url)
        try:
            yield hub
        finally:
            remove_push_hook(hub.engine)
            hub.engine.dispose()


_FORGET = (
    "DELETE FROM procrastinate_periodic_defers",
    "DELETE FROM procrastinate_jobs",
    "DELETE FROM procrastinate_workers",
    "DELETE FROM job_schedules",
)


@pytest.fixture
def work(hub: Hub, market: SandboxMarketplace) -> Iterator[Work]:
    """A worker's Work; 10 of each SKU, the channel's listings linked and showing them, no
    fault queued, and nothing in the queue or job_schedules."""
    market.faults.clear()
    with transaction(hub.engine) as session:
        for statement in _FORGET:
            session.execute(text(statement))
    for sku in SKUS:
        counted(hub.engine, sku, 10)
    with _worker(hub) as work:
        channel = channel_id(hub.engine, "sb")
        assert work.run(JobName.LISTINGS, channel)
        assert work.run(JobName.STOCK, channel)
        assert [market.quantity(sku) for sku in SKUS] == [10, 10]
        _empty_queue(hub.engine)
        yield work


@contextmanager
def _worker(hub: Hub) -> Iterator[Work]:
    """A worker's Work as hub/worker.py makes it (no retry within a call, runs kept one at
    a time by the task's advisory lock; each its own rate limiter)."""
    assert hub.targets is not None
    stop = threading.Event()
    sync = SyncEngine(
        hub.engine,
        engine_channels(hub.settings),
        secrets=hub.settings.secrets,
        retry=RetryPolicy(attempts=1),
        stop=stop,
        guard=advisory_guard(hub.engine, stop, wait=True),
    )
    try:
        yield Work(sync, hub.targets)
    finally:
        sync.close()


def _empty_queue(engine: Engine) -> None:
    with transaction(engine) as session:
        session.execute(text("DELETE FROM procrastinate_jobs"))


def _tasks(engine: Engine) -> list[tuple[str, str]]:
    """Every task in the queue: (task name, status), in order."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id")
        )
        return [(name, status) for name, status in rows]


def _target(hub: Hub) -> Target:
    assert hub.targets is not None
    with Session(hub.engine) as session:
        target = hub.targets.named(session, "sb")
    assert target is not None
    return target


def _schedule(engine: Engine, job: JobName) -> JobSchedule:
    with Session(engine) as session:
        return session.exec(select(JobSchedule).where(JobSchedule.job == job)).one()


PUSH = (task_name(JobName.STOCK), "todo")


def test_a_rolled_back_stock_change_defers_nothing_and_a_committed_one_a_push(
    hub: Hub, work: Work
) -> None:
    with pytest.raises(RuntimeError, match="changed my mind"):
        _count_then_fail(hub.engine)
    assert _tasks(hub.engine) == []
    assert hub_quantities(hub.engine, "sb") == {"D-0": 10, "D-1": 10}

    counted(hub.engine, "D-0", 3)
    assert _tasks(hub.engine) == [PUSH]


def _count_then_fail(engine: Engine) -> None:
    with transaction(engine) as session:
        count_stock(session, upsert_sku(session, "D-0"), location_by_code(session, "main"), 3)
        session.flush()
        raise RuntimeError("changed my mind")


def test_changes_while_a_push_waits_join_it_and_none_is_lost(
    hub: Hub, work: Work, market: SandboxMarketplace
) -> None:
    """A push waits; 100 more stock changes commit without error (AlreadyEnqueued is
    skipped in a savepoint), each leaves its listing dirty, and the one waiting push
    carries the last of them."""
    channel = channel_id(hub.engine, "sb")
    counted(hub.engine, "D-0", 1)
    waiting = channel_tasks(hub.engine, JobName.STOCK, channel)
    assert [status for _, status, _ in waiting] == ["todo"]
    for level in range(2, 102):
        counted(hub.engine, "D-0" if level % 2 else "D-1", level)
    assert channel_tasks(hub.engine, JobName.STOCK, channel) == waiting
    with Session(hub.engine) as session:
        dirty = {row.channel_sku: row.dirty for row in session.exec(select(Listing))}
    assert dirty == {"D-0": True, "D-1": True}
    assert hub_quantities(hub.engine, "sb") == {"D-0": 101, "D-1": 100}

    outcome = work.run(JobName.STOCK, channel)
    assert outcome is not None
    assert outcome.completed
    assert [market.quantity(sku) for sku in SKUS] == [101, 100]


def test_a_refusal_with_retry_after_waits_for_it_and_a_success_clears_it(
    hub: Hub, work: Work, market: SandboxMarketplace
) -> None:
    channel = channel_id(hub.engine, "sb")
    market.inject("orders", "429", count=1, seconds=30)
    before = datetime.now(UTC)
    outcome = work.run(JobName.ORDERS, channel)
    assert outcome is not None
    assert outcome.failed
    schedule = _schedule(hub.engine, JobName.ORDERS)
    assert schedule.failures == 1
    assert schedule.next_attempt_at is not None
    wait = (schedule.next_attempt_at - before).total_seconds()
    assert 30 <= wait <= 31, wait  # Retry-After, a little jitter, the run's own time
    wake_at = schedule.next_attempt_at
    successor = _waiting_tasks(hub.engine)
    # Its successor: the wake-up that defers the job when the wait ends, scheduled for then.
    assert successor == [(WAKE_TASK, {"job": "orders", "channel_id": channel}, wake_at)]
    assert wake_at == schedule.next_attempt_at

    # Asked again before then (a "sync now"), it does not call the channel.
    requests = market.traffic()["requests"]["orders"]
    assert work.run(JobName.ORDERS, channel) is None
    assert market.traffic()["requests"]["orders"] == requests
    assert _waiting_tasks(hub.engine) == successor

    # The wait over, the wake-up defers the job now; it runs on a worker of its own (this
    # one's rate limiter waits out the Retry-After too): a 503 counts a second failure in a
    # row; then a success clears them.
    _time_passes(hub.engine)
    assert work.wake(JobName.ORDERS, channel) is not None
    assert [t[0] for t in _waiting_tasks(hub.engine)] == [WAKE_TASK, task_name(JobName.ORDERS)]
    market.inject("orders", "503", count=1)
    with _worker(hub) as other:
        outcome = other.run(JobName.ORDERS, channel)
    assert outcome is not None
    assert outcome.failed
    again = _schedule(hub.engine, JobName.ORDERS)
    assert again.failures == 2
    assert again.next_attempt_at is not None
    assert again.next_attempt_at > datetime.now(UTC)

    _time_passes(hub.engine)
    with _worker(hub) as other:
        outcome = other.run(JobName.ORDERS, channel)
    assert outcome is not None
    assert outcome.completed
    cleared = _schedule(hub.engine, JobName.ORDERS)
    assert (cleared.failures, cleared.next_attempt_at) == (0, None)


def _waiting_tasks(engine: Engine) -> list[tuple[str, object, datetime | None]]:
    """The tasks waiting: (task name, args, scheduled time), in order."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT task_name, args, scheduled_at FROM procrastinate_jobs "
                "WHERE status = 'todo' ORDER BY id"
            )
        )
        return [(name, args, at) for name, args, at in rows]


def _time_passes(engine: Engine) -> None:
    """The wait for a refusal is over."""
    with transaction(engine) as session:
        session.execute(
            text("UPDATE job_schedules SET next_attempt_at = now() - interval '1 second'")
        )


def test_tasks_stalled_on_a_silent_or_deleted_worker_are_failed_and_deferred_again(
    hub: Hub, work: Work
) -> None:
    """procrastinate#1518: a worker's row deleted (pruned) leaves its task `doing` with no
    worker; a worker whose heartbeat stopped leaves it on a dead one. Both are failed and
    run again. A task on a live worker is left alone, and so is one whose worker's heartbeat
    lapsed while its run still holds the task's advisory lock (a slow or stopping worker)."""
    target = _target(hub)
    with transaction(hub.engine) as session:
        gone, silent, alive, lapsed = (
            session.execute(
                text("SELECT worker_id FROM procrastinate_register_worker_v1()")
            ).scalar_one()
            for _ in range(4)
        )
        fetched = {}
        for job, worker in (
            (JobName.STOCK, gone),
            (JobName.ORDERS, silent),
            (JobName.LISTINGS, alive),
            (JobName.FULFILMENTS, lapsed),
        ):
            assert defer(session, [Deferral(job, target)])
            fetched[job] = session.execute(
                text("SELECT id FROM procrastinate_fetch_job_v2(NULL, :worker)"),
                {"worker": worker},
            ).scalar_one()
        assert defer(session, [Deferral(JobName.ORDERS, target)])  # one waits already
        session.execute(text("DELETE FROM procrastinate_workers WHERE id = :id"), {"id": gone})
        session.execute(
            text(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute' "
                "WHERE id IN (:silent, :lapsed)"
            ),
            {"silent": silent, "lapsed": lapsed},
        )
    still_running = lock_of(JobName.FULFILMENTS, target.channel_id, None)
    with (
        AdvisoryLock(hub.engine, still_running, threading.Event(), wait=False) as held,
        transaction(hub.engine) as session,
    ):
        assert held.acquired
        recovered = sweep_stalled(session, timedelta(seconds=10))
    assert {(r.job_id, r.worker_id, r.redeferred) for r in recovered} == {
        (fetched[JobName.STOCK], None, True),
        (fetched[JobName.ORDERS], silent, False),
    }
    assert sorted(_tasks(hub.engine)) == sorted(
        [
            (task_name(JobName.STOCK), "failed"),
            (task_name(JobName.ORDERS), "failed"),
            (task_name(JobName.LISTINGS), "doing"),
            (task_name(JobName.FULFILMENTS), "doing"),
            (task_name(JobName.ORDERS), "todo"),
            (task_name(JobName.STOCK), "todo"),
        ]
    )
    with transaction(hub.engine) as session:  # its run has ended: now it is stalled
        assert [r.job_id for r in sweep_stalled(session, timedelta(seconds=10))] == [
            fetched[JobName.FULFILMENTS]
        ]
    # The fresh tasks go before those waiting; the one that waited already keeps its place.
    with hub.engine.connect() as connection:
        priorities = connection.execute(
            text("SELECT task_name, priority FROM procrastinate_jobs WHERE status = 'todo'")
        ).all()
    assert sorted(priorities) == sorted(
        [
            (task_name(JobName.ORDERS), 0),
            (task_name(JobName.STOCK), RECOVERED_PRIORITY),
            (task_name(JobName.FULFILMENTS), RECOVERED_PRIORITY),
        ]
    )


def test_a_reconcile_waits_for_a_push_of_its_channel(hub: Hub, work: Work) -> None:
    """Both set the channel's quantities: one at a time, else two requests in flight could
    land out of order. Other jobs of the channel run beside them."""
    target = _target(hub)
    fetch = text("SELECT task_name FROM procrastinate_fetch_job_v2(NULL, NULL)")
    with transaction(hub.engine) as session:
        for job in (JobName.STOCK, JobName.RECONCILE, JobName.ORDERS):
            assert defer(session, [Deferral(job, target)])
        started = [session.execute(fetch).scalar_one() for _ in range(3)]
    assert started == [task_name(JobName.STOCK), task_name(JobName.ORDERS), None]
    assert sorted(_tasks(hub.engine)) == sorted(
        [
            (task_name(JobName.STOCK), "doing"),
            (task_name(JobName.RECONCILE), "todo"),
            (task_name(JobName.ORDERS), "doing"),
        ]
    )


def test_the_sweep_defers_a_push_for_dirty_listings_without_one(hub: Hub, work: Work) -> None:
    assert hub.targets is not None
    with transaction(hub.engine) as session:
        session.execute(text("UPDATE listings SET dirty = true"))  # a writer without the hook
    assert _tasks(hub.engine) == []
    now = datetime.now(UTC)
    with transaction(hub.engine) as session:
        assert [d.job for d in sweep_dirty(session, hub.targets, now)] == [JobName.STOCK]
    with transaction(hub.engine) as session:
        assert sweep_dirty(session, hub.targets, now) == []  # the push is there
    assert _tasks(hub.engine) == [PUSH]


def test_a_tick_defers_a_channel_once_per_period(hub: Hub, work: Work) -> None:
    assert [d.job for d in work.tick(JobName.ORDERS)] == [JobName.ORDERS]
    assert work.tick(JobName.ORDERS) == []  # the next is 2 s on
    schedule = _schedule(hub.engine, JobName.ORDERS)
    assert schedule.last_deferred_at is not None
    assert schedule.next_run_at - schedule.last_deferred_at == timedelta(seconds=2)
    assert _tasks(hub.engine) == [(task_name(JobName.ORDERS), "todo")]


def test_sync_now_defers_each_scheduled_job_once(hub: Hub, work: Work) -> None:
    assert hub.targets is not None
    runner = QueueRunner(work.sync, hub.targets, SweepOptions(every=timedelta(minutes=1)))
    runner.start()
    try:
        first = runner.run_now("sb")
        second = runner.run_now("sb")
    finally:
        runner.stop()
    jobs = [job for job in JobName if work.sync.supports("sb", job)]
    assert first == [str(job) for job in jobs]
    assert second == [f"{job} (already waiting: runs once)" for job in jobs]
    assert sorted(_tasks(hub.engine)) == sorted((task_name(job), "todo") for job in jobs)


def test_check_refuses_runner_procrastinate_on_sqlite(tmp_path: Path) -> None:
    config = queue_config(tmp_path / "config", {})
    result = invoke_cli(config, sqlite_url(tmp_path), "check")
    assert result.exit_code == 2, result
    assert f"{config / 'hub.yaml'}: runner: `procrastinate`" in result.stderr
    assert "PostgreSQL" in result.stderr


def test_worker_refuses_runner_single(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", {})
    url = sqlite_url(tmp_path)
    migrated_sqlite_file(url)
    result = invoke_cli(config, url, "worker")
    assert result.exit_code == 2, result
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert (
        f"error: {config / 'hub.yaml'}: runner: is `single`, so `omnisync run` runs every "
        "job itself; set `runner: procrastinate` (PostgreSQL) to use workers"
    ) in said


def test_a_savepoint_committing_inside_a_stock_change_defers_nothing_until_the_commit(
    hub: Hub, work: Work
) -> None:
    """The hook waits for the transaction's own commit: deferring at a savepoint's commit
    would hold the push's queueing lock for the rest of the transaction."""
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        count_stock(session, upsert_sku(session, "D-0"), main, 12)
        with session.begin_nested():
            pass
        inside = session.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar_one()
        assert inside == 0
    assert _tasks(hub.engine) == [(task_name(JobName.STOCK), "todo")]


def test_a_batch_refused_as_a_whole_is_deferred_one_task_at_a_time(
    hub: Hub, work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task of the batch already waits (deferred by another transaction after this one
    looked): the batch's savepoint is undone and every other task is deferred alone."""
    target = _target(hub)
    asked = [Deferral(job, target) for job in (JobName.ORDERS, JobName.STOCK, JobName.LISTINGS)]
    with transaction(hub.engine) as session:
        assert defer(session, [asked[1]]) == [asked[1]]
    monkeypatch.setattr("omnisync.sync.queue.defer.waiting", lambda session, locks: set())
    with transaction(hub.engine) as session:
        deferred = defer(session, asked)
    assert sorted(str(deferral.job) for deferral in deferred) == ["listings", "orders"]
    assert sorted(_tasks(hub.engine)) == sorted(
        (task_name(job), "todo") for job in (JobName.ORDERS, JobName.STOCK, JobName.LISTINGS)
    )


def test_a_push_cancelled_by_a_stopping_worker_is_deferred_again_for_another(
    hub: Hub, work: Work, market: SandboxMarketplace
) -> None:
    counted(hub.engine, "D-1", 14)
    _empty_queue(hub.engine)  # the hook's push: this test runs it by hand
    work.sync.stop.set()
    try:
        outcome = work.run(JobName.STOCK, channel_id(hub.engine, "sb"))
    finally:
        work.sync.stop.clear()
    assert outcome is not None
    assert outcome.status == "cancelled"
    assert market.quantity("D-1") == 10
    assert _tasks(hub.engine) == [(task_name(JobName.STOCK), "todo")]


def test_sync_of_a_named_paused_channel_is_refused_rather_than_left_to_be_skipped(
    hub: Hub, work: Work
) -> None:
    with transaction(hub.engine) as session:
        pause_channel_by_hand(session, channel_by_name(session, "sb"), "ops", "stocktake")
    try:
        refused = invoke_cli(
            hub.settings.config_dir,
            hub.settings.database_url,
            "sync",
            "orders",
            "--channel",
            "sb",
            env={"SB_KEY": TOKEN},
        )
        every = invoke_cli(
            hub.settings.config_dir,
            hub.settings.database_url,
            "sync",
            "orders",
            "--json",
            env={"SB_KEY": TOKEN},
        )
    finally:
        with transaction(hub.engine) as session:
            resume_channel(session, channel_by_name(session, "sb"))
    assert refused.exit_code == 1
    assert "channel sb is paused" in refused.stderr
    assert every.json() == [{"channel": "sb", "job": "orders", "status": "paused"}]
    assert _tasks(hub.engine) == []


def test_a_push_task_runs_in_five_transactions_and_locks_outside_them(
    hub: Hub, work: Work, market: SandboxMarketplace
) -> None:
    """What a worker spends on PostgreSQL per push, the cost every push pays: the channel's
    state with the task's wait (one read), the run's start, the plan, the acknowledgements,
    the run's end with the schedule's record; the advisory lock taken and let go in
    autocommit (no BEGIN and COMMIT round trips around either)."""
    channel = channel_id(hub.engine, "sb")
    counted(hub.engine, "D-0", 17)
    transactions: list[list[str]] = []
    outside: list[str] = []

    def begun(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            transactions.append([])

    def executed(connection: Connection, *args: object) -> None:
        statement = str(args[1]).split()[0]
        autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        (outside if autocommit else transactions[-1]).append(statement)

    event.listen(hub.engine, "begin", begun)
    event.listen(hub.engine, "before_cursor_execute", executed)
    try:
        outcome = work.run(JobName.STOCK, channel)
    finally:
        event.remove(hub.engine, "begin", begun)
        event.remove(hub.engine, "before_cursor_execute", executed)
    assert outcome is not None
    assert outcome.completed
    assert market.quantity("D-0") == 17
    assert outside == ["SELECT", "SELECT"]  # pg_try_advisory_lock, pg_advisory_unlock
    assert len(transactions) == 5, transactions
    assert [len(statements) for statements in transactions] == [2, 2, 6, 1, 2], transactions
