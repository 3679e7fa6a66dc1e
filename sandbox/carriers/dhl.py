"""DHL as the carrier simulator speaks it: Shipment Tracking - Unified.

``GET /track/shipments?trackingNumber=...`` with the ``DHL-API-Key`` header answers
``{"shipments": [{"id", "service", "origin", "destination", "status", "details",
"events"}]}`` (events newest first; ``statusCode`` one of pre-transit, transit,
delivered, failure, unknown). Errors are RFC 7807 problem documents ``{"title",
"status", "detail"}``: 404 "No result found" for a number DHL does not know, 401 for
a key it does not accept. DHL's status codes have no out-for-delivery or returned
value: a parcel out for delivery is ``transit`` and one going back is ``failure``,
told apart only by the description.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from omnisync.sandbox.carriers.state import DESTINATION, ORIGIN, Place, SimulatedShipment, Stage

JSON = dict[str, Any]
Answer = tuple[int, JSON]

TRACK_PATH: Final = "/track/shipments"

# (statusCode, status, description) per stage.
STATUSES: Final[dict[Stage, tuple[str, str, str]]] = {
    "label_created": (
        "pre-transit",
        "PRE-TRANSIT",
        "The shipment data was received electronically",
    ),
    "in_transit": ("transit", "TRANSIT", "The shipment has been processed in the parcel center"),
    "out_for_delivery": (
        "transit",
        "TRANSIT",
        "The shipment has been loaded onto the delivery vehicle",
    ),
    "delivered": ("delivered", "DELIVERED", "The shipment has been successfully delivered"),
    "exception": (
        "failure",
        "FAILURE",
        "The recipient was not present. The shipment will be delivered again",
    ),
    "returned_to_sender": ("failure", "FAILURE", "The shipment is being returned to the sender"),
}


def problem(status: int, title: str, detail: str, instance: str | None = None) -> Answer:
    body: JSON = {"title": title, "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    return status, body


BAD_KEY: Final = problem(401, "Unauthorized", "Unauthorized for given resource.")
SERVER_ERROR: Final = problem(500, "Internal Server Error", "The server encountered an error.")
UNAVAILABLE: Final = problem(503, "Service Unavailable", "The service is temporarily unavailable.")
THROTTLED: Final = problem(429, "Too many requests", "Too many requests.")


def track_answer(number: str | None, shipment: SimulatedShipment | None, now: datetime) -> Answer:
    if not number:
        return problem(400, "Bad Request", "Missing required parameter: trackingNumber")
    if shipment is None:
        return problem(
            404,
            "No result found",
            "No shipment with given tracking number found.",
            f"{TRACK_PATH}?{urlencode({'trackingNumber': number})}",
        )
    scans = shipment.scans(now)
    events = [_event(scan.stage, scan.at, scan.place) for scan in reversed(scans)]
    body: JSON = {
        "id": shipment.number,
        "service": "parcel-de",
        "origin": {"address": _address(ORIGIN)},
        "destination": {"address": _address(DESTINATION)},
        "status": events[0],
        "estimatedTimeOfDelivery": _stamp(shipment.estimated_delivery()),
        "details": {
            "product": {"productName": "DHL PAKET"},
            "totalNumberOfPieces": 1,
            "pieceIds": [shipment.number],
            "weight": {"value": 0.9, "unitText": "kg"},
        },
        "events": events,
    }
    if scans[-1].stage == "delivered":
        body["details"]["proofOfDelivery"] = {
            "timestamp": _stamp(scans[-1].at),
            "signed": {"name": "SIMULATED CUSTOMER"},
        }
    return 200, {"shipments": [body]}


def _event(stage: Stage, at: datetime, place: Place) -> JSON:
    code, status, description = STATUSES[stage]
    return {
        "timestamp": _stamp(at),
        "location": {"address": _address(place)},
        "statusCode": code,
        "status": status,
        "description": description,
    }


def _address(place: Place) -> JSON:
    return {
        "countryCode": place.country,
        "postalCode": place.postal_code,
        "addressLocality": place.city.title(),
    }


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
