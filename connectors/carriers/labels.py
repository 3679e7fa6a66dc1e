"""Rates and labels in karrio's words and back: a LabelRequest as karrio's RateRequest or
ShipmentRequest, and karrio's answer as ShippingRates, a PurchasedLabel, or our error.

Units: karrio takes the parcel in KG and CM as the hub keeps it, and converts it to what
each carrier wants. Every failure is read as tracking's are (mapping.py
:func:`~connectors.carriers.mapping.call_failure` first), with one more rule for a label:
a label request that may have reached the carrier without the hub reading its answer
(no answer after it was sent, a gateway's 502 or 504 in the carrier's stead, or an
answer the carrier gave that karrio could not read) is :class:`LabelUncertain`, which is
never retried: the carrier may have sold a label, and asking again would buy a second
one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final, NoReturn

from omnisync.connectors.base import ConnectorError, PermanentError, TransientError
from omnisync.connectors.carriers.karrio_http import Exchange
from omnisync.connectors.carriers.mapping import KARRIO_OWN_CODES, KarrioAnswer, describe
from omnisync.connectors.carriers.profiles import CarrierProfile
from omnisync.core.dto import Address, LabelRequest, PurchasedLabel, ShippingRate

LABEL_FORMATS: Final = {"PDF": "PDF", "ZPL": "ZPL", "ZPLII": "ZPL"}
"""karrio's label types (FedEx says ZPLII) as the hub names the formats it keeps."""
NOT_SENT: Final = ("ConnectionRefusedError", "gaierror", "SSLCertVerificationError", "SSLError")
"""Transport failures that happen before a request leaves: nothing can have been sold."""
GATEWAY_LOST: Final = (502, 504)
"""A gateway's answers for a carrier that failed or did not answer it in time: the
carrier may have sold the label all the same."""
CHECK_ACCOUNT: Final = (
    "a label may have been bought: look in the carrier's account before buying another"
)


class LabelUncertain(ConnectorError):
    """The carrier may have sold a label the hub never heard of: not retried."""


def karrio_address(address: Address) -> dict[str, Any]:
    return {
        "person_name": address.name or None,
        "company_name": address.company,
        "address_line1": address.street1,
        "address_line2": address.street2,
        "city": address.city,
        "state_code": address.state_code,
        "postal_code": address.postal_code or None,
        "country_code": address.country_code.upper(),
        "phone_number": address.phone,
        "email": address.email,
    }


def karrio_parcel(request: LabelRequest) -> dict[str, Any]:
    parcel = request.parcel
    sized = {
        "length": parcel.length_cm,
        "width": parcel.width_cm,
        "height": parcel.height_cm,
    }
    dimensions = (
        {name: float(value) for name, value in sized.items() if value is not None}
        if all(value is not None for value in sized.values())
        else {}
    )
    return {
        "weight": float(parcel.weight_kg),
        "weight_unit": "KG",
        **dimensions,
        **({"dimension_unit": "CM"} if dimensions else {}),
        "reference_number": request.reference or None,
    }


def rate_request(models: Any, request: LabelRequest) -> Any:
    """karrio's RateRequest: every service (the carriers quote them all in one answer)."""
    return models.RateRequest(
        shipper=karrio_address(request.shipper),
        recipient=karrio_address(request.recipient),
        parcels=[karrio_parcel(request)],
        services=[],
        reference=request.reference,
    )


def shipment_request(models: Any, request: LabelRequest) -> Any:
    """karrio's ShipmentRequest for the service named (`request.service` must be set)."""
    return models.ShipmentRequest(
        service=request.service,
        shipper=karrio_address(request.shipper),
        recipient=karrio_address(request.recipient),
        parcels=[karrio_parcel(request)],
        payment={"paid_by": "sender"},
        label_type=request.label_format.upper(),
        reference=request.reference,
    )


def shipping_rates(
    provider: str, profile: CarrierProfile, request: LabelRequest, answer: KarrioAnswer
) -> list[ShippingRate]:
    """The services quoted, cheapest first (only `request.service` when it names one);
    raises when the carrier refused or karrio failed (call :func:`call_failure` first)."""
    if not answer.details:
        _refusal(provider, profile, answer, "quoted no service for this parcel")
    rates = [
        ShippingRate(
            service=str(detail.service),
            price=_money(detail.total_charge),
            currency=detail.currency or None,
            transit_days=detail.transit_days,
        )
        for detail in answer.details
        if request.service is None or detail.service == request.service
    ]
    if not rates:
        quoted = ", ".join(sorted(str(detail.service) for detail in answer.details))
        raise PermanentError(
            f"{provider}: no rate for service {request.service!r} (quoted: {quoted})"
        )
    return sorted(rates, key=_cheapest_first)


