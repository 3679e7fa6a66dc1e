"""What the console's home ("needs action") shows, read in a fixed handful of counting
queries however big the catalogue and the order book are:

- orders ready to ship per channel, with how many are late and the oldest waiting, and
  the next few to ship (late ones first, by their ship-by date; then the oldest);
- counts that each open a filtered list: oversold and late orders, unlinked listings,
  low stock (hub/views/low_stock.py), returns waiting;
- paused or failing channels with their last error, from the channels' health
  (sync/health.py, what `omnisync status` reads); the push backlog (dirty listings per
  channel and the oldest one's age) and the open alerts, read alone (they need none of
  the job runs the health reads). These three refresh by themselves (fragments).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from omnisync.core.models import Alert, Channel, Listing, Order, Return
from omnisync.core.types import AlertState, ReturnStatus
from omnisync.hub.views.low_stock import low_stock_count
from omnisync.hub.web.order_queries import late, ready_to_ship
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import HubHealth, JobHealth, hub_health, scheduled_jobs

WAITING_RETURNS = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.PARTIALLY_RECEIVED,
)
"""Returns someone still has to act on or wait for (`/returns?waiting=1`)."""
NEXT_TO_SHIP = 10
ALERTS_SHOWN = 10


@dataclass(frozen=True)
class ReadyByChannel:
    channel: str
    ready: int
    late: int
    """Of the ready ones, how many are past their ship-by date."""
    oldest_placed: datetime | None


@dataclass(frozen=True)
class WaitingOrder:
    id: int
    name: str
    channel: str
    placed_at: datetime
    ship_by: datetime | None
    late: bool


@dataclass(frozen=True)
class OrderWork:
    """The orders part of the home page."""

    ready: tuple[ReadyByChannel, ...]
    next_up: tuple[WaitingOrder, ...]
    oversold: int
    late: int
    """Every late order, ready or not (held, oversold)."""

    @property
    def ready_total(self) -> int:
        return sum(row.ready for row in self.ready)


@dataclass(frozen=True)
class Counts:
    unlinked: int
    low_stock: int
    returns_waiting: int


def order_work(session: Session, now: datetime) -> OrderWork:
    is_late = late(now)
    per_channel = session.execute(
        select(
            col(Channel.name),
            func.count(),
            func.sum(case((is_late, 1), else_=0)),
            func.min(col(Order.placed_at)),
        )
        .join(Channel, col(Channel.id) == col(Order.channel_id))
        .where(ready_to_ship())
        .group_by(col(Channel.name))
        .order_by(col(Channel.name))
    )
    ready = tuple(
        ReadyByChannel(name, int(count), int(late_count or 0), oldest)
        for name, count, late_count, oldest in per_channel
    )
    late_first = case((is_late, 0), else_=1)
    next_rows = session.execute(
        select(Order, col(Channel.name))
        .join(Channel, col(Channel.id) == col(Order.channel_id))
        .where(ready_to_ship())
        .order_by(
            late_first,
            case((is_late, col(Order.ship_by)), else_=col(Order.placed_at)),
            col(Order.placed_at),
            col(Order.id),
        )
        .limit(NEXT_TO_SHIP)
    )
    next_up = tuple(
        WaitingOrder(
            id=order.id or 0,
            name=order.display_name or order.external_id,
            channel=name,
            placed_at=order.placed_at,
            ship_by=order.ship_by,
            late=order.ship_by is not None and order.ship_by < now,
        )
        for order, name in next_rows
    )
    oversold = session.execute(
        select(func.count()).select_from(Order).where(col(Order.oversold).is_(True))
    ).scalar_one()
    late_total = session.execute(
        select(func.count()).select_from(Order).where(is_late)
    ).scalar_one()
    return OrderWork(ready, next_up, int(oversold), int(late_total))


def counts(session: Session) -> Counts:
    unlinked = session.execute(
        select(func.count()).select_from(Listing).where(col(Listing.sku_id).is_(None))
    ).scalar_one()
    waiting = session.execute(
        select(func.count()).select_from(Return).where(col(Return.status).in_(WAITING_RETURNS))
    ).scalar_one()
    return Counts(int(unlinked), low_stock_count(session), int(waiting))


def health(session: Session, sync: SyncEngine, now: datetime) -> HubHealth:
    """Every channel's health as `omnisync status` reads it, with the engine's schedule."""
    schedules: Mapping[str, Mapping[str, timedelta]] = {
        name: scheduled_jobs(channel) for name, channel in sync.channels.items()
    }
    return hub_health(session, now, schedules=schedules)


@dataclass(frozen=True)
class ChannelProblem:
    """A channel paused, or with a job whose last runs failed."""

    name: str
    paused_reason: str | None
    failing_jobs: tuple[str, ...]
    consecutive_failures: int
    last_error: str | None
    last_failure: datetime | None


def channel_problems(state: HubHealth) -> list[ChannelProblem]:
    problems = []
    for channel in state.channels:
        failing = [job for job in channel.jobs if job.consecutive_failures > 0]
        if channel.paused_reason is None and not failing:
            continue
        latest = max(failing, key=_failed_at) if failing else None
        problems.append(
            ChannelProblem(
                name=channel.name,
                paused_reason=channel.paused_reason,
                failing_jobs=tuple(job.job for job in failing),
                consecutive_failures=channel.consecutive_failures,
                last_error=latest.last_error if latest is not None else None,
                last_failure=latest.last_failure if latest is not None else None,
            )
        )
    return problems


def _failed_at(job: JobHealth) -> float:
    return job.last_failure.timestamp() if job.last_failure is not None else 0.0


@dataclass(frozen=True)
class Backlog:
    """Listings of a channel waiting to be pushed (sync/health.py counts them alike)."""

    name: str
    dirty_listings: int
    oldest_dirty_since: datetime | None


def push_backlog(session: Session) -> list[Backlog]:
    """Channels with dirty listings, the longest waiting first: one grouped count on the
    (channel, dirty) index, without the runs the channels' health reads."""
    names: dict[int, str] = {
        channel_id: name
        for channel_id, name in session.execute(select(col(Channel.id), col(Channel.name)))
    }
    rows = session.execute(
        select(col(Listing.channel_id), func.count(), func.min(col(Listing.dirty_since)))
        .where(col(Listing.channel_id).in_(list(names)), col(Listing.dirty) == True)  # noqa: E712
        .group_by(col(Listing.channel_id))
    )
    found = [Backlog(names[channel_id], int(count), oldest) for channel_id, count, oldest in rows]
    return sorted(found, key=_waiting_longest)


