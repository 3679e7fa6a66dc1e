"""How a b5 replay's hub hears of each channel's sales: polled by its orders job, or told
by an event (a Shopify webhook, an Amazon ORDER_CHANGE notification) some time after
the sale, with polling as the backstop.

The replay runs on simulated time, so an event's delay is a figure it is given. The
figures are measured, not assumed: b3_propagation times the intake of real webhooks
and notifications (the sale on the channel to the commit of its reservation in the hub)
and b5 takes b3's median for each. Not its p95: b3 sells on Amazon about once a second,
beyond getOrder's sustained 0.5/s, so its slowest Amazon intakes wait for getOrder
tokens; b5's stream brings a few orders a minute at most, within getOrder's burst of
30, where an order meets the path's own delay. When b3 did not run first in the same
`python -m bench`, the delays are the constants below, with the run they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

POLLED: Final = "polled"
WEBHOOK: Final = "webhook"
NOTIFICATION: Final = "notification"

SANDBOX_POLL_S: Final = 1.0
"""The demo's sandbox channels: `schedule: {orders: 1s}`."""
SHOPIFY_BACKSTOP_S: Final = 60.0
"""The hub's default orders interval, under the webhooks."""
AMAZON_BACKSTOP_S: Final = 180.0
"""searchOrders at Amazon's sustained rate (0.0056/s), under the notifications."""

MEASURED_WEBHOOK_S: Final = 0.0064
MEASURED_NOTIFICATION_S: Final = 0.0177
DELAYS_SOURCE: Final = (
    "b3_propagation's intake p50 for Shopify and Amazon, run of ce3e988-dirty on "
    "2026-12-03 04:39 UTC (Intel Xeon, 2 cores)"
)
"""Where MEASURED_WEBHOOK_S and MEASURED_NOTIFICATION_S come from: the b3 run that introduced
the intake-paths replay (docs/benchmarks.md)."""


@dataclass(frozen=True)
class Intake:
    """How the hub hears of one channel's orders."""

    kind: str
    poll_every: float | None
    """Seconds between runs of the orders job; None: the channel's configured interval."""
    delay: float | None = None
    """Seconds from a sale to its event's intake; None: the channel sends no events."""

    def event_at(self, sale_at: float) -> float | None:
        """When the event of a sale at `sale_at` is taken in; None: no event."""
        return None if self.delay is None else sale_at + self.delay


def pull_moments(every: float, index: int, channels: int, until: float) -> list[float]:
    """The orders job's runs for channel `index` of `channels`: every `every` seconds up
    to `until`, the channels spread evenly over one interval (the first at 0)."""
    if every <= 0:
        raise ValueError("an interval must be positive")
    moments = []
    at = every * index / channels
    while at <= until:
        moments.append(at)
        at += every
    return moments


@dataclass(frozen=True)
class IntakeDelays:
    webhook_s: float
    notification_s: float
    source: str


def measured_delays(propagation: Mapping[str, Any] | None) -> IntakeDelays:
    """The webhook (Shopify) and notification (Amazon) intake medians of a b3 result, or
    the constants when there is none (or it lacks either channel)."""
    origins = (propagation or {}).get("by_origin") or {}
    try:
        webhook = origins["shopify"]["intake"]["p50_ms"] / 1000
        notification = origins["amazon"]["intake"]["p50_ms"] / 1000
    except (KeyError, TypeError):
        return IntakeDelays(MEASURED_WEBHOOK_S, MEASURED_NOTIFICATION_S, DELAYS_SOURCE)
    return IntakeDelays(
        round(webhook, 4), round(notification, 4), "b3_propagation of this run, intake p50"
    )


def intake_paths(delays: IntakeDelays) -> tuple[Intake, ...]:
    """The demo's four channels: a Shopify-like one (webhooks), an Amazon-like one
    (notifications), two sandbox marketplaces polled every second."""
    return (
        Intake(WEBHOOK, SHOPIFY_BACKSTOP_S, delays.webhook_s),
        Intake(NOTIFICATION, AMAZON_BACKSTOP_S, delays.notification_s),
        Intake(POLLED, SANDBOX_POLL_S),
        Intake(POLLED, SANDBOX_POLL_S),
    )


def describe(intakes: tuple[Intake, ...], default_every: float) -> str:
    """One line for the report: how each channel's orders are taken in."""
    parts = []
    for index, intake in enumerate(intakes, start=1):
        every = f"{intake.poll_every if intake.poll_every is not None else default_every:g} s"
        if intake.delay is None:
            parts.append(f"ch-{index} polled every {every}")
        else:
            parts.append(
                f"ch-{index} by {intake.kind} {intake.delay:g} s after the sale (a backstop "
                f"poll every {every})"
            )
    return "; ".join(parts)
