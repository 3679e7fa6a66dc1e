"""Alert rows: one open alert per (rule, channel), counted while the condition lasts.

The hub resolves an alert once its condition clears (resolve_alert); an operator may
resolve any open one by id (resolve_alert_by_hand), recorded with who and why in
`resolved_by` and `resolution_note` (None for the hub's own resolves).
Notification (webhook, mail, log) belongs to sync/; the core only records.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from omnisync.core.clock import clock_of
from omnisync.core.db import count_where, exists_where
from omnisync.core.errors import NotFound
from omnisync.core.models import Alert, QuarantinedPayload
from omnisync.core.resolution import already_resolved, resolver
from omnisync.core.types import AlertSeverity, AlertState

RULE_OVERSOLD = "oversold_order"
RULE_QUARANTINE = "quarantined_payload"
RULE_BUYER_CANCEL = "buyer_cancel_request"
RULE_UNLINKED = "unlinked_listings"
"""Open lines bound to no hub SKU, and listings unlinked for `unlinked_after` (core/unlinked.py)."""
RULE_REVISION_CAP = "revision_cap"
"""Listings whose pushes are coalesced or held near the channel's daily revision limit
(sync/jobs/revision_budget.py); resolves once none is."""
RULE_AUTH = "auth_failure"
"""Open exactly while the channel is paused for refused credentials (core/channels.py)."""
RULE_PICK_SHORT = "pick_short"
"""A picker did not find units on the shelf (core/picking.py, `pick confirm --short`): a
warning per channel (None for a pick list of every channel); an operator resolves it."""
NOTED_ORDERS_KEPT = 200
"""Orders a buyer-cancel notice remembers, so re-reading one does not count it again."""
SHIPPED_NOT_ON_HAND = "shipped_not_on_hand"
"""The key of the oversold alert's details that lists the latest shipment shortfalls."""


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
    now = clock_of(session).now()
    alert = _open_alert(session, rule, channel_id)
    if alert is None:
        try:
            with session.begin_nested():
                alert = Alert(
                    rule=rule, channel_id=channel_id, first_seen=now, last_seen=now, count=0
                )
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