def _waiting_longest(row: Backlog) -> tuple[float, str]:
    since = row.oldest_dirty_since
    return (since.timestamp() if since is not None else float("inf"), row.name)


@dataclass(frozen=True)
class AlertRow:
    id: int
    rule: str
    channel: str | None
    severity: str
    message: str
    last_seen: datetime
    count: int


def open_alerts(session: Session, limit: int = ALERTS_SHOWN) -> tuple[list[AlertRow], int]:
    """The open alerts seen most recently (at most `limit`), and how many are open."""
    rows = session.execute(
        select(Alert, col(Channel.name))
        .outerjoin(Channel, col(Channel.id) == col(Alert.channel_id))
        .where(col(Alert.state) == AlertState.OPEN)
        .order_by(col(Alert.last_seen).desc(), col(Alert.id).desc())
        .limit(limit)
    )
    shown = [
        AlertRow(
            id=alert.id or 0,
            rule=alert.rule,
            channel=name,
            severity=alert.severity.value,
            message=alert.message,
            last_seen=alert.last_seen,
            count=alert.count,
        )
        for alert, name in rows
    ]
    total = session.execute(
        select(func.count()).select_from(Alert).where(col(Alert.state) == AlertState.OPEN)
    ).scalar_one()
    return shown, int(total)
