"""UPS's Rating and Shipping APIs as the carrier simulator speaks them (v2409, JSON).

``POST /api/rating/{version}/{option}`` takes ``{"RateRequest": {"Request", "Shipment":
{"Shipper", "ShipTo", "ShipFrom", "Service"?, "Package": [...]}}}``; option ``Shop``
(every service between the two addresses, what karrio asks) or ``Rate`` (the one
``Service.Code``), either with ``timeintransit`` (in the option or as
``?additionalinfo=timeintransit``). It answers ``{"RateResponse": {"Response",
"RatedShipment": [{"Service": {"Code"}, "BillingWeight", "TransportationCharges",
"BaseServiceCharge", "ServiceOptionsCharges", "TotalCharges", "ItemizedCharges",
"TimeInTransit": {"ServiceSummary": {"EstimatedArrival": {"BusinessDaysInTransit"}}}}]}}``.

``POST /api/shipments/{version}/ship`` takes ``{"ShipmentRequest": {"Request",
"Shipment": {"Shipper": {"ShipperNumber", "Name", "Address"}, "ShipTo", "ShipFrom",
"PaymentInformation", "Service": {"Code"}, "Package": [{"PackageWeight": {"UnitOfMeasurement":
{"Code": "KGS"|"LBS"}, "Weight"}}]}, "LabelSpecification": {"LabelImageFormat": {"Code":
"PNG"|"ZPL"}}}}`` and answers ``{"ShipmentResponse": {"Response", "ShipmentResults":
{"ShipmentCharges", "BillingWeight", "ShipmentIdentificationNumber", "PackageResults":
[{"TrackingNumber", "ShippingLabel": {"ImageFormat": {"Code"}, "GraphicImage"}}]}}}``:
one tracking number per package, its label base64-encoded (a PNG image, which karrio
turns into a PDF, or ZPL text).

Refusals are UPS's error envelope ``{"response": {"errors": [{"code", "message"}]}}``
with status 400. The codes UPS documents are used where known (120100 shipper number,
120206 ship-to state, asked of the shipper only here as 120106: shipping.py
POSTAL_COUNTRIES; 120601 package weight, 111100 service, 111031 rating weight); the
others follow UPS's numbering (1201xx shipper, 1202xx ship to) but are the simulator's.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from omnisync.sandbox.carriers import ups
from omnisync.sandbox.carriers.auth import UPS_ACCOUNT_NUMBER
from omnisync.sandbox.carriers.documents import label_png, label_zpl
from omnisync.sandbox.carriers.shipping import (
    JSON,
    POSTAL_COUNTRIES,
    Answer,
    BoughtLabel,
    LabelOrder,
    Party,
    Refused,
    Service,
    currency_of,
    first_line,
    obj,
    services_between,
    text,
    weight_in_kg,
)

RATE_PATH: Final = "/api/rating/{version}/{option}"
SHIP_PATH: Final = "/api/shipments/{version}/ship"
RATE_OPTIONS: Final = frozenset({"rate", "shop", "ratetimeintransit", "shoptimeintransit"})
LABEL_FORMATS: Final = frozenset({"PNG", "ZPL"})
"""The label images the simulator prints (UPS also prints GIF, EPL and SPL)."""

_D = Decimal
SERVICES: Final[tuple[Service, ...]] = (
    Service("03", "UPS Ground", _D("8.90"), _D("1.10"), 5, frozenset({"us"})),
    Service("12", "UPS 3 Day Select", _D("14.50"), _D("1.90"), 3, frozenset({"us"})),
    Service("02", "UPS 2nd Day Air", _D("21.75"), _D("2.80"), 2, frozenset({"us"})),
    Service("01", "UPS Next Day Air", _D("42.00"), _D("4.60"), 1, frozenset({"us"})),
    Service(
        "11", "UPS Standard", _D("11.20"), _D("1.40"), 4, frozenset({"domestic", "international"})
    ),
    Service(
        "08", "UPS Worldwide Expedited", _D("38.00"), _D("6.10"), 4, frozenset({"international"})
    ),
    Service(
        "65", "UPS Saver", _D("29.40"), _D("4.90"), 2, frozenset({"domestic", "international"})
    ),
    Service(
        "07", "UPS Express", _D("46.80"), _D("7.20"), 1, frozenset({"domestic", "international"})
    ),
)


def refusal(code: str, message: str) -> Refused:
    return Refused((400, ups.errors(code, message)))


# rating ------------------------------------------------------------------------------------


def rate_answer(body: Any, option: str, now: datetime) -> Answer:
    """POST /api/rating/{version}/{option}."""
    try:
        return 200, _rated(body, option, now)
    except Refused as refused:
        return refused.answer


def _rated(body: Any, option: str, now: datetime) -> JSON:
    if option.lower() not in RATE_OPTIONS:
        raise refusal("111500", f"Invalid request option {option!r}: use Rate or Shop")
    shipment = _part(_part(body, "RateRequest", "111001"), "Shipment", "111001")
    shipper = _rating_address(shipment.get("Shipper"), "shipper")
    recipient = _rating_address(shipment.get("ShipTo"), "ship to")
    weights = _weights(shipment.get("Package"), "111031", "Packages must weigh more than zero kg.")
    total = sum(weights, Decimal(0))
    offered = services_between(SERVICES, shipper[0], recipient[0])
    if option.lower().startswith("rate"):
        code = text(obj(shipment.get("Service")).get("Code"))
        offered = tuple(service for service in offered if service.code == code)
        if not offered:
            raise _no_service(code)
    currency = currency_of(shipper[0])
    return {
        "RateResponse": {
            "Response": _success(shipment_context(body, "RateRequest")),
            "RatedShipment": [
                _rated_shipment(service, total, currency, now) for service in offered
            ],
        }
    }


def _rated_shipment(service: Service, weight_kg: Decimal, currency: str, now: datetime) -> JSON:
    price = service.price(weight_kg)
    days = str(service.transit_days)
    return {
        "Service": {"Code": service.code, "Description": ""},
        "BillingWeight": _billing_weight(weight_kg),
        "TransportationCharges": _money(price, currency),
        "BaseServiceCharge": _money(price, currency),
        "ServiceOptionsCharges": _money(Decimal("0.00"), currency),
        "TotalCharges": _money(price, currency),
        "ItemizedCharges": [],
        "GuaranteedDelivery": {"BusinessDaysInTransit": days},
        "TimeInTransit": {
            "PickupDate": now.strftime("%Y%m%d"),
            "ServiceSummary": {
                "Service": {"Description": service.name},
                "EstimatedArrival": {"BusinessDaysInTransit": days},
            },
        },
    }


def _rating_address(party: Any, who: str) -> tuple[str, str]:
    address = party.get("Address") if isinstance(party, dict) else None
    if not isinstance(address, dict):
        raise refusal("111285", f"Missing {who} address")
    country = text(address.get("CountryCode")).upper()
    postal_code = text(address.get("PostalCode"))
    if len(country) != 2:
        raise refusal("111286", f"Missing or invalid {who} country code")
    if country in POSTAL_COUNTRIES and not postal_code:
        raise refusal("111285", f"The {who} postal code is missing or invalid for {country}")
    return country, postal_code


# shipping ----------------------------------------------------------------------------------


def read_shipment(body: Any) -> LabelOrder:
    """The label order a ship request makes; raises :class:`Refused` as UPS refuses it."""
    request = _part(body, "ShipmentRequest", "120001")
    shipment = _part(request, "Shipment", "120001")
    shipper_part = shipment.get("Shipper")
    if text(obj(shipper_part).get("ShipperNumber")) != UPS_ACCOUNT_NUMBER:
        raise refusal("120100", "Missing or invalid shipper number")
    shipper = _party(shipper_part, "shipper", "1201", needs_state=True)
    recipient = _party(shipment.get("ShipTo"), "ship to", "1202", needs_state=False)
    weights = _weights(shipment.get("Package"), "120601", "Missing or invalid package weight")
    code = text(obj(shipment.get("Service")).get("Code"))
    service = next(
        (
            service
            for service in services_between(SERVICES, shipper.country, recipient.country)
            if service.code == code
        ),
        None,
    )
    if service is None:
        raise _no_service(code)
    image = obj(obj(request.get("LabelSpecification")).get("LabelImageFormat"))
    label_format = text(image.get("Code")).upper()
    if label_format not in LABEL_FORMATS:
        raise refusal(
            "120515",
            f"Invalid label image format {label_format or '(none)'}: the simulator prints "
            f"{' and '.join(sorted(LABEL_FORMATS))}",
        )
    return LabelOrder(
        service=service,
        shipper=shipper,
        recipient=recipient,
        weights_kg=tuple(weights),
        label_format=label_format,
        reference=shipment_context(body, "ShipmentRequest"),
    )


def ship_answer(order: LabelOrder, labels: Sequence[BoughtLabel]) -> Answer:
    """The answer to an accepted ship request, ``labels`` one per package."""
    currency = order.currency
    total = sum((label.price for label in labels), Decimal(0))
    return 200, {
        "ShipmentResponse": {
            "Response": _success(order.reference),
            "ShipmentResults": {
                "ShipmentCharges": {
                    "TransportationCharges": _money(total, currency),
                    "ServiceOptionsCharges": _money(Decimal("0.00"), currency),
                    "TotalCharges": _money(total, currency),
                },
                "BillingWeight": _billing_weight(sum(order.weights_kg, Decimal(0))),
                "ShipmentIdentificationNumber": labels[0].tracking_number,
                "PackageResults": [_package_result(order, label) for label in labels],
            },
        }
    }


def _package_result(order: LabelOrder, label: BoughtLabel) -> JSON:
    if order.label_format == "ZPL":
        document = label_zpl(label.printed_lines(order.service.name), label.tracking_number)
        image = document.encode()
    else:
        image = label_png(label.tracking_number)
    return {
        "TrackingNumber": label.tracking_number,
        "ServiceOptionsCharges": _money(Decimal("0.00"), order.currency),
        "ShippingLabel": {
            "ImageFormat": {"Code": order.label_format, "Description": order.label_format},
            "GraphicImage": base64.b64encode(image).decode("ascii"),
        },
    }


def _party(party: Any, who: str, family: str, *, needs_state: bool) -> Party:
    """A shipper's or ship-to's name and address, each field as UPS requires it (the
    state: see shipping.py POSTAL_COUNTRIES)."""
    if not isinstance(party, dict):
        raise refusal(f"{family}00", f"Missing or invalid {who} name")
    address = obj(party.get("Address"))
    name = text(party.get("Name")) or text(party.get("AttentionName"))
    country = text(address.get("CountryCode")).upper()
    fields = {
        "name": (name, f"{family}00", "name"),
        "street": (first_line(address.get("AddressLine")), f"{family}02", "address line 1"),
        "city": (text(address.get("City")), f"{family}03", "city"),
        "country": (country if len(country) == 2 else "", f"{family}05", "country code"),
    }
    for value, code, what in fields.values():
        if not value:
            raise refusal(code, f"Missing or invalid {who} {what}")
    state = text(address.get("StateProvinceCode"))
    postal_code = text(address.get("PostalCode"))
    if needs_state and country in POSTAL_COUNTRIES and not state:
        raise refusal(f"{family}06", f"Missing or invalid {who} StateProvinceCode")
    if country in POSTAL_COUNTRIES and not postal_code:
        raise refusal(f"{family}04", f"Missing or invalid {who} postal code")
    return Party(name, fields["street"][0], fields["city"][0], state, postal_code, country)


def _weights(packages: Any, code: str, message: str) -> list[Decimal]:
    if isinstance(packages, dict):
        packages = [packages]  # UPS takes one package as an object too
    if not isinstance(packages, list) or not packages:
        raise refusal(code, message)
    weights = []
    for package in packages:
        weight = obj(obj(package).get("PackageWeight"))
        kg = weight_in_kg(weight.get("Weight"), obj(weight.get("UnitOfMeasurement")).get("Code"))
        if kg is None:
            raise refusal(code, message)
        weights.append(kg)
    return weights


def _no_service(code: str) -> Refused:
    return refusal(
        "111100",
        f"The requested service ({code or 'none'}) is unavailable between the selected locations.",
    )


def shipment_context(body: Any, root: str) -> str:
    """The request's ``TransactionReference.CustomerContext`` (karrio: the order's name)."""
    reference = obj(obj(obj(obj(body).get(root)).get("Request")).get("TransactionReference"))
    return text(reference.get("CustomerContext"))


def _part(container: Any, key: str, code: str) -> JSON:
    part = container.get(key) if isinstance(container, dict) else None
    if not isinstance(part, dict):
        raise refusal(code, f"The request is missing {key}")
    return part


def _success(context: str) -> JSON:
    return {
        "ResponseStatus": {"Code": "1", "Description": "Success"},
        "TransactionReference": {"CustomerContext": context},
    }


def _money(amount: Decimal, currency: str) -> JSON:
    return {"CurrencyCode": currency, "MonetaryValue": str(amount)}


def _billing_weight(weight_kg: Decimal) -> JSON:
    return {
        "UnitOfMeasurement": {"Code": "KGS", "Description": "Kilograms"},
        "Weight": str(weight_kg.quantize(Decimal("0.1"))),
    }
