"""GET /metrics: what the database records, in the Prometheus text format.

Every value is read from the database at scrape time, so each hub process on
one database (and the tables themselves) tell the same story; nothing is
counted in process memory that a restart would lose.

Definitions:
- omnisync_sync_runs_total{channel,job,status}: finished SyncRun rows (running
  ones are not counted until they finish, so the counter never goes down).
- omnisync_sync_run_duration_seconds{channel,job}: finished_at - started_at of
  those same runs; its _count equals the sum of sync_runs_total over statuses.
- omnisync_last_success_timestamp_seconds{channel,job}: when the last run that
  finished succeeded or partial ended (sync/health.py's definition of success).
- omnisync_dirty_listings{channel}, omnisync_oldest_dirty_age_seconds{channel}:
  the push backlog now, as sync/health.py reports it (age 0 without backlog).
- omnisync_orders_ingested_total{channel}: order rows stored for the channel.
- omnisync_stock_pushes_total{channel,result}: listing quantities sent by the
  stock and reconcile jobs, from their runs' counts: result="acknowledged" (the
  channel took the quantity) or "failed" (refused; the listing stays dirty and
  is retried). Unchanged listings are not sent and not counted.
- omnisync_oversold_orders_total: orders that were ever oversold (oversold_at
  is set once and kept when stock later arrives).
- omnisync_quarantined_payloads_total{channel}: quarantined payload rows.
- omnisync_alerts_open: alerts in state open.
- Under runner `procrastinate` only (sync/queue/state.py, the queue's own tables):
  omnisync_queue_waiting_jobs{queue} (due now, not started),
  omnisync_queue_scheduled_jobs{queue} (waiting for a later time: a retry after a
  refusal), omnisync_queue_running_jobs{queue}, omnisync_queue_oldest_waiting_age_seconds
  {queue} (0: none waits), each for every channel type's queue and the ticks' queue;
  omnisync_queue_stalled_jobs (running on a worker silent for workers.stalled_after, or
  whose worker row is gone), omnisync_queue_workers_alive (heartbeat within
  stalled_after), omnisync_queue_tick_age_seconds{job} (since the job kind's periodic tick
  was last deferred; absent: never). The workers' task durations and failures are on each
  worker's own /metrics (`omnisync worker --metrics-port`, hub/worker.py).

Cost: the run-derived series fold over every finished run. A process keeps the
fold of the *settled* runs (ids below the oldest run still running: finished
rows are never written again) and reads only the newer rows per scrape; the
first scrape after start reads the table once, streamed. Ids become settled only
after SETTLE_SECONDS, so a run whose insert was not yet committed when its
neighbours were (PostgreSQL hands out ids before commit) is never skipped.
Deleting run rows (the hub never does) is seen after a restart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select  # sqlmodel's select takes at most 4 columns
from sqlmodel import Session, col, select

from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.models import (
    Alert,
    Channel,
    Order,
    OrderEventIntake,
    QuarantinedPayload,
    SyncRun,
)
from omnisync.core.types import AlertState, SyncRunStatus
from omnisync.hub import metric_names as names
from omnisync.hub.settings import Settings
from omnisync.sync.health import channel_health
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.registry import PUSH_JOBS
from omnisync.sync.queue.names import TICK_QUEUE, queue_of
from omnisync.sync.queue.state import queue_state
from omnisync.sync.runs import COMPLETED_STATUSES

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
"""Seconds: from a quick push to an hour-long first listing pull."""
PUSH_RESULTS = (RunCount.ACKNOWLEDGED, RunCount.FAILED)
"""The run counts that become omnisync_stock_pushes_total's `result` label values."""
SETTLE_SECONDS = 60.0

RunKey = tuple[int | None, str]
"""(channel id, job)"""


@dataclass(frozen=True)
class RunRow:
    id: int
    channel_id: int | None
    job: str
    status: SyncRunStatus
    started_at: datetime
    finished_at: datetime | None
    counts: Mapping[str, int] | None


