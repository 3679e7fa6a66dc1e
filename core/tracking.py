"""Tracking: what a carrier says of a parcel, applied to its shipment in one transaction.

- Events are stored once, however often the carrier resends the history: the
  key is (shipment, time, carrier code), unique in the table too.
- The status follows the carrier, except that delivered and returned_to_sender
  are final (a late scan never reopens them) and that a parcel the carrier has
  seen never goes back to label_created or unknown. Other moves "backwards" are
  real (out for delivery, a failed attempt, in transit again) and are kept.
- A delivered parcel has its order's status derived again (core/order_status.py):
  the order becomes delivered when all of it has left and every one of its
  shipments is delivered. A partially shipped order stays partially shipped however
  many of its parcels arrived: units are still to leave, and the order is delivered
  once the last of them is.
- Alerts, one row per carrier channel and rule, listing the parcels concerned:
  `carrier_exception` when a parcel enters exception (warning) or is returned to
  the sender (critical); a parcel that moves on leaves the list, and the alert
  resolves with an empty list (returned parcels stay until an operator resolves
  it: `omnisync alerts resolve`). Resolved by hand, it stays resolved: a returned
  parcel is final and never listed again, a parcel still in exception is listed
  again only when its status changes, and a parcel that enters trouble afterwards
  opens a new alert. `tracking_unknown` when the carrier still does not know a number
  `unknown_after` past shipping (or past its last answer knowing it); it resolves
  once the carrier knows every listed number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from omnisync.core.alerting import current_alert, open_alert, resolve_alert
from omnisync.core.clock import clock_of, ensure_utc
from omnisync.core.db import count_where
from omnisync.core.dto import TrackingEvent as ReportedEvent
from omnisync.core.dto import TrackingInfo
from omnisync.core.errors import NotFound
from omnisync.core.models import Alert, Channel, Order, Shipment, TrackingEvent
from omnisync.core.order_status import rederive_order_status
from omnisync.core.types import AlertSeverity, OrderStatus, ShipmentStatus

RULE_CARRIER_EXCEPTION = "carrier_exception"
RULE_TRACKING_UNKNOWN = "tracking_unknown"
FINAL_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED_TO_SENDER})
TROUBLE_STATUSES = frozenset({ShipmentStatus.EXCEPTION, ShipmentStatus.RETURNED_TO_SENDER})
_NOT_SEEN = frozenset({ShipmentStatus.LABEL_CREATED, ShipmentStatus.UNKNOWN})
LISTED_SHIPMENTS_KEPT = 200
"""Parcels an alert lists at most (the oldest drop off; the count keeps going)."""
_CODE_LENGTH = 100
_LOCATION_LENGTH = 300


@dataclass(frozen=True)
class TrackingResult:
    """What applying one carrier answer did to one shipment."""

    shipment_id: int
    status: ShipmentStatus
    new_events: int = 0
    delivered: bool = False
    """The shipment became delivered with this answer."""
    order_delivered: bool = False
    trouble: bool = False
    """The shipment entered exception or returned_to_sender with this answer."""
    unknown: bool = False
    """The carrier does not know the number."""
    unknown_alerted: bool = False
    """The number has now been unknown too long and was added to the tracking_unknown alert."""


def shipments_to_track(
    session: Session, carrier_channel_id: int, *, after_id: int = 0, limit: int = 100
) -> list[Shipment]:
    """Shipments the carrier channel tracks that may still change, by id (keyset pages)."""
    return list(
        session.exec(
            select(Shipment)
            .where(
                Shipment.carrier_channel_id == carrier_channel_id,
                col(Shipment.status).not_in(list(FINAL_STATUSES)),
                col(Shipment.id) > after_id,
            )
            .order_by(col(Shipment.id))
            .limit(limit)
        )
    )


def apply_tracking(
    session: Session,
    shipment_id: int,
    info: TrackingInfo,
    *,
    unknown_after: timedelta,
    now: datetime | None = None,
) -> TrackingResult:
    """Apply the carrier's answer `info` to the shipment, in the caller's transaction."""
    now = now or clock_of(session).now()
    shipment = session.exec(
        select(Shipment)
        .where(Shipment.id == shipment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    asked_before, shipment.tracked_at = shipment.tracked_at, now
    if not info.found:
        return _unknown(session, shipment, info, asked_before, unknown_after, now)

    was_unknown = shipment.unknown_since is not None
    shipment.unknown_since = None
    shipment.tracking_message = info.message
    if info.tracking_url and not shipment.tracking_url:
        shipment.tracking_url = info.tracking_url
    new_events = _store_events(session, shipment, info.events, now)
    previous = shipment.status
    status = _next_status(previous, _reported_status(info))
    shipment.status = status
    delivered = status == ShipmentStatus.DELIVERED and previous != status
    if delivered:
        shipment.delivered_at = info.delivered_at or _delivered_event_at(info.events) or now
    session.add(shipment)
    session.flush()

    if was_unknown:
        _unlist(session, RULE_TRACKING_UNKNOWN, shipment, _unknown_message)
    trouble = status in TROUBLE_STATUSES and previous != status
    if trouble:
        _list(session, RULE_CARRIER_EXCEPTION, shipment, _trouble_message)
    elif previous in TROUBLE_STATUSES and status not in TROUBLE_STATUSES:
        _unlist(session, RULE_CARRIER_EXCEPTION, shipment, _trouble_message)
    # Only a delivery can change what the order's status derives to (core/order_status.py):
    # the order's row is locked for that alone, as it always was.
    order_delivered = delivered and _order_delivered_now(session, shipment.order_id, now)
    return TrackingResult(
        shipment_id=shipment_id,
        status=status,
        new_events=new_events,
        delivered=delivered,
        order_delivered=order_delivered,
        trouble=trouble,
    )


def _unknown(
    session: Session,
    shipment: Shipment,
    info: TrackingInfo,
    asked_before: datetime | None,
    unknown_after: timedelta,
    now: datetime,
) -> TrackingResult:
    if shipment.unknown_since is None:
        # Never known yet: unknown since the label was made. Known at the last ask: since now.
        shipment.unknown_since = shipment.shipped_at if asked_before is None else now
    shipment.tracking_message = info.message
    session.add(shipment)
    session.flush()
    alerted = False
    if now - shipment.unknown_since >= unknown_after:
        alerted = _list(session, RULE_TRACKING_UNKNOWN, shipment, _unknown_message)
    return TrackingResult(
        shipment_id=shipment.id or 0,
        status=shipment.status,
        unknown=True,
        unknown_alerted=alerted,
    )


def _store_events(
    session: Session, shipment: Shipment, events: Sequence[ReportedEvent], now: datetime
) -> int:
    seen = {
        (ensure_utc(at), code)
        for at, code in session.exec(
            select(TrackingEvent.at, TrackingEvent.code).where(
                TrackingEvent.shipment_id == shipment.id
            )
        )
    }
    stored = 0
    for event in events:
        key = (ensure_utc(event.at), event.code[:_CODE_LENGTH])
        if key in seen:
            continue
        seen.add(key)
        session.add(
            TrackingEvent(
                shipment_id=shipment.id or 0,
                at=key[0],
                code=key[1],
                description=event.description,
                location=event.location[:_LOCATION_LENGTH] if event.location else None,
                status=event.status,
                recorded_at=now,
            )
        )
        stored += 1
    return stored


def _reported_status(info: TrackingInfo) -> ShipmentStatus:
    """The carrier's overall status, else that of its latest event that says one."""
    if info.status != ShipmentStatus.UNKNOWN:
        return info.status
    for event in sorted(info.events, key=lambda item: item.at, reverse=True):
        if event.status != ShipmentStatus.UNKNOWN:
            return event.status
    return ShipmentStatus.UNKNOWN


