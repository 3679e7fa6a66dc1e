"""karrio's tracking answer in the hub's words: a TrackingInfo per number, or the call's error.

Pure functions over what karrio returned (TrackingDetails and Messages) and what the
transport saw (:class:`~connectors.carriers.karrio_http.Exchange`). karrio returns
every failure as a message, so each one ends up somewhere here, never dropped:

- the call's own failure, read from the HTTP statuses (karrio keeps them from its
  messages): a 401 or 403 is :class:`AuthError`, a 429 :class:`RateLimited`, no
  answer, a 5xx or a 408 :class:`TransientError` (the engine retries those), another
  refusal of the token request :class:`PermanentError`;
- a carrier's message about one number (FedEx names it; UPS and DHL are asked one
  number per request) goes with that number: a number without details is ``found=False`` with
  the carrier's words, and a parcel's warnings go in its ``message``;
- an error about none of the numbers fails the call: :class:`PermanentError` when the
  carrier refused the request (4xx), else :class:`TransientError` (an answer karrio
  could not read).

Statuses: karrio normalises each carrier's codes to its TrackingStatus names, mapped
to ShipmentStatus in :data:`STATUS_BY_KARRIO`; :data:`FOLDED_CODES` holds the few
carrier codes karrio folds into a coarser status than the code says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Final

from omnisync.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.carriers.karrio_http import Exchange
from omnisync.connectors.carriers.profiles import CarrierProfile
from omnisync.core.dto import TrackingEvent, TrackingInfo
from omnisync.core.types import ShipmentStatus

STATUS_BY_KARRIO: Final[Mapping[str, ShipmentStatus]] = {
    "pending": ShipmentStatus.LABEL_CREATED,
    "picked_up": ShipmentStatus.IN_TRANSIT,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "delivery_delayed": ShipmentStatus.IN_TRANSIT,  # late, still moving
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "ready_for_pickup": ShipmentStatus.OUT_FOR_DELIVERY,  # at a pickup point: the last leg
    "delivered": ShipmentStatus.DELIVERED,
    "on_hold": ShipmentStatus.EXCEPTION,
    "delivery_failed": ShipmentStatus.EXCEPTION,
    "cancelled": ShipmentStatus.EXCEPTION,  # the label was voided: someone has to look
    "return_to_sender": ShipmentStatus.RETURNED_TO_SENDER,
    "unknown": ShipmentStatus.UNKNOWN,
}
"""Every name of karrio's TrackingStatus (karrio.core.units), to ours."""

FOLDED_CODES: Final[Mapping[tuple[str, str], ShipmentStatus]] = {
    # karrio reads UPS's status type first, and UPS types these scans "I" (in
    # progress) or "X" (exception): the code is the more precise word.
    ("ups", "OT"): ShipmentStatus.OUT_FOR_DELIVERY,
    ("ups", "RS"): ShipmentStatus.RETURNED_TO_SENDER,
    # karrio's DHL table has no pre-transit: a label DHL has not seen a parcel for yet.
    ("dhl_universal", "pre-transit"): ShipmentStatus.LABEL_CREATED,
}


@dataclass(frozen=True)
class KarrioAnswer:
    """What one call into karrio (Tracking, Rating, Shipment) gave, and the requests it
    made for it."""

    details: tuple[Any, ...] = ()
    """karrio TrackingDetails (one per parcel the carrier knows), RateDetails (one per
    service quoted) or the one ShipmentDetails of a label sold."""
    messages: tuple[Any, ...] = ()
    """karrio Messages: errors and warnings, in the carrier's words."""
    exchanges: tuple[Exchange, ...] = ()
    fault: str | None = None
    """What karrio raised instead of answering (it is meant to answer with messages)."""

    def requests(self, profile: CarrierProfile) -> list[Exchange]:
        """The exchanges that say how the call went (not karrio's side errands)."""
        return [exchange for exchange in self.exchanges if not profile.is_errand(exchange.path)]


NO_ANSWER: Final = "the carrier said nothing about this number"
KARRIO_OWN_CODES: Final = "SHIPPING_SDK_"
"""The prefix of the codes karrio gives its own errors (karrio.core.errors)."""
DEFAULT_RETRY_AFTER_S: Final = 1.0
REFUSED: Final = (401, 403)
DOWN: Final = (408,)


def call_failure(
    provider: str, profile: CarrierProfile, answer: KarrioAnswer
) -> ConnectorError | None:
    """The error of the whole call, from the requests karrio made; None if it went through."""
    relevant = answer.requests(profile)
    words = "; ".join(describe(message) for message in answer.messages)
    for exchange in relevant:
        if exchange.status in REFUSED:
            return AuthError(_failure_text(provider, exchange, words))
    for exchange in relevant:
        if exchange.status == 429:
            return RateLimited(
                _failure_text(provider, exchange, words),
                exchange.retry_after if exchange.retry_after is not None else DEFAULT_RETRY_AFTER_S,
            )
    for exchange in relevant:
        if exchange.status is None or exchange.status >= 500 or exchange.status in DOWN:
            return TransientError(_failure_text(provider, exchange, words))
    for exchange in relevant:
        refused = exchange.status is not None and exchange.status >= 400
        if refused and profile.is_token_request(exchange.path):
            return PermanentError(_failure_text(provider, exchange, words))
    return None


