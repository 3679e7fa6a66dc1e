"""The queue's alert rules of runner `procrastinate` (sync/alerts.py evaluate_queue_rules):
`worker_stalled`, `queue_backlog` and `tick_stopped` open on the queue states that mean
them, not on the ones that do not, and resolve themselves once the condition ends. The
states are built in-process (tests/support/fake_queue.py): no worker process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from omnisync.core.db import transaction
from omnisync.core.models import Alert
from omnisync.core.types import AlertSeverity, AlertState
from omnisync.hub.alerts import alert_monitor, queue_rules
from omnisync.hub.bootstrap import Hub, engine_channels
from omnisync.sync.alerts import (
    RULE_QUEUE_BACKLOG,
    RULE_TICK_STOPPED,
    RULE_WORKER_STALLED,
    Evaluation,
    QueueRules,
    QueueWatch,
    evaluate_queue_rules,
)
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.sweeps import sweep_stalled
from tests.support.databases import POSTGRES_URL
from tests.support.fake_queue import (
    add_worker,
    channel_ids,
    clear_queue,
    defer_task,
    queue_test_hub,
    set_heartbeat,
    start_task,
    tick,
    tick_all,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
]

RULES = QueueRules(
    stalled_after=timedelta(seconds=10),
    queue_age_alert=timedelta(minutes=5),
    tick_stopped_after=timedelta(minutes=1),
)
LONG_AGO = timedelta(hours=1)
"""How long the watch has seen the queue active, in the tests that need it settled."""


@pytest.fixture(scope="module")
def queue_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with queue_test_hub(tmp_path_factory.mktemp("queue-alerts")) as hub:
        yield hub


@pytest.fixture
def hub(queue_hub: Hub) -> Hub:
    clear_queue(queue_hub.engine)
    return queue_hub


def settled_watch() -> QueueWatch:
    return QueueWatch(active_since=datetime.now(UTC) - LONG_AGO)


def active_since(watch: QueueWatch) -> datetime | None:
    return watch.active_since


def evaluate(hub: Hub, watch: QueueWatch, rules: QueueRules = RULES) -> Evaluation:
    with transaction(hub.engine) as session:
        return evaluate_queue_rules(session, rules, watch, datetime.now(UTC))


def open_alerts(hub: Hub) -> dict[str, Alert]:
    with transaction(hub.engine, read_only=True) as session:
        return {
            alert.rule: alert
            for alert in session.exec(select(Alert).where(Alert.state == AlertState.OPEN))
        }


def test_a_task_on_a_silent_worker_opens_worker_stalled_until_the_sweep_frees_it(
    hub: Hub,
) -> None:
    ids = channel_ids(hub)
    watch = settled_watch()
    with transaction(hub.engine) as session:
        tick_all(session)
        live, silent = add_worker(session), add_worker(session, silent_for=timedelta(minutes=1))
        start_task(session, defer_task(session, "sandbox", ids["north"]), silent)
        start_task(session, defer_task(session, "sandbox", ids["south"]), live)

    assert evaluate(hub, watch).opened == [(RULE_WORKER_STALLED, None)]
    alert = open_alerts(hub)[RULE_WORKER_STALLED]
    assert alert.channel_id is None
    assert alert.severity == AlertSeverity.CRITICAL
    assert "1 task running on a worker silent for more than 10s" in alert.message
    assert alert.details == {
        "stalled_jobs": 1,
        "workers_alive": 1,
        "workers_stalled": 1,
        "waiting": 0,
    }
    again = evaluate(hub, watch)  # the same evidence: refreshed, not counted again
    assert again.opened == again.resolved == []
    assert open_alerts(hub)[RULE_WORKER_STALLED].count == 1

    with transaction(hub.engine) as session:  # `omnisync run`'s sweep fails and re-defers it
        (recovered,) = sweep_stalled(session, RULES.stalled_after)
    assert recovered.redeferred
    assert evaluate(hub, watch).resolved == [(RULE_WORKER_STALLED, None)]
    assert RULE_WORKER_STALLED not in open_alerts(hub)


def test_workers_registered_and_none_alive_while_tasks_wait_is_worker_stalled(
    hub: Hub,
) -> None:
    ids = channel_ids(hub)
    watch = settled_watch()
    with transaction(hub.engine) as session:
        tick_all(session)
        worker = add_worker(session, silent_for=timedelta(seconds=30))
    assert evaluate(hub, watch).opened == []  # a dead worker and nothing to do: no alert

    with transaction(hub.engine) as session:
        defer_task(session, "sandbox", ids["north"])
    assert evaluate(hub, watch).opened == [(RULE_WORKER_STALLED, None)]
    message = open_alerts(hub)[RULE_WORKER_STALLED].message
    assert message == "no worker alive: 1 worker silent for more than 10s while 1 task wait"

    with transaction(hub.engine) as session:  # the worker comes back
        set_heartbeat(session, worker, silent_for=timedelta(0))
    assert evaluate(hub, watch).resolved == [(RULE_WORKER_STALLED, None)]


def test_no_worker_ever_registered_is_not_worker_stalled(hub: Hub) -> None:
    ids = channel_ids(hub)
    with transaction(hub.engine) as session:
        defer_task(session, "sandbox", ids["north"])
    assert RULE_WORKER_STALLED not in [rule for rule, _ in evaluate(hub, QueueWatch()).opened]


def test_a_task_due_for_longer_than_queue_age_alert_opens_queue_backlog(hub: Hub) -> None:
    ids = channel_ids(hub)
    watch = settled_watch()
    now = datetime.now(UTC)
    with transaction(hub.engine) as session:
        tick_all(session)
        add_worker(session)
        defer_task(session, "sandbox", ids["north"], at=now - timedelta(minutes=4))
        later = defer_task(session, "sandbox", ids["south"], at=now + timedelta(hours=1))
    assert evaluate(hub, watch).opened == []  # 4 minutes < 5; a retry due later waits rightly

    with transaction(hub.engine) as session:
        old = defer_task(
            session, "sandbox", ids["south"], job=JobName.ORDERS, at=now - timedelta(minutes=7)
        )
    assert evaluate(hub, watch).opened == [(RULE_QUEUE_BACKLOG, None)]
    alert = open_alerts(hub)[RULE_QUEUE_BACKLOG]
    assert alert.severity == AlertSeverity.WARNING
    assert alert.message.startswith("queue sandbox: 2 tasks wait, the oldest for 7m")
    assert alert.message.endswith("(1 worker alive)")
    assert alert.details is not None
    assert list(alert.details["queues"]) == ["sandbox"]
    assert alert.details["queues"]["sandbox"]["waiting"] == 2

    with transaction(hub.engine) as session:  # a worker takes the old task
        worker = add_worker(session)
        start_task(session, old, worker)
        session.execute(text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": later})
    assert evaluate(hub, watch).resolved == [(RULE_QUEUE_BACKLOG, None)]


def test_a_tick_not_deferred_for_tick_stopped_after_while_a_worker_lives_opens_tick_stopped(
    hub: Hub,
) -> None:
    watch = settled_watch()
    with transaction(hub.engine) as session:
        add_worker(session)
        for job in JobName:
            tick(session, job, ago=timedelta(minutes=3) if job == JobName.ORDERS else timedelta(0))
    assert evaluate(hub, watch).opened == [(RULE_TICK_STOPPED, None)]
    alert = open_alerts(hub)[RULE_TICK_STOPPED]
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.details is not None
    assert list(alert.details["ticks"]) == ["orders"]
    assert "orders (3m" in alert.message

    with transaction(hub.engine) as session:  # the ticks come again
        tick(session, JobName.ORDERS, ago=timedelta(0))
    assert evaluate(hub, watch).resolved == [(RULE_TICK_STOPPED, None)]


def test_tick_stopped_needs_the_queue_active_for_the_whole_while(hub: Hub) -> None:
    watch = QueueWatch()
    with transaction(hub.engine) as session:
        worker = add_worker(session, silent_for=timedelta(minutes=10))
        tick_all(session, ago=timedelta(minutes=10))
    # Every worker silent for 10 minutes and nothing waits: nobody is to tick.
    assert evaluate(hub, watch).opened == []
    assert active_since(watch) is None

    with transaction(hub.engine) as session:  # a worker starts: its ticks come within seconds
        set_heartbeat(session, worker, silent_for=timedelta(0))
    assert evaluate(hub, watch).opened == []
    since = active_since(watch)
    assert since is not None

    # Still no tick a minute and more after the queue became active: they stopped.
    watch.active_since = since - timedelta(minutes=2)
    assert evaluate(hub, watch).opened == [(RULE_TICK_STOPPED, None)]
    details = open_alerts(hub)[RULE_TICK_STOPPED].details
    assert details is not None
    assert details["ticks"].keys() == {str(job) for job in JobName}


def test_tasks_waiting_with_no_worker_and_no_tick_ever_open_tick_stopped(hub: Hub) -> None:
    ids = channel_ids(hub)
    with transaction(hub.engine) as session:
        defer_task(session, "sandbox", ids["north"])
    watch = settled_watch()
    opened = evaluate(hub, watch).opened
    assert (RULE_TICK_STOPPED, None) in opened
    assert "(never)" in open_alerts(hub)[RULE_TICK_STOPPED].message

    with transaction(hub.engine) as session:
        session.execute(text("DELETE FROM procrastinate_jobs"))
    assert (RULE_TICK_STOPPED, None) in evaluate(hub, watch).resolved
    assert active_since(watch) is None


def test_the_hubs_monitor_watches_the_queue_under_procrastinate_and_resolves_under_single(
    hub: Hub,
) -> None:
    ids = channel_ids(hub)
    with transaction(hub.engine) as session:
        tick_all(session)
        silent = add_worker(session, silent_for=timedelta(minutes=1))
        start_task(session, defer_task(session, "sandbox", ids["north"]), silent)
    settings = hub.settings
    rules = queue_rules(settings)
    assert rules == QueueRules(
        stalled_after=settings.hub.workers.stalled_after,
        queue_age_alert=settings.hub.workers.queue_age_alert,
        tick_stopped_after=settings.hub.workers.tick_stopped_after,
    )
    sync = SyncEngine(hub.engine, engine_channels(settings), secrets=settings.secrets)
    monitor = alert_monitor(settings, sync)
    try:
        assert (RULE_WORKER_STALLED, None) in monitor.run_once().opened
    finally:
        monitor.dispatcher.close()

    single = dataclasses.replace(settings, hub=settings.hub.model_copy(update={"runner": "single"}))
    assert queue_rules(single) is None
    monitor = alert_monitor(single, sync)
    try:
        assert (RULE_WORKER_STALLED, None) in monitor.run_once().resolved
    finally:
        monitor.dispatcher.close()
    with transaction(hub.engine, read_only=True) as session:
        rows = session.exec(select(Alert).where(col(Alert.rule) == RULE_WORKER_STALLED)).all()
    assert [row.state for row in rows] == [AlertState.RESOLVED]