@dataclass
class RunTotals:
    """What the run-derived series need, summed over a set of finished runs."""

    runs: Counter[tuple[int | None, str, str]] = field(default_factory=Counter)
    buckets: dict[RunKey, list[int]] = field(default_factory=dict)
    """Runs per duration bucket (not cumulative); the last slot is above every bound."""
    duration_sums: defaultdict[RunKey, float] = field(default_factory=lambda: defaultdict(float))
    last_success: dict[RunKey, datetime] = field(default_factory=dict)
    pushes: Counter[tuple[int | None, str]] = field(default_factory=Counter)

    def add(self, run: RunRow) -> None:
        key = (run.channel_id, run.job)
        self.runs[(run.channel_id, run.job, run.status.value)] += 1
        end = run.finished_at or run.started_at
        duration = max((end - run.started_at).total_seconds(), 0.0)
        slots = self.buckets.setdefault(key, [0] * (len(DURATION_BUCKETS) + 1))
        slots[_bucket_index(duration)] += 1
        self.duration_sums[key] += duration
        if run.status in COMPLETED_STATUSES and (
            key not in self.last_success or end > self.last_success[key]
        ):
            self.last_success[key] = end
        if run.job in PUSH_JOBS and run.counts:
            for result in PUSH_RESULTS:
                self.pushes[(run.channel_id, result)] += int(run.counts.get(result, 0))

    def copy(self) -> RunTotals:
        return RunTotals(
            Counter(self.runs),
            {key: list(slots) for key, slots in self.buckets.items()},
            defaultdict(float, self.duration_sums),
            dict(self.last_success),
            Counter(self.pushes),
        )


def _bucket_index(duration: float) -> int:
    for index, bound in enumerate(DURATION_BUCKETS):
        if duration <= bound:
            return index
    return len(DURATION_BUCKETS)


class RunHistory:
    """The fold over every finished run, kept incrementally (see the module docstring)."""

    def __init__(
        self, settle_seconds: float = SETTLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._settled = RunTotals()
        self._settled_upto = 0
        self._candidates: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def totals(self, session: Session) -> RunTotals:
        with self._lock:
            boundary = self._settle_boundary(session)
            if boundary > self._settled_upto:
                for run in _finished_runs(session, self._settled_upto, boundary):
                    self._settled.add(run)
                self._settled_upto = boundary
            totals = self._settled.copy()
            for run in _finished_runs(session, self._settled_upto, None):
                totals.add(run)
        return totals

    def _settle_boundary(self, session: Session) -> int:
        """The highest id up to which every run is finished now and was already
        visible (committed) `settle_seconds` ago."""
        oldest_running, newest = session.exec(
            select(
                func.min(SyncRun.id).filter(col(SyncRun.status) == SyncRunStatus.RUNNING),
                func.max(SyncRun.id),
            )
        ).one()
        current = (oldest_running - 1) if oldest_running is not None else (newest or 0)
        now = self.clock()
        self._candidates.append((now, current))
        eligible = self._settled_upto
        while self._candidates and self._candidates[0][0] <= now - self.settle_seconds:
            eligible = max(eligible, self._candidates.popleft()[1])
        return min(eligible, current)


def _finished_runs(session: Session, after: int, upto: int | None) -> Iterator[RunRow]:
    query = sa_select(
        col(SyncRun.id),
        col(SyncRun.channel_id),
        col(SyncRun.job),
        col(SyncRun.status),
        col(SyncRun.started_at),
        col(SyncRun.finished_at),
        col(SyncRun.counts),
    ).where(col(SyncRun.id) > after, col(SyncRun.status) != SyncRunStatus.RUNNING)
    if upto is not None:
        query = query.where(col(SyncRun.id) <= upto)
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield RunRow(*row)


def _counter(metric: names.Metric, documentation: str) -> CounterMetricFamily:
    return CounterMetricFamily(metric.family, documentation, labels=metric.labels)


def _gauge(metric: names.Metric, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.family, documentation, labels=metric.labels)


@dataclass
class Families:
    """Every series of /metrics (named in hub/metric_names.py), empty until filled."""

    runs: CounterMetricFamily = field(
        default_factory=lambda: _counter(
            names.SYNC_RUNS, "Finished job runs by channel, job and final status."
        )
    )
    durations: HistogramMetricFamily = field(
        default_factory=lambda: HistogramMetricFamily(
            names.SYNC_RUN_DURATION.family,
            "How long finished job runs took.",
            labels=names.SYNC_RUN_DURATION.labels,
        )
    )
    last_success: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.LAST_SUCCESS, "End of the last run that succeeded (or was partial), Unix time."
        )
    )
    dirty: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(names.DIRTY_LISTINGS, "Listings waiting for a stock push.")
    )
    oldest_dirty: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.OLDEST_DIRTY_AGE,
            "Age of the oldest listing waiting for a stock push (0: none waits).",
        )
    )
    orders: CounterMetricFamily = field(
        default_factory=lambda: _counter(names.ORDERS_INGESTED, "Orders stored for the channel.")
    )
    pushes: CounterMetricFamily = field(
        default_factory=lambda: _counter(
            names.STOCK_PUSHES,
            "Listing quantities sent by stock and reconcile runs, by the channel's answer.",
        )
    )
    oversold: CounterMetricFamily = field(
        default_factory=lambda: _counter(names.OVERSOLD_ORDERS, "Orders that were ever oversold.")
    )
    quarantined: CounterMetricFamily = field(
        default_factory=lambda: _counter(
            names.QUARANTINED_PAYLOADS, "Payloads kept aside because they could not be mapped."
        )
    )
    alerts_open: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(names.ALERTS_OPEN, "Alerts open now.")
    )
    order_events: CounterMetricFamily = field(
        default_factory=lambda: _counter(
            names.ORDER_EVENTS,
            "Order events (Amazon ORDER_CHANGE notifications) taken in, by channel.",
        )
    )
    last_order_event: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.LAST_ORDER_EVENT, "When the channel's last order event was taken in, Unix time."
        )
    )

    def all(self) -> list[Metric]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