def _next_status(previous: ShipmentStatus, reported: ShipmentStatus) -> ShipmentStatus:
    if previous in FINAL_STATUSES or reported == ShipmentStatus.UNKNOWN:
        return previous
    if reported == ShipmentStatus.LABEL_CREATED and previous not in _NOT_SEEN:
        return previous
    return reported


def _delivered_event_at(events: Sequence[ReportedEvent]) -> datetime | None:
    moments = [event.at for event in events if event.status == ShipmentStatus.DELIVERED]
    return ensure_utc(max(moments)) if moments else None


def _order_delivered_now(session: Session, order_id: int, now: datetime) -> bool:
    """Derive the status of the parcel's order again (core/order_status.py); True when
    that made it delivered."""
    order = session.exec(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if order is None or not rederive_order_status(session, order):
        return False
    # updated_at stays the channel's own change time (see core/shipping.py).
    order.modified_at = now
    session.add(order)
    session.flush()
    return order.status == OrderStatus.DELIVERED


# alerts ----------------------------------------------------------------------------

MessageFor = Callable[[str, list[dict[str, Any]]], str]


def _entry(session: Session, shipment: Shipment) -> dict[str, Any]:
    order_ref = session.exec(
        select(Channel.name, Order.external_id)
        .join(Order, col(Order.channel_id) == Channel.id)
        .where(Order.id == shipment.order_id)
    ).first()
    return {
        "shipment_id": shipment.id,
        "order_id": shipment.order_id,
        "order": f"{order_ref[0]}:{order_ref[1]}" if order_ref else str(shipment.order_id),
        "tracking_number": shipment.tracking_number,
        "status": shipment.status.value,
        "message": shipment.tracking_message,
    }


def _listed(details: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [dict(item) for item in (details or {}).get("shipments") or []]


def _list(session: Session, rule: str, shipment: Shipment, message: MessageFor) -> bool:
    """Add the shipment to the rule's alert of its carrier channel (opening or counting it);
    False when it is already listed as it is now."""
    channel_id = shipment.carrier_channel_id
    entry = _entry(session, shipment)
    alert = current_alert(session, rule, channel_id)
    listed = _listed(alert.details) if alert else []
    if any(
        item["shipment_id"] == shipment.id and item["status"] == entry["status"] for item in listed
    ):
        return False
    listed = [item for item in listed if item["shipment_id"] != shipment.id]
    listed = [*listed, entry][-LISTED_SHIPMENTS_KEPT:]
    open_alert(
        session,
        rule,
        channel_id,
        message(_carrier_name(session, channel_id), listed),
        severity=_severity(listed),
        details={**entry, "shipments": listed},
    )
    return True


def _unlist(session: Session, rule: str, shipment: Shipment, message: MessageFor) -> None:
    """Take the shipment off the rule's alert; resolve the alert when nothing is left."""
    channel_id = shipment.carrier_channel_id
    alert = current_alert(session, rule, channel_id)
    if alert is None:
        return
    listed = _listed(alert.details)
    remaining = [item for item in listed if item["shipment_id"] != shipment.id]
    if len(remaining) == len(listed):
        return
    if not remaining:
        resolve_alert(session, rule, channel_id)
        return
    alert.details = {**remaining[-1], "shipments": remaining}
    alert.message = message(_carrier_name(session, channel_id), remaining)
    alert.severity = _severity(remaining)
    session.add(alert)
    session.flush()


def still_unknown_count(session: Session, alert: Alert) -> int:
    """How many parcels the tracking_unknown `alert` lists that the carrier still does not
    know: the tracking job lists each again on its next run."""
    listed = [item["shipment_id"] for item in _listed(alert.details)]
    return count_where(
        session,
        Shipment,
        col(Shipment.id).in_(listed),
        col(Shipment.unknown_since).is_not(None),
        col(Shipment.status).not_in(list(FINAL_STATUSES)),
    )


def _severity(listed: list[dict[str, Any]]) -> AlertSeverity:
    returned = ShipmentStatus.RETURNED_TO_SENDER.value
    if any(item["status"] == returned for item in listed):
        return AlertSeverity.CRITICAL
    return AlertSeverity.WARNING


def _carrier_name(session: Session, channel_id: int | None) -> str:
    channel = session.get(Channel, channel_id) if channel_id is not None else None
    return channel.name if channel is not None else "carrier"


def _trouble_message(carrier: str, listed: list[dict[str, Any]]) -> str:
    latest = listed[-1]
    said = f": {latest['message']}" if latest.get("message") else ""
    others = f" ({len(listed)} parcels in trouble)" if len(listed) > 1 else ""
    status = str(latest["status"]).replace("_", " ")
    return (
        f"{carrier}: parcel {latest['tracking_number']} of order {latest['order']} "
        f"is {status}{said}{others}"
    )


def _unknown_message(carrier: str, listed: list[dict[str, Any]]) -> str:
    latest = listed[-1]
    others = f" ({len(listed)} numbers unknown)" if len(listed) > 1 else ""
    return (
        f"{carrier}: the carrier does not know tracking number {latest['tracking_number']} "
        f"of order {latest['order']}; check the number{others}"
    )
