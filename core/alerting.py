"""Alert rows: one open alert per (rule, channel), counted while the condition lasts.

Notification (webhook, mail, log) belongs to sync/; the core only records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.db import exists_where
from core.models import Alert, QuarantinedPayload
from core.types import AlertSeverity, AlertState

RULE_OVERSOLD = "oversold_order"
RULE_QUARANTINE = "quarantined_payload"
RULE_BUYER_CANCEL = "buyer_cancel_request"
RULE_UNLINKED = "unlinked_listing"
"""Open lines and listings bound to no hub SKU (core/unlinked.py)."""
RULE_AUTH = "auth_failure"
"""Open exactly while the channel is paused for refused credentials (core/channels.py)."""
NOTED_ORDERS_KEPT = 200
"""Orders a buyer-cancel notice remembers, so re-reading one does not count it again."""


def open_alert(
    session: Session,
    rule: str,
    channel_id: int | None,
    message: str,
    *,
    severity: AlertSeverity = AlertSeverity.WARNING,
    details: dict[str, Any] | None = None,
    new_occurrence: bool = True,
) -> Alert:
    """Open the (rule, channel) alert, or count one more occurrence of the open one.

    Without `new_occurrence` an open alert is only refreshed (message, details,
    last seen): a rule that sees the same condition again does not count it twice.
    """
    now = utcnow()
    alert = _open_alert(session, rule, channel_id)
    if alert is None:
        try:
            with session.begin_nested():
                alert = Alert(rule=rule, channel_id=channel_id, first_seen=now, count=0)
                session.add(alert)
                session.flush()
        except IntegrityError:
            # Another transaction opened it first (unique index): count on that one.
            alert = _open_alert(session, rule, channel_id)
            assert alert is not None
    alert.severity = severity
    alert.message = message
    alert.details = details
    alert.last_seen = now
    if new_occurrence or alert.count == 0:
        alert.count += 1
    session.add(alert)
    session.flush()
    return alert


def _open_alert(session: Session, rule: str, channel_id: int | None) -> Alert | None:
    return session.exec(
        select(Alert)
        .where(Alert.rule == rule, Alert.channel_id == channel_id, Alert.state == AlertState.OPEN)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def current_alert(session: Session, rule: str, channel_id: int | None) -> Alert | None:
    """The open (rule, channel) alert, locked, or None: for rules that keep a list in details."""
    return _open_alert(session, rule, channel_id)


def has_open_alert(session: Session, rule: str, channel_id: int | None) -> bool:
    """Whether the (rule, channel) alert is open; reads without locking it."""
    return exists_where(
        session, Alert.rule == rule, Alert.channel_id == channel_id, Alert.state == AlertState.OPEN
    )


def resolve_alert(session: Session, rule: str, channel_id: int | None) -> Alert | None:
    alert = _open_alert(session, rule, channel_id)
    if alert is not None:
        alert.state = AlertState.RESOLVED
        alert.resolved_at = utcnow()
        session.add(alert)
    return alert


def note_buyer_cancel_request(
    session: Session, channel_id: int | None, external_id: str, reasons: list[str]
) -> Alert | None:
    """A buyer asked the channel to cancel an order that still holds stock: the seller
    must cancel it there or ship it. Noted once per order while the notice is open."""
    alert = _open_alert(session, RULE_BUYER_CANCEL, channel_id)
    noted = [str(item) for item in ((alert.details or {}).get("orders") or [])] if alert else []
    if external_id in noted:
        return None
    reason = "; ".join(reasons) or "no reason given"
    return open_alert(
        session,
        RULE_BUYER_CANCEL,
        channel_id,
        f"the buyer asked to cancel order {external_id} ({reason}): "
        "cancel it on the channel or ship it",
        details={
            "orders": [*noted, external_id][-NOTED_ORDERS_KEPT:],
            "external_id": external_id,
            "reason": reason,
        },
    )


def quarantine_payload(
    session: Session,
    channel_id: int | None,
    kind: str,
    raw: str | bytes,
    reason: str,
    *,
    external_id: str | None = None,
) -> QuarantinedPayload:
    """Keep a payload we could not map, verbatim, and raise the quarantine alert."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    payload = QuarantinedPayload(
        channel_id=channel_id, kind=kind, external_id=external_id, reason=reason, raw=text
    )
    session.add(payload)
    session.flush()
    label = f"{kind} {external_id}" if external_id else kind
    open_alert(
        session,
        RULE_QUARANTINE,
        channel_id,
        f"quarantined {label}: {reason}",
        details={"payload_id": payload.id, "kind": kind, "external_id": external_id},
    )
    return payload


def has_unresolved_payloads(session: Session, channel_id: int | None) -> bool:
    """Whether the channel has a quarantined payload nobody retried or dismissed yet."""
    return exists_where(
        session,
        col(QuarantinedPayload.resolved_at).is_(None),
        QuarantinedPayload.channel_id == channel_id,
    )


def resolve_quarantine_alert_if_clear(session: Session, channel_id: int | None) -> bool:
    """Resolve the channel's quarantine alert once none of its payloads is unresolved;
    True if it was resolved now. The alert is locked before the payloads are read, so a
    payload quarantined meanwhile either is seen or opens a new alert."""
    if current_alert(session, RULE_QUARANTINE, channel_id) is None:
        return False
    if has_unresolved_payloads(session, channel_id):
        return False
    return resolve_alert(session, RULE_QUARANTINE, channel_id) is not None
