"""The metrics GET /metrics exports, as Prometheus scrapes them.

One list for the exporter (hub/metrics.py), the Prometheus alert rules
(deploy/prometheus/alerts.yml) and the test that keeps the two in step.
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
)
BY_SERIES = {series: metric for metric in METRICS for series in metric.series}
"""Every sample name a scrape shows, to the metric it belongs to."""
