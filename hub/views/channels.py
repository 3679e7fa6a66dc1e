"""Channels as the CLI prints them and the API serves them: their configuration and
listings (`channels list`), their health (`status`), or both (GET /api/v1/channels).

Health is read by sync/health.py, the one reader that `status`, the API, /metrics and
the alert rules share; this module only writes it out. Durations are seconds rounded
to the millisecond; times are `core.clock.iso` text.
"""

from __future__ import annotations

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from omnisync.core.clock import iso
from omnisync.core.models import Channel, Listing
from omnisync.core.types import AlertSeverity
from omnisync.hub.settings import Settings
from omnisync.hub.views.shapes import (
    ChannelHealthOut,
    ChannelOut,
    ChannelSummaryOut,
    JobHealthOut,
    OpenAlertOut,
    QueueCountsOut,
    QueueStatusOut,
    StatusOut,
)
from omnisync.sync.health import ChannelHealth, HubHealth, OpenAlert, seconds
from omnisync.sync.queue.state import QueueState, queue_state


def channel_list(session: Session) -> list[ChannelSummaryOut]:
    """Every channel row by name (disabled ones too), with its listing counts."""
    counts = {
        channel_id: (total, dirty or 0, unbound or 0)
        for channel_id, total, dirty, unbound in session.exec(
            select(
                Listing.channel_id,
                func.count(),
                func.sum(case((col(Listing.dirty), 1), else_=0)),
                func.sum(case((col(Listing.sku_id).is_(None), 1), else_=0)),
            ).group_by(col(Listing.channel_id))
        )
    }
    rows = []
    for channel in session.exec(select(Channel).order_by(col(Channel.name))):
        total, dirty, unbound = counts.get(channel.id or 0, (0, 0, 0))
        rows.append(
            ChannelSummaryOut(
                name=channel.name,
                type=channel.type,
                enabled=channel.enabled,
                locations=channel.locations,
                listings=total,
                unbound_listings=unbound,
                dirty_listings=dirty,
                paused_reason=channel.paused_reason,
            )
        )
    return rows


def open_alert_view(alert: OpenAlert) -> OpenAlertOut:
    return OpenAlertOut(
        id=alert.id,
        rule=alert.rule,
        channel=alert.channel,
        severity=AlertSeverity(alert.severity),
        message=alert.message,
        first_seen=iso(alert.first_seen),
        last_seen=iso(alert.last_seen),
        count=alert.count,
    )


def channel_health_view(channel: ChannelHealth) -> ChannelHealthOut:
    """One channel of `status --json`: its jobs, in the order of sync.channels.JOBS."""
    return ChannelHealthOut(
        name=channel.name,
        type=channel.type,
        enabled=channel.enabled,
        paused_reason=channel.paused_reason,
        jobs={
            job.job: JobHealthOut(
                last_success=iso(job.last_success),
                last_failure=iso(job.last_failure),
                last_error=job.last_error,
                consecutive_failures=job.consecutive_failures,
                interval_seconds=seconds(job.interval),
            )
            for job in channel.jobs
        },
        consecutive_failures=channel.consecutive_failures,
        dirty_listings=channel.dirty_listings,
        oldest_dirty_since=iso(channel.oldest_dirty_since),
        oldest_dirty_age_seconds=seconds(channel.oldest_dirty_age),
        open_alerts=[open_alert_view(alert) for alert in channel.open_alerts],
    )


def status_view(health: HubHealth, queue: QueueState | None = None) -> StatusOut:
    """`status --json` and GET /api/v1/status: every channel's health and the open
    alerts of no channel; `open_alerts` counts all of them; `queue` under runner
    `procrastinate` (hub_queue)."""
    return StatusOut(
        checked_at=iso(health.checked_at),
        open_alerts=health.open_alerts,
        channels=[channel_health_view(channel) for channel in health.channels],
        alerts=[open_alert_view(alert) for alert in health.hub_alerts],
        queue=queue_view(queue) if queue is not None else None,
    )


def hub_queue(session: Session, settings: Settings) -> QueueState | None:
    """The queue as SQL sees it under runner `procrastinate`; None under `single`."""
    if settings.hub.runner != "procrastinate":
        return None
    return queue_state(session, settings.hub.workers.stalled_after)


def queue_view(state: QueueState) -> QueueStatusOut:
    return QueueStatusOut(
        workers_alive=state.workers_alive,
        workers_stalled=state.workers_stalled,
        stalled_jobs=state.stalled_jobs,
        oldest_waiting_seconds=max(
            (counts.oldest_waiting_seconds for counts in state.queues.values()), default=0.0
        ),
        queues={
            queue: QueueCountsOut(
                waiting=counts.waiting,
                scheduled=counts.scheduled,
                running=counts.running,
                oldest_waiting_seconds=counts.oldest_waiting_seconds,
            )
            for queue, counts in sorted(state.queues.items())
        },
        tick_age_seconds={str(job): age for job, age in state.tick_age_seconds.items()},
    )


def channels_with_health(
    summaries: list[ChannelSummaryOut], health: list[ChannelHealth]
) -> list[ChannelOut]:
    """GET /api/v1/channels: each channel's summary with its health (`health` covers
    every channel row; a key both have, `dirty_listings`, keeps the summary's place)."""
    views = {channel.name: channel_health_view(channel) for channel in health}
    return [
        ChannelOut.model_validate({**dict(summary), **dict(views[summary.name])})
        for summary in summaries
    ]
