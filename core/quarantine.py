"""Quarantined payloads after the fact: an operator dismisses one, or a retry maps it.

Either way the row stays, body and all (invariant 7), marked resolved with when,
by whom and why. The channel's `quarantined_payload` alert resolves in the same
transaction as its last open payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from omnisync.core.alerting import resolve_quarantine_alert_if_clear
from omnisync.core.clock import clock_of
from omnisync.core.errors import NotFound
from omnisync.core.models import Channel, QuarantinedPayload
from omnisync.core.resolution import already_resolved, resolver


@dataclass(frozen=True)
class Resolution:
    payload: QuarantinedPayload
    channel: str | None
    """The name of the payload's channel."""
    alert_resolved: bool
    """The channel's quarantine alert resolved with it: no payload of the channel is open."""
    orders: tuple[str, ...] = ()
    """The channel's ids of the orders a retry took in."""


def open_payload(session: Session, payload_id: int) -> QuarantinedPayload:
    """The payload, locked, if it is still unresolved; NotFound or Conflict otherwise."""
    payload = session.exec(
        select(QuarantinedPayload)
        .where(QuarantinedPayload.id == payload_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if payload is None:
        raise NotFound(f"no quarantined payload {payload_id}")
    if payload.resolved_at is not None:
        what = f"quarantined payload {payload_id}"
        raise already_resolved(what, payload.resolved_at, payload.resolved_by)
    return payload


def resolve_payload(
    session: Session, payload_id: int, *, by: str, note: str | None = None
) -> Resolution:
    """Dismiss an unresolved payload: nothing of it goes in."""
    return mark_resolved(session, open_payload(session, payload_id), by=by, note=note)


def mark_resolved(
    session: Session,
    payload: QuarantinedPayload,
    *,
    by: str,
    note: str | None,
    orders: tuple[str, ...] = (),
) -> Resolution:
    """Record the payload's resolution; resolve the channel's alert if it was the last."""
    payload.resolved_at = clock_of(session).now()
    payload.resolved_by = resolver(by)
    payload.resolution_note = note
    session.add(payload)
    session.flush()
    channel = session.get(Channel, payload.channel_id) if payload.channel_id is not None else None
    return Resolution(
        payload,
        channel.name if channel is not None else None,
        resolve_quarantine_alert_if_clear(session, payload.channel_id),
        orders,
    )
