"""FedEx's Rate and Ship APIs as the carrier simulator speaks them (v1, JSON).

Both need a token of the Ship API project's key pair (scope ``ship``, auth.py); a
Track API token is refused with 403 ``FORBIDDEN.ERROR``, as a project without these
APIs is. Both name the account billed: ``accountNumber.value``.

``POST /rate/v1/rates/quotes`` takes ``{"accountNumber", "requestedShipment":
{"shipper": {"address"}, "recipient": {"address"}, "serviceType"?,
"requestedPackageLineItems": [{"weight": {"units": "KG"|"LB", "value"}}]}}`` and answers
``{"transactionId", "output": {"rateReplyDetails": [{"serviceType", "serviceName",
"ratedShipmentDetails": [{"rateType": "ACCOUNT", "totalBaseCharge", "totalNetCharge",
"currency", "shipmentRateDetail"}], "operationalDetail": {"commitDate",
"transitTime"}}]}}``: every service between the two addresses, or the one asked.

``POST /ship/v1/shipments`` takes ``{"accountNumber", "labelResponseOptions": "LABEL",
"requestedShipment": {"shipper": {"address", "contact"}, "recipients": [{"address",
"contact"}], "serviceType", "shippingChargesPayment", "labelSpecification": {"imageType":
"PDF"|"ZPLII"}, "requestedPackageLineItems": [...]}}`` and answers ``{"transactionId",
"output": {"transactionShipments": [{"masterTrackingNumber", "serviceType",
"pieceResponses": [{"trackingNumber", "packageDocuments": [{"contentType": "LABEL",
"docType", "encodedLabel"}]}], "completedShipmentDetail"}]}}``: a 12-digit tracking
number per package, its label base64-encoded (a PDF, or ZPL II text).

Refusals are FedEx's ``{"transactionId", "errors": [{"code", "message"}]}`` with status
400; the codes are in FedEx's style (``SHIPPER.COUNTRY.INVALID`` is FedEx's own), the
rest are the simulator's.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from omnisync.sandbox.carriers import fedex
from omnisync.sandbox.carriers.auth import FEDEX_ACCOUNT_NUMBER
from omnisync.sandbox.carriers.documents import label_pdf, label_zpl
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

RATE_PATH: Final = "/rate/v1/rates/quotes"
SHIP_PATH: Final = "/ship/v1/shipments"
LABEL_FORMATS: Final = frozenset({"PDF", "ZPLII"})
"""The label documents the simulator prints (FedEx also prints PNG)."""

_D = Decimal
SERVICES: Final[tuple[Service, ...]] = (
    Service("FEDEX_GROUND", "FedEx Ground", _D("8.60"), _D("1.05"), 5, frozenset({"us"})),
    Service(
        "FEDEX_EXPRESS_SAVER", "FedEx Express Saver", _D("16.90"), _D("2.10"), 3, frozenset({"us"})
    ),
    Service("FEDEX_2_DAY", "FedEx 2Day", _D("22.40"), _D("2.90"), 2, frozenset({"us"})),
    Service(
        "STANDARD_OVERNIGHT",
        "FedEx Standard Overnight",
        _D("39.80"),
        _D("4.40"),
        1,
        frozenset({"us", "domestic"}),
    ),
    Service(
        "FEDEX_REGIONAL_ECONOMY",
        "FedEx Regional Economy",
        _D("12.30"),
        _D("1.50"),
        3,
        frozenset({"domestic"}),
    ),
    Service(
        "INTERNATIONAL_ECONOMY",
        "FedEx International Economy",
        _D("35.50"),
        _D("5.60"),
        5,
        frozenset({"international"}),
    ),
    Service(
        "FEDEX_INTERNATIONAL_PRIORITY",
        "FedEx International Priority",
        _D("52.00"),
        _D("7.80"),
        2,
        frozenset({"international"}),
    ),
)
GROUND: Final = frozenset({"FEDEX_GROUND"})


def refusal(code: str, message: str) -> Refused:
    return Refused((400, fedex.errors(code, message)))


def forbidden() -> Answer:
    return 403, fedex.errors(
        "FORBIDDEN.ERROR",
        "We could not authorize your credentials. Please check your permissions and try again.",
    )


# rating ------------------------------------------------------------------------------------


def rate_answer(body: Any, now: datetime) -> Answer:
    """POST /rate/v1/rates/quotes."""
    try:
        shipment = _shipment(body)
        shipper = _address(shipment.get("shipper"), "SHIPPER")
        recipient = _address(shipment.get("recipient"), "RECIPIENT")
        weights = _weights(shipment.get("requestedPackageLineItems"))
        offered = services_between(SERVICES, shipper[0], recipient[0])
        wanted = text(shipment.get("serviceType"))
        if wanted:
            offered = tuple(service for service in offered if service.code == wanted)
            if not offered:
                raise _no_service(wanted)
    except Refused as refused:
        return refused.answer
    total = sum(weights, Decimal(0))
    currency = currency_of(shipper[0])
    return 200, {
        "transactionId": str(uuid.uuid4()),
        "output": {
            "rateReplyDetails": [_reply(service, total, currency, now) for service in offered],
            "quoteDate": now.strftime("%Y-%m-%d"),
            "encoded": False,
        },
    }


def _reply(service: Service, weight_kg: Decimal, currency: str, now: datetime) -> JSON:
    price = service.price(weight_kg)
    commit = _business_days_after(now, service.transit_days)
    return {
        "serviceType": service.code,
        "serviceName": service.name,
        "packagingType": "YOUR_PACKAGING",
        "ratedShipmentDetails": [
            {
                "rateType": "ACCOUNT",
                "ratedWeightMethod": "ACTUAL",
                "totalDiscounts": 0,
                "totalBaseCharge": float(price),
                "totalNetCharge": float(price),
                "totalNetFedExCharge": float(price),
                "shipmentRateDetail": {
                    "rateZone": "5",
                    "totalSurcharges": 0,
                    "surCharges": [],
                    "currency": currency,
                },
                "currency": currency,
            }
        ],
        "operationalDetail": {
            "commitDate": commit.strftime("%Y-%m-%dT23:59:00"),
            "transitTime": f"{service.transit_days}_DAYS",
        },
    }


def _address(party: Any, who: str) -> tuple[str, str]:
    address = party.get("address") if isinstance(party, dict) else None
    if not isinstance(address, dict):
        raise refusal(f"{who}.ADDRESS.REQUIRED", f"The {who.lower()} address is required.")
    country = text(address.get("countryCode")).upper()
    postal_code = text(address.get("postalCode"))
    if len(country) != 2:
        raise refusal(f"{who}.COUNTRY.INVALID", f"The {who.lower()} country code is invalid.")
    if country in POSTAL_COUNTRIES and not postal_code:
        raise refusal(f"{who}.POSTALCODE.REQUIRED", f"The {who.lower()} postal code is required.")
    return country, postal_code


# shipping ----------------------------------------------------------------------------------


def read_shipment(body: Any) -> LabelOrder:
    """The label order a ship request makes; raises :class:`Refused` as FedEx refuses it."""
    shipment = _shipment(body)
    shipper = _party(shipment.get("shipper"), "SHIPPER", needs_state=True)
    recipients = shipment.get("recipients")
    if not isinstance(recipients, list) or len(recipients) != 1:
        raise refusal("RECIPIENTS.REQUIRED", "Exactly one recipient is required.")
    recipient = _party(recipients[0], "RECIPIENT", needs_state=False)
    weights = _weights(shipment.get("requestedPackageLineItems"))
    code = text(shipment.get("serviceType"))
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
    image = text(obj(shipment.get("labelSpecification")).get("imageType"))
    if image.upper() not in LABEL_FORMATS:
        raise refusal(
            "LABELSPECIFICATION.IMAGETYPE.INVALID",
            f"The label image type {image or '(none)'} is invalid: the simulator prints "
            f"{' and '.join(sorted(LABEL_FORMATS))}.",
        )
    return LabelOrder(
        service=service,
        shipper=shipper,
        recipient=recipient,
        weights_kg=tuple(weights),
        label_format=image.upper(),
        reference=_reference(shipment),
    )


def ship_answer(order: LabelOrder, labels: Sequence[BoughtLabel], now: datetime) -> Answer:
    """The answer to an accepted ship request, ``labels`` one per package."""
    master = labels[0].tracking_number
    ground = order.service.code in GROUND
    total = sum((label.price for label in labels), Decimal(0))
    return 200, {
        "transactionId": str(uuid.uuid4()),
        "output": {
            "transactionShipments": [
                {
                    "masterTrackingNumber": master,
                    "serviceType": order.service.code,
                    "serviceName": order.service.name,
                    "shipDatestamp": now.strftime("%Y-%m-%d"),
                    "serviceCategory": "GROUND" if ground else "EXPRESS",
                    "shipmentDocuments": [],
                    "pieceResponses": [_piece(order, label, master, ground) for label in labels],
                    "completedShipmentDetail": {
                        "carrierCode": "FDXG" if ground else "FDXE",
                        "shipmentRating": {
                            "actualRateType": "ACCOUNT",
                            "shipmentRateDetails": [
                                {
                                    "rateType": "ACCOUNT",
                                    "totalNetCharge": float(total),
                                    "currency": order.currency,
                                }
                            ],
                        },
                    },
                }
            ]
        },
    }


def _piece(order: LabelOrder, label: BoughtLabel, master: str, ground: bool) -> JSON:
    lines = label.printed_lines(order.service.name)
    if order.label_format == "ZPLII":
        document = label_zpl(lines, label.tracking_number).encode()
    else:
        document = label_pdf(lines)
    return {
        "masterTrackingNumber": master,
        "trackingNumber": label.tracking_number,
        "trackingIdType": "GROUND" if ground else "FEDEX",
        "serviceCategory": "GROUND" if ground else "EXPRESS",
        "netChargeAmount": float(label.price),
        "currency": label.currency,
        "packageDocuments": [
            {
                "contentType": "LABEL",
                "copiesToPrint": 1,
                "docType": order.label_format,
                "encodedLabel": base64.b64encode(document).decode("ascii"),
            }
        ],
        "customerReferences": (
            [{"customerReferenceType": "CUSTOMER_REFERENCE", "value": order.reference}]
            if order.reference
            else []
        ),
    }


def _shipment(body: Any) -> JSON:
    if text(obj(obj(body).get("accountNumber")).get("value")) != FEDEX_ACCOUNT_NUMBER:
        raise refusal("ACCOUNT.NUMBER.INVALID", "The account number is invalid or missing.")
    shipment = obj(body).get("requestedShipment")
    if not isinstance(shipment, dict):
        raise refusal("INVALID.INPUT.EXCEPTION", "Invalid field value in the input")
    return shipment


def _party(party: Any, who: str, *, needs_state: bool) -> Party:
    """A shipper's or recipient's contact and address, each field as FedEx requires it
    (the state: see shipping.py POSTAL_COUNTRIES)."""
    if not isinstance(party, dict):
        raise refusal(f"{who}.ADDRESS.REQUIRED", f"The {who.lower()} address is required.")
    address = obj(party.get("address"))
    contact = obj(party.get("contact"))
    name = text(contact.get("personName")) or text(contact.get("companyName"))
    country = text(address.get("countryCode")).upper()
    required = {
        "CONTACT.NAME": (name, "contact name"),
        "ADDRESS.STREETLINES": (first_line(address.get("streetLines")), "street line"),
        "ADDRESS.CITY": (text(address.get("city")), "city"),
        "COUNTRY": (country if len(country) == 2 else "", "country code"),
    }
    for key, (value, what) in required.items():
        if not value:
            suffix = "INVALID" if key == "COUNTRY" else "REQUIRED"
            raise refusal(f"{who}.{key}.{suffix}", f"The {who.lower()} {what} is {suffix.lower()}.")
    state = text(address.get("stateOrProvinceCode"))
    postal_code = text(address.get("postalCode"))
    if needs_state and country in POSTAL_COUNTRIES and not state:
        raise refusal(
            f"{who}.STATEORPROVINCECODE.REQUIRED", f"The {who.lower()} state code is required."
        )
    if country in POSTAL_COUNTRIES and not postal_code:
        raise refusal(f"{who}.POSTALCODE.REQUIRED", f"The {who.lower()} postal code is required.")
    street = required["ADDRESS.STREETLINES"][0]
    return Party(name, street, required["ADDRESS.CITY"][0], state, postal_code, country)


def _weights(items: Any) -> list[Decimal]:
    if not isinstance(items, list) or not items:
        raise refusal("PACKAGE.WEIGHT.REQUIRED", "A package with its weight is required.")
    weights = []
    for item in items:
        weight = obj(obj(item).get("weight"))
        kg = weight_in_kg(weight.get("value"), weight.get("units"))
        if kg is None:
            raise refusal("PACKAGE.WEIGHT.REQUIRED", "Each package needs a weight above zero.")
        weights.append(kg)
    return weights


def _reference(shipment: JSON) -> str:
    items = shipment.get("requestedPackageLineItems")
    for item in items if isinstance(items, list) else []:
        references = obj(item).get("customerReferences")
        for reference in references if isinstance(references, list) else []:
            if text(obj(reference).get("value")):
                return text(obj(reference).get("value"))
    return ""


def _no_service(code: str) -> Refused:
    return refusal(
        "SERVICE.TYPE.INVALID",
        f"The service type {code or '(none)'} is not available between these addresses.",
    )


def _business_days_after(moment: datetime, days: int) -> datetime:
    day = moment
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day