def cheapest(rates: Sequence[ShippingRate]) -> ShippingRate:
    return min(rates, key=_cheapest_first)


def purchased_label(
    provider: str, profile: CarrierProfile, request: LabelRequest, answer: KarrioAnswer
) -> PurchasedLabel:
    """The label sold; raises when the carrier refused, or when it may have sold one the
    answer does not show (call :func:`call_failure` first)."""
    if not answer.details:
        unread = _unread(answer)
        if unread is not None and _label_request_answered(profile, answer):
            raise LabelUncertain(
                f"{provider}: the carrier answered the label request but its answer could "
                f"not be read ({unread}): {CHECK_ACCOUNT}"
            )
        _refusal(provider, profile, answer, "sold no label and said nothing")
    (details,) = answer.details
    number = str(details.tracking_number or "").strip()
    document = _document(getattr(details.docs, "label", None))
    if not number or document is None:
        what = f"label {number}" if number else "a label"
        raise LabelUncertain(
            f"{provider}: the carrier sold {what} without a tracking number or a readable "
            f"document: {CHECK_ACCOUNT}"
        )
    label_format = LABEL_FORMATS.get(str(details.label_type or request.label_format).upper())
    return PurchasedLabel(
        tracking_number=number,
        label=document,
        label_format=label_format or request.label_format.upper(),
        service=request.service,
        carrier_shipment_id=str(details.shipment_identifier or number),
    )


def uncertain_label(profile: CarrierProfile, answer: KarrioAnswer) -> str | None:
    """Why the label request may have sold a label unseen: it went out and no answer
    came back. None when it certainly did not (refused before sending, or answered)."""
    for exchange in answer.exchanges:
        if profile.is_label_request(exchange.path) and _lost(exchange):
            why = exchange.failure or f"HTTP {exchange.status} from a gateway"
            return f"{exchange.method} {exchange.path}: {why}"
    return None


def _lost(exchange: Exchange) -> bool:
    if exchange.status in GATEWAY_LOST:
        return True
    return exchange.status is None and not str(exchange.failure or "").startswith(NOT_SENT)


def _unread(answer: KarrioAnswer) -> str | None:
    """Why karrio could not read an answer (its fault, or errors of its own rather than
    the carrier's); None when it read one."""
    if answer.fault:
        return answer.fault
    own = [describe(item) for item in answer.messages if _is_karrio_own(item)]
    return "; ".join(own) or None


def _label_request_answered(profile: CarrierProfile, answer: KarrioAnswer) -> bool:
    return any(
        profile.is_label_request(exchange.path)
        and exchange.status is not None
        and exchange.status < 300
        for exchange in answer.exchanges
    )


def _refusal(
    provider: str, profile: CarrierProfile, answer: KarrioAnswer, silence: str
) -> NoReturn:
    """Raise the carrier's refusal in its words: PermanentError when it refused the request
    (a 4xx answer), else TransientError (karrio failed, or an answer it could not read)."""
    words = [describe(message) for message in answer.messages if _is_error(message)]
    if answer.fault:
        words.append(answer.fault)
    text = f"{provider}: {'; '.join(words) or silence}"
    refused = any(
        exchange.status is not None and 400 <= exchange.status < 500
        for exchange in answer.requests(profile)
    )
    if refused or (words and not answer.fault):
        raise PermanentError(text)
    raise TransientError(text)


def _is_error(message: Any) -> bool:
    return str(message.level or "error").lower() == "error"


def _is_karrio_own(message: Any) -> bool:
    return str(message.code or "").startswith(KARRIO_OWN_CODES)


def _document(encoded: Any) -> bytes | None:
    if not isinstance(encoded, str) or not encoded.strip():
        return None
    try:
        return base64.b64decode(encoded, validate=False) or None
    except (binascii.Error, ValueError):
        return None


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _cheapest_first(rate: ShippingRate) -> tuple[bool, Decimal, str]:
    return (rate.price is None, rate.price or Decimal(0), rate.service)