def tracking_infos(
    provider: str, profile: CarrierProfile, numbers: Sequence[str], answer: KarrioAnswer
) -> list[TrackingInfo]:
    """One TrackingInfo per number asked, in order (call :func:`call_failure` first)."""
    details = answer.details
    by_number = {str(detail.tracking_number): detail for detail in details}
    if len(numbers) == 1 and len(details) == 1:
        # One number asked, one parcel answered: the carrier may spell the number its way.
        by_number[numbers[0]] = details[0]
    notes: dict[str, list[str]] = {number: [] for number in numbers}
    general_notes: list[str] = []
    general_errors: list[str] = [answer.fault] if answer.fault else []
    for message in answer.messages:
        number = _number_of(message, numbers)
        if number is not None:
            notes[number].append(describe(message))
        elif _is_error(message):
            general_errors.append(describe(message))
        else:
            general_notes.append(describe(message))
    if general_errors:
        text = f"{provider}: {'; '.join(general_errors)}"
        requests = answer.requests(profile)
        refused = any(e.status is not None and 400 <= e.status < 500 for e in requests)
        raise PermanentError(text) if refused else TransientError(text)
    infos = []
    for number in numbers:
        detail = by_number.get(number)
        if detail is None:
            infos.append(unknown_number(number, notes[number]))
        else:
            infos.append(tracking_info(provider, number, detail, [*notes[number], *general_notes]))
    return infos


def unknown_number(number: str, notes: Sequence[str]) -> TrackingInfo:
    return TrackingInfo(
        tracking_number=number,
        found=False,
        status=ShipmentStatus.UNKNOWN,
        message="; ".join(notes) or NO_ANSWER,
    )


def tracking_info(provider: str, number: str, detail: Any, notes: Sequence[str]) -> TrackingInfo:
    """A parcel the carrier knows. karrio lists events as the carriers do, newest first."""
    carrier_events = list(detail.events or [])
    events: list[TrackingEvent] = []
    unreadable = 0
    for event in reversed(carrier_events):
        at = event_time(event)
        if at is None:
            unreadable += 1
            continue
        events.append(
            TrackingEvent(
                at=at,
                code=str(event.code or ""),
                description=str(event.description or "").strip(),
                location=event.location or None,
                status=event_status(provider, event),
            )
        )
    events.sort(key=lambda event: event.at)  # stable: the carrier's order stays on ties
    status = parcel_status(provider, detail)
    delivered_at = None
    if status is ShipmentStatus.DELIVERED and events:
        delivered = [event.at for event in events if event.status is ShipmentStatus.DELIVERED]
        delivered_at = max(delivered) if delivered else events[-1].at
    if unreadable:
        notes = [*notes, f"{unreadable} scan(s) without a readable time left out"]
    info = getattr(detail, "info", None)
    return TrackingInfo(
        tracking_number=number,
        found=True,
        status=status,
        events=tuple(events),
        delivered_at=delivered_at,
        estimated_delivery=_day(detail.estimated_delivery),
        tracking_url=getattr(info, "carrier_tracking_link", None),
        message="; ".join(notes) or None,
    )


def parcel_status(provider: str, detail: Any) -> ShipmentStatus:
    if detail.delivered:
        return ShipmentStatus.DELIVERED
    latest = next(iter(detail.events or []), None)
    folded = FOLDED_CODES.get((provider, str(latest.code))) if latest is not None else None
    return folded or karrio_status(detail.status)


def event_status(provider: str, event: Any) -> ShipmentStatus:
    return FOLDED_CODES.get((provider, str(event.code))) or karrio_status(event.status)


def karrio_status(name: str | None) -> ShipmentStatus:
    return STATUS_BY_KARRIO.get(name or "unknown", ShipmentStatus.UNKNOWN)


def event_time(event: Any) -> datetime | None:
    """When a scan happened. karrio gives the carrier's local time marked as UTC (it drops
    the offset FedEx and UPS send), or the date alone."""
    for reading in (_moment(event.timestamp), _day(event.date)):
        if reading is not None:
            return reading
    return None


def describe(message: Any) -> str:
    code = str(message.code or "").strip()
    text = str(message.message or "").strip()
    if code and text:
        return f"{code}: {text}"
    return code or text or "no detail given"


def _number_of(message: Any, numbers: Sequence[str]) -> str | None:
    if str(message.code or "").startswith(KARRIO_OWN_CODES):
        return None  # karrio's own failure (an answer it could not read): not the number's
    details = message.details if isinstance(message.details, Mapping) else {}
    named = details.get("tracking_number")
    if named in numbers:
        return str(named)
    return numbers[0] if len(numbers) == 1 else None


def _is_error(message: Any) -> bool:
    return str(message.level or "error").lower() == "error"


def _failure_text(provider: str, exchange: Exchange, words: str) -> str:
    what = f"HTTP {exchange.status}" if exchange.status is not None else exchange.failure
    text = f"{provider}: {exchange.method} {exchange.path}: {what}"
    return f"{text}: {words}" if words else text


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()[:10]), time(), tzinfo=UTC)
    except ValueError:
        return None
