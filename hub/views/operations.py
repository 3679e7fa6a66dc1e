"""What the hub did and raised: job runs, alerts and what each notifier was told of
them, quarantined payloads and their resolutions.

Lists are newest first and page by key (`before_id`): rows written meanwhile neither
shift nor repeat the next page. A quarantined payload's body (possibly large) is
read only where one payload is asked for, never in a list.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from omnisync.core.clock import iso
from omnisync.core.errors import NotFound
from omnisync.core.models import Alert, AlertDelivery, Channel, QuarantinedPayload, SyncRun
from omnisync.core.quarantine import Resolution
from omnisync.core.types import AlertState, SyncRunStatus
from omnisync.hub.views.shapes import (
    AlertDeliveryOut,
    AlertDetailOut,
    AlertOut,
    AlertResolutionOut,
    QuarantineDetailOut,
    QuarantineOut,
    QuarantineResolutionOut,
    SyncRunOut,
)
from omnisync.sync.alert_resolution import HandResolution


def _channel_names(session: Session) -> dict[int | None, str | None]:
    names: dict[int | None, str | None] = {None: None}
    names.update(session.exec(select(Channel.id, Channel.name)).all())
    return names


def sync_run_view(run: SyncRun, channel: str | None) -> SyncRunOut:
    assert run.id is not None
    duration = (
        (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    )
    return SyncRunOut(
        id=run.id,
        channel=channel,
        job=run.job,
        status=run.status,
        started_at=iso(run.started_at),
        finished_at=iso(run.finished_at),
        duration_seconds=duration,
        counts=run.counts or {},
        error=run.error,
    )


def sync_run_list(
    session: Session,
    *,
    channel: str | None = None,
    job: str | None = None,
    status: SyncRunStatus | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[SyncRunOut]:
    """Job runs, newest first; `before_id` pages by key."""
    query = select(SyncRun)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == SyncRun.channel_id).where(
            Channel.name == channel
        )
    if job is not None:
        query = query.where(SyncRun.job == job)
    if status is not None:
        query = query.where(SyncRun.status == status)
    if before_id is not None:
        query = query.where(col(SyncRun.id) < before_id)
    runs = session.exec(query.order_by(col(SyncRun.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [sync_run_view(run, names.get(run.channel_id)) for run in runs]


def alert_view(alert: Alert, channel: str | None) -> AlertOut:
    assert alert.id is not None
    return AlertOut(
        id=alert.id,
        rule=alert.rule,
        channel=channel,
        severity=alert.severity,
        state=alert.state,
        message=alert.message,
        details=alert.details or {},
        first_seen=iso(alert.first_seen),
        last_seen=iso(alert.last_seen),
        count=alert.count,
        notified_at=iso(alert.notified_at),
        resolved_at=iso(alert.resolved_at),
        resolved_by=alert.resolved_by,
        resolution_note=alert.resolution_note,
    )


def alert_list(
    session: Session,
    *,
    state: AlertState | None = None,
    channel: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
    rule: str | None = None,
) -> list[AlertOut]:
    """Alerts, newest first; `before_id` pages by key."""
    query = select(Alert)
    if state is not None:
        query = query.where(Alert.state == state)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == Alert.channel_id).where(
            Channel.name == channel
        )
    if before_id is not None:
        query = query.where(col(Alert.id) < before_id)
    alerts = session.exec(query.order_by(col(Alert.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [alert_view(alert, names.get(alert.channel_id)) for alert in alerts]


def alert_delivery_view(delivery: AlertDelivery) -> AlertDeliveryOut:
    """What one notifier was told of an alert (sync/notify/dispatcher.py)."""
    return AlertDeliveryOut(
        notifier=delivery.notifier,
        announced_at=iso(delivery.announced_at),
        reminded_at=iso(delivery.reminded_at),
        reminders=delivery.reminders,
        resolved_sent_at=iso(delivery.resolved_sent_at),
        failures=delivery.failures,
        next_attempt_at=iso(delivery.next_attempt_at),
        last_error=delivery.last_error,
    )


def find_alert(session: Session, alert_id: int) -> AlertDetailOut:
    """`alerts show ID --json`: the alert with what each notifier was told of it."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    deliveries = session.exec(
        select(AlertDelivery)
        .where(AlertDelivery.alert_id == alert_id)
        .order_by(col(AlertDelivery.notifier))
    ).all()
    view = alert_view(alert, _channel_names(session).get(alert.channel_id))
    return AlertDetailOut(**dict(view), deliveries=[alert_delivery_view(row) for row in deliveries])


def alert_resolution_view(resolution: HandResolution) -> AlertResolutionOut:
    """`alerts resolve --json`: the alert as resolved, whether its rule opens it again
    (true, false, or null: only the running hub's evaluation can tell) and in words."""
    return AlertResolutionOut(
        alert=alert_view(resolution.alert, resolution.channel),
        opens_again=resolution.outlook.opens_again,
        outlook=resolution.outlook.says,
    )


def quarantine_view(payload: QuarantinedPayload, channel: str | None) -> QuarantineOut:
    """A quarantined payload without its body."""
    assert payload.id is not None
    return QuarantineOut(
        id=payload.id,
        channel=channel,
        kind=payload.kind,
        external_id=payload.external_id,
        reason=payload.reason,
        received_at=iso(payload.received_at),
        resolved_at=iso(payload.resolved_at),
        resolved_by=payload.resolved_by,
        resolution_note=payload.resolution_note,
        raw_length=len(payload.raw),
    )


def quarantine_list(
    session: Session,
    *,
    channel: str | None = None,
    resolved: bool | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[QuarantineOut]:
    """Quarantined payloads without their bodies, newest first; `before_id` pages by key."""
    query = select(QuarantinedPayload)
    if channel is not None:
        query = query.join(Channel, col(Channel.id) == QuarantinedPayload.channel_id).where(
            Channel.name == channel
        )
    if resolved is not None:
        resolved_at = col(QuarantinedPayload.resolved_at)
        query = query.where(resolved_at.is_not(None) if resolved else resolved_at.is_(None))
    if before_id is not None:
        query = query.where(col(QuarantinedPayload.id) < before_id)
    rows = session.exec(query.order_by(col(QuarantinedPayload.id).desc()).limit(limit)).all()
    names = _channel_names(session)
    return [quarantine_view(row, names.get(row.channel_id)) for row in rows]


def find_quarantined(session: Session, payload_id: int) -> QuarantineDetailOut:
    """`quarantine show ID --json`: one payload with its raw body."""
    payload = session.get(QuarantinedPayload, payload_id)
    if payload is None:
        raise NotFound(f"no quarantined payload {payload_id}")
    view = quarantine_view(payload, _channel_names(session).get(payload.channel_id))
    return QuarantineDetailOut(**dict(view), raw=payload.raw)


def quarantine_resolution_view(resolution: Resolution) -> QuarantineResolutionOut:
    """`quarantine retry|resolve --json`: the payload as resolved (without its body),
    whether the channel's quarantine alert resolved with it, and the orders a retry took in."""
    return QuarantineResolutionOut(
        payload=quarantine_view(resolution.payload, resolution.channel),
        alert_resolved=resolution.alert_resolved,
        orders=list(resolution.orders),
    )
