"""The metrics GET /metrics exports, as Prometheus scrapes them.

One list for the exporter (hub/metrics.py), the Prometheus alert rules
(deploy/prometheus/alerts.yml) and the test that keeps the two in step. The
omnisync_queue_* gauges are on the hub's /metrics under runner `procrastinate` only;
the omnisync_worker_* series are each `omnisync worker --metrics-port`'s own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MetricKind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Metric:
    name: str
    """As scraped; a counter's ends in _total."""
    kind: MetricKind
    labels: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The name prometheus_client's *MetricFamily takes (it appends _total to counters)."""
        return self.name.removesuffix("_total") if self.kind == MetricKind.COUNTER else self.name

    @property
    def series(self) -> tuple[str, ...]:
        """The sample names a scrape shows."""
        if self.kind == MetricKind.HISTOGRAM:
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        return (self.name,)


SYNC_RUNS = Metric("omnisync_sync_runs_total", MetricKind.COUNTER, ("channel", "job", "status"))
SYNC_RUN_DURATION = Metric(
    "omnisync_sync_run_duration_seconds", MetricKind.HISTOGRAM, ("channel", "job")
)
LAST_SUCCESS = Metric(
    "omnisync_last_success_timestamp_seconds", MetricKind.GAUGE, ("channel", "job")
)
DIRTY_LISTINGS = Metric("omnisync_dirty_listings", MetricKind.GAUGE, ("channel",))
OLDEST_DIRTY_AGE = Metric("omnisync_oldest_dirty_age_seconds", MetricKind.GAUGE, ("channel",))
ORDERS_INGESTED = Metric("omnisync_orders_ingested_total", MetricKind.COUNTER, ("channel",))
STOCK_PUSHES = Metric("omnisync_stock_pushes_total", MetricKind.COUNTER, ("channel", "result"))
OVERSOLD_ORDERS = Metric("omnisync_oversold_orders_total", MetricKind.COUNTER)
QUARANTINED_PAYLOADS = Metric(
    "omnisync_quarantined_payloads_total", MetricKind.COUNTER, ("channel",)
)
ALERTS_OPEN = Metric("omnisync_alerts_open", MetricKind.GAUGE)
ORDER_EVENTS = Metric("omnisync_order_events_taken_total", MetricKind.COUNTER, ("channel",))
LAST_ORDER_EVENT = Metric(
    "omnisync_last_order_event_timestamp_seconds", MetricKind.GAUGE, ("channel",)
)
QUEUE_WAITING = Metric("omnisync_queue_waiting_jobs", MetricKind.GAUGE, ("queue",))
QUEUE_SCHEDULED = Metric("omnisync_queue_scheduled_jobs", MetricKind.GAUGE, ("queue",))
QUEUE_RUNNING = Metric("omnisync_queue_running_jobs", MetricKind.GAUGE, ("queue",))
QUEUE_OLDEST_WAITING = Metric(
    "omnisync_queue_oldest_waiting_age_seconds", MetricKind.GAUGE, ("queue",)
)
QUEUE_STALLED_JOBS = Metric("omnisync_queue_stalled_jobs", MetricKind.GAUGE)
QUEUE_WORKERS_ALIVE = Metric("omnisync_queue_workers_alive", MetricKind.GAUGE)
QUEUE_TICK_AGE = Metric("omnisync_queue_tick_age_seconds", MetricKind.GAUGE, ("job",))
WORKER_TASK_DURATION = Metric(
    "omnisync_worker_task_duration_seconds", MetricKind.HISTOGRAM, ("task",)
)
WORKER_TASK_FAILURES = Metric("omnisync_worker_task_failures_total", MetricKind.COUNTER, ("task",))

QUEUE_METRICS = (
    QUEUE_WAITING,
    QUEUE_SCHEDULED,
    QUEUE_RUNNING,
    QUEUE_OLDEST_WAITING,
    QUEUE_STALLED_JOBS,
    QUEUE_WORKERS_ALIVE,
    QUEUE_TICK_AGE,
)
"""The hub's /metrics under runner `procrastinate` (read from the queue's tables)."""
WORKER_METRICS = (WORKER_TASK_DURATION, WORKER_TASK_FAILURES)
"""A worker's own /metrics (`omnisync worker --metrics-port N`), counted in its memory."""

METRICS = (
    SYNC_RUNS,
    SYNC_RUN_DURATION,
    LAST_SUCCESS,
    DIRTY_LISTINGS,
    OLDEST_DIRTY_AGE,
    ORDERS_INGESTED,
    STOCK_PUSHES,
    OVERSOLD_ORDERS,
    QUARANTINED_PAYLOADS,
    ALERTS_OPEN,
    ORDER_EVENTS,
    LAST_ORDER_EVENT,
    *QUEUE_METRICS,
    *WORKER_METRICS,
)
BY_SERIES = {series: metric for metric in METRICS for series in metric.series}
"""Every sample name a scrape shows, to the metric it belongs to."""