@dataclass
class QueueFamilies:
    """The queue's series (runner `procrastinate`), empty until filled."""

    waiting: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(names.QUEUE_WAITING, "Tasks due now and not started.")
    )
    scheduled: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.QUEUE_SCHEDULED, "Tasks waiting for a later time (a retry after a refusal)."
        )
    )
    running: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(names.QUEUE_RUNNING, "Tasks a worker runs now.")
    )
    oldest_waiting: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.QUEUE_OLDEST_WAITING,
            "How long the oldest task due has waited for a worker (0: none waits).",
        )
    )
    stalled_jobs: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.QUEUE_STALLED_JOBS,
            "Tasks running on a worker taken for dead (the sweep fails and re-defers them).",
        )
    )
    workers_alive: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.QUEUE_WORKERS_ALIVE, "Workers whose heartbeat is within workers.stalled_after."
        )
    )
    tick_age: GaugeMetricFamily = field(
        default_factory=lambda: _gauge(
            names.QUEUE_TICK_AGE, "Seconds since the job kind's periodic tick was last deferred."
        )
    )

    def all(self) -> list[Metric]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


def queue_stalled_after(settings: Settings | None) -> timedelta | None:
    """workers.stalled_after when hub.yaml says runner `procrastinate` (None: no queue)."""
    if settings is None or settings.hub.runner != "procrastinate":
        return None
    return settings.hub.workers.stalled_after


def queue_families(session: Session, stalled_after: timedelta) -> QueueFamilies:
    state = queue_state(session, stalled_after)
    channel_queues = {queue_of(kind) for kind in session.exec(select(Channel.type)).all()}
    out = QueueFamilies()
    for queue in sorted(channel_queues | {TICK_QUEUE} | set(state.queues)):
        counts = state.queues.get(queue)
        out.waiting.add_metric([queue], counts.waiting if counts else 0)
        out.scheduled.add_metric([queue], counts.scheduled if counts else 0)
        out.running.add_metric([queue], counts.running if counts else 0)
        out.oldest_waiting.add_metric([queue], counts.oldest_waiting_seconds if counts else 0.0)
    out.stalled_jobs.add_metric([], state.stalled_jobs)
    out.workers_alive.add_metric([], state.workers_alive)
    for job, age in sorted(state.tick_age_seconds.items()):
        if age is not None:
            out.tick_age.add_metric([str(job)], age)
    return out