def open_alerts_by_key(
    session: Session, rules: Collection[str]
) -> dict[tuple[str, int | None], Alert]:
    """The open alerts of `rules`, locked as current_alert locks one, by (rule, channel): for
    a pass over every channel, which reads them once rather than each (rule, channel) in turn."""
    alerts = session.exec(
        select(Alert)
        .where(col(Alert.rule).in_(list(rules)), Alert.state == AlertState.OPEN)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {(alert.rule, alert.channel_id): alert for alert in alerts}


def open_alert_condition(rule: str, channel_id: Any) -> ColumnElement[bool]:
    """SQL true when the (rule, channel) alert is open: `channel_id` a value or a column
    (a query over channels asks it of each row)."""
    return exists().where(
        col(Alert.rule) == rule,
        col(Alert.channel_id) == channel_id,
        col(Alert.state) == AlertState.OPEN,
    )


def has_open_alert(session: Session, rule: str, channel_id: int | None) -> bool:
    """Whether the (rule, channel) alert is open; reads without locking it."""
    return bool(session.exec(select(open_alert_condition(rule, channel_id))).one())


def resolve_alert(session: Session, rule: str, channel_id: int | None) -> Alert | None:
    """The hub resolves the open (rule, channel) alert: its condition cleared."""
    alert = _open_alert(session, rule, channel_id)
    if alert is not None:
        _close(session, alert)
    return alert


def resolve_locked_alert(session: Session, alert: Alert) -> None:
    """The hub resolves `alert`, read open and locked (current_alert, open_alerts_by_key):
    its condition cleared."""
    _close(session, alert)


def resolve_alert_by_hand(
    session: Session, alert_id: int, *, by: str, note: str | None = None
) -> Alert:
    """An operator resolves the open alert `alert_id`, saying who and why. NotFound for an
    unknown id, Conflict for an alert resolved already. What happens next is the rules'
    business (sync/alert_resolution.py): one whose condition still holds opens again."""
    alert = session.exec(
        select(Alert)
        .where(Alert.id == alert_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if alert.state == AlertState.RESOLVED:
        raise already_resolved(f"alert {alert_id}", alert.resolved_at, alert.resolved_by)
    _close(session, alert, by=resolver(by), note=note)
    return alert


def _close(
    session: Session, alert: Alert, *, by: str | None = None, note: str | None = None
) -> None:
    alert.state = AlertState.RESOLVED
    alert.resolved_at = clock_of(session).now()
    alert.resolved_by = by
    alert.resolution_note = note
    session.add(alert)
    session.flush()


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


@dataclass(frozen=True)
class ShippedShortfall:
    """Units a shipment took that were not on hand: the stock count was short."""

    order: str
    """The channel's order name or number (#1001), else its order id."""
    reference: str
    """channel:order id, as the order's stock movements carry it."""
    line: str
    sku: str
    location: str | None
    """None: the line held no reservation and its channel sells from no location."""
    units: int

    def movement_reason(self) -> str:
        return (
            f"shipped {_units(self.units)} not on hand (order {self.order}): stock count was short"
        )

    def log_message(self) -> str:
        return (
            f"order {self.order} ({self.reference}) line {self.line}: {self._what()}; "
            "the stock count was short"
        )

    def alert_message(self) -> str:
        return f"order {self.order}: {self._what()}; the stock count was short"

    def details(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "reference": self.reference,
            "sku": self.sku,
            "location": self.location,
            "short": self.units,
        }

    def _what(self) -> str:
        where = f"at {self.location}" if self.location else "from no known location"
        verb = "was" if self.units == 1 else "were"
        return f"shipped {_units(self.units)} of SKU {self.sku!r} {where} that {verb} not on hand"


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def note_shipped_not_on_hand(
    session: Session, channel_id: int | None, shortfall: ShippedShortfall
) -> Alert:
    """Add the shortfall to the channel's oversold alert (opened if it is not open): the
    units left, but the hub's count said it had none of them."""
    alert = _open_alert(session, RULE_OVERSOLD, channel_id)
    details = dict(alert.details or {}) if alert else {}
    noted = [*(details.get(SHIPPED_NOT_ON_HAND) or []), shortfall.details()]
    details[SHIPPED_NOT_ON_HAND] = noted[-NOTED_ORDERS_KEPT:]
    return open_alert(
        session,
        RULE_OVERSOLD,
        channel_id,
        shortfall.alert_message(),
        severity=AlertSeverity.CRITICAL,
        details=details,
    )


def keep_shipped_not_on_hand(
    session: Session, channel_id: int | None, details: dict[str, Any]
) -> dict[str, Any]:
    """`details` for the channel's oversold alert, with the shortfalls it already lists."""
    alert = _open_alert(session, RULE_OVERSOLD, channel_id)
    noted = list((alert.details or {}).get(SHIPPED_NOT_ON_HAND) or []) if alert else []
    return {**details, SHIPPED_NOT_ON_HAND: noted} if noted else dict(details)


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
        channel_id=channel_id,
        kind=kind,
        external_id=external_id,
        reason=reason,
        raw=text,
        received_at=clock_of(session).now(),
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


def _unresolved_payloads(channel_id: int | None) -> tuple[Any, ...]:
    return (
        col(QuarantinedPayload.resolved_at).is_(None),
        QuarantinedPayload.channel_id == channel_id,
    )


def has_unresolved_payloads(session: Session, channel_id: int | None) -> bool:
    """Whether the channel has a quarantined payload nobody retried or dismissed yet."""
    return exists_where(session, *_unresolved_payloads(channel_id))


def unresolved_payload_count(session: Session, channel_id: int | None) -> int:
    """How many quarantined payloads of the channel nobody retried or dismissed yet."""
    return count_where(session, QuarantinedPayload, *_unresolved_payloads(channel_id))


def resolve_quarantine_alert_if_clear(session: Session, channel_id: int | None) -> bool:
    """Resolve the channel's quarantine alert once none of its payloads is unresolved;
    True if it was resolved now. The alert is locked before the payloads are read, so a
    payload quarantined meanwhile either is seen or opens a new alert."""
    if current_alert(session, RULE_QUARANTINE, channel_id) is None:
        return False
    if has_unresolved_payloads(session, channel_id):
        return False
    return resolve_alert(session, RULE_QUARANTINE, channel_id) is not None