class DatabaseCollector:
    """A prometheus-client collector that reads the hub's database on every collect().
    `queue` gives workers.stalled_after while the runner is `procrastinate` (read on every
    scrape, so a reload is followed) and None otherwise: the queue's series only then."""

    def __init__(
        self,
        engine: Engine,
        history: RunHistory | None = None,
        queue: Callable[[], timedelta | None] | None = None,
    ) -> None:
        self.engine = engine
        self.history = history or RunHistory()
        self.queue = queue or (lambda: None)

    def describe(self) -> Iterable[Metric]:
        return Families().all()

    def collect(self) -> Iterable[Metric]:
        stalled_after = self.queue()
        with transaction(self.engine, read_only=True) as session:
            families = self._read(session).all()
            if stalled_after is not None:
                families += queue_families(session, stalled_after).all()
            return families

    def _read(self, session: Session) -> Families:
        channel_names: dict[int | None, str] = {None: ""}
        channel_names.update(
            (id_, name) for id_, name in session.exec(select(Channel.id, Channel.name))
        )
        totals = self.history.totals(session)
        out = Families()
        for (channel_id, job, status), count in sorted(totals.runs.items(), key=_by_labels):
            out.runs.add_metric([channel_names.get(channel_id, ""), job, status], count)
        for (channel_id, job), slots in sorted(totals.buckets.items(), key=_by_labels):
            out.durations.add_metric(
                [channel_names.get(channel_id, ""), job],
                _cumulative(slots),
                totals.duration_sums[(channel_id, job)],
            )
        for (channel_id, job), moment in sorted(totals.last_success.items(), key=_by_labels):
            out.last_success.add_metric(
                [channel_names.get(channel_id, ""), job], moment.timestamp()
            )
        for channel in channel_health(session, clock_of(session).now()):
            age = channel.oldest_dirty_age
            out.dirty.add_metric([channel.name], channel.dirty_listings)
            out.oldest_dirty.add_metric([channel.name], age.total_seconds() if age else 0.0)
        orders = dict(_count_by_channel(session, Order.channel_id))
        quarantined = dict(_count_by_channel(session, QuarantinedPayload.channel_id))
        if quarantined.get(None):  # payloads of no channel (none come today)
            out.quarantined.add_metric([""], quarantined[None])
        for channel_id, name in channel_names.items():
            if channel_id is None:
                continue
            out.orders.add_metric([name], orders.get(channel_id, 0))
            out.quarantined.add_metric([name], quarantined.get(channel_id, 0))
            for result in PUSH_RESULTS:
                out.pushes.add_metric([name, result], totals.pushes.get((channel_id, result), 0))
        for intake in session.exec(select(OrderEventIntake)):
            name = channel_names.get(intake.channel_id, "")
            out.order_events.add_metric([name], intake.events_taken)
            if intake.last_event_at is not None:
                out.last_order_event.add_metric([name], intake.last_event_at.timestamp())
        out.oversold.add_metric(
            [], _count(session, select(Order.id).where(col(Order.oversold_at).is_not(None)))
        )
        out.alerts_open.add_metric(
            [], _count(session, select(Alert.id).where(Alert.state == AlertState.OPEN))
        )
        return out


def _count(session: Session, query: Any) -> int:
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _count_by_channel(session: Session, column: Any) -> Iterator[tuple[int | None, int]]:
    for channel_id, count in session.exec(select(column, func.count()).group_by(column)):
        yield channel_id, int(count)


def _cumulative(slots: list[int]) -> list[tuple[str, float]]:
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*DURATION_BUCKETS, float("inf")), slots, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else str(bound), running))
    return buckets


def _by_labels(item: tuple[tuple[Any, ...], Any]) -> tuple[str, ...]:
    return tuple(str(part) for part in item[0])


def metrics_registry(
    engine: Engine,
    history: RunHistory | None = None,
    *,
    queue: Callable[[], timedelta | None] | None = None,
) -> CollectorRegistry:
    """A registry of the app's own (never the process-global one); `queue`: see
    DatabaseCollector."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine, history, queue))
    return registry
