"""FedEx as the carrier simulator speaks it: OAuth client credentials and Track API v1.

``POST /oauth/token`` takes a form (``grant_type=client_credentials``, ``client_id``,
``client_secret``: the project's Track API key pair) and answers ``{access_token,
token_type: "bearer", expires_in: 3599, scope}``. ``POST /track/v1/trackingnumbers``
takes ``{"includeDetailedScans", "trackingInfo": [{"trackingNumberInfo":
{"trackingNumber"}}]}`` (at most 30 numbers) and answers one ``completeTrackResults``
entry per number, in the order asked; a number FedEx does not know gets a track
result carrying ``error: TRACKING.TRACKINGNUMBER.NOTFOUND`` inside a 200 answer.
Other errors are ``{"transactionId", "errors": [{code, message}]}`` with FedEx's
codes per status (NOT.AUTHORIZED.ERROR, INTERNAL.SERVER.ERROR, ...).
``POST /track/v1/trackingdocuments`` (proof of delivery) needs a token like every
FedEx API; karrio asks it for delivered parcels without one and gets the 401.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from omnisync.sandbox.carriers.auth import TOKEN_LIFETIMES_S, Gatekeeper
from omnisync.sandbox.carriers.state import DESTINATION, ORIGIN, Place, SimulatedShipment, Stage

JSON = dict[str, Any]
Answer = tuple[int, JSON]

TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 (a path)
TRACK_PATH: Final = "/track/v1/trackingnumbers"
PROOF_OF_DELIVERY_PATH: Final = "/track/v1/trackingdocuments"
MAX_NUMBERS: Final = 30
"""FedEx Track API: up to 30 tracking numbers per request."""

# (eventType, description, locationType) per stage.
EVENTS: Final[Mapping[Stage, tuple[str, str, str]]] = {
    "label_created": ("OC", "Shipment information sent to FedEx", "CUSTOMER"),
    "in_transit": ("IT", "In transit", "FEDEX_FACILITY"),
    "out_for_delivery": ("OD", "On FedEx vehicle for delivery", "VEHICLE"),
    "delivered": ("DL", "Delivered", "DELIVERY_LOCATION"),
    "exception": ("DE", "Delivery exception", "DELIVERY_LOCATION"),
    "returned_to_sender": ("RS", "Return to shipper", "FEDEX_FACILITY"),
}
EXCEPTION_DESCRIPTIONS: Final[Mapping[Stage, str]] = {
    "exception": "Customer not available or business closed",
    "returned_to_sender": "Returning package to shipper",
}


def errors(code: str, message: str) -> JSON:
    return {"transactionId": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}


LATER: Final = "We apologize for any inconvenience. Please check back at a later time."
BAD_CLIENT: Final = (
    "The given client credentials were not valid. Please modify your request and try again."
)


def bad_token() -> Answer:
    return 401, errors(
        "NOT.AUTHORIZED.ERROR", "Access token expired. Please modify your request and try again."
    )


def server_error() -> Answer:
    return 500, errors(
        "INTERNAL.SERVER.ERROR",
        f"We encountered an unexpected error and are working to resolve the issue. {LATER}",
    )


def unavailable() -> Answer:
    return 503, errors(
        "SERVICE.UNAVAILABLE.ERROR",
        f"The service is currently unavailable and we are working to resolve the issue. {LATER}",
    )


def throttled() -> Answer:
    return 429, errors(
        "TOO.MANY.REQUESTS.ERROR",
        "We have received too many requests in a short duration. Please wait a while to try again.",
    )


def token_answer(form: Mapping[str, str], gate: Gatekeeper) -> Answer:
    """POST /oauth/token: the Track API pair gets a ``track`` token, the Ship API
    project's pair a ``ship`` one (auth.py)."""
    if form.get("grant_type") != "client_credentials":
        return 400, errors("BAD.REQUEST.ERROR", "The given grant_type is not supported.")
    scope = gate.scope_for("fedex", form.get("client_id", ""), form.get("client_secret", ""))
    if scope is None:
        return 401, errors("NOT.AUTHORIZED.ERROR", BAD_CLIENT)
    return 200, {
        "access_token": gate.issue("fedex", scope),
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIMES_S["fedex"],
        "scope": "CXS-TP",
    }


def track_answer(
    body: Any, lookup: Callable[[str], SimulatedShipment | None], now: datetime
) -> Answer:
    """POST /track/v1/trackingnumbers."""
    numbers = _numbers(body)
    if not numbers:
        return 400, errors("TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
    if len(numbers) > MAX_NUMBERS:
        return 400, errors(
            "TRACKING.TRACKINGNUMBER.LIMITEXCEEDED",
            f"Please provide {MAX_NUMBERS} tracking numbers or fewer per request.",
        )
    results = [_complete_result(number, lookup(number), now) for number in numbers]
    return 200, {
        "transactionId": str(uuid.uuid4()),
        "output": {"completeTrackResults": results},
    }


def proof_of_delivery_answer() -> Answer:
    """The simulator keeps no signature images: an authorised request gets none."""
    return 200, {"transactionId": str(uuid.uuid4()), "output": {"documents": []}}


def _numbers(body: Any) -> list[str]:
    infos = body.get("trackingInfo") if isinstance(body, dict) else None
    if not isinstance(infos, list):
        return []
    numbers = []
    for info in infos:
        number = (
            (info.get("trackingNumberInfo") or {}).get("trackingNumber")
            if isinstance(info, dict)
            else None
        )
        if not isinstance(number, str) or not number:
            return []
        numbers.append(number)
    return numbers


def _complete_result(number: str, shipment: SimulatedShipment | None, now: datetime) -> JSON:
    if shipment is None:
        result: JSON = {
            "trackingNumberInfo": {
                "trackingNumber": number,
                "carrierCode": "",
                "trackingNumberUniqueId": "",
            },
            "error": {
                "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
                "message": "Tracking number cannot be found. "
                "Please correct the tracking number and try again.",
            },
        }
    else:
        result = _track_result(shipment, now)
    return {"trackingNumber": number, "trackResults": [result]}


def _track_result(shipment: SimulatedShipment, now: datetime) -> JSON:
    scans = shipment.scans(now)
    latest = scans[-1]
    code, description, _ = EVENTS[latest.stage]
    window = {
        "window": {
            "begins": _stamp(shipment.estimated_delivery()),
            "ends": _stamp(shipment.estimated_delivery()),
        }
    }
    result: JSON = {
        "trackingNumberInfo": {
            "trackingNumber": shipment.number,
            "carrierCode": "FDXG",
            "trackingNumberUniqueId": f"12029~{shipment.number}~FDEG",
        },
        "latestStatusDetail": {
            "code": code,
            "derivedCode": code,
            "statusByLocale": description,
            "description": description,
            "scanLocation": _location(latest.place),
        },
        "serviceDetail": {
            "type": "FEDEX_GROUND",
            "description": "FedEx Ground",
            "shortDescription": "FG",
        },
        "originLocation": {"locationContactAndAddress": {"address": _location(ORIGIN)}},
        "destinationLocation": {"locationContactAndAddress": {"address": _location(DESTINATION)}},
        "shipmentDetails": {"weight": [{"value": "2.0", "unit": "LB"}]},
        "standardTransitTimeWindow": window,
        "estimatedDeliveryTimeWindow": window,
        "dateAndTimes": [{"type": "SHIP", "dateTime": _stamp(scans[0].at)}],
        "scanEvents": [_scan_event(scan.stage, scan.at, scan.place) for scan in reversed(scans)],
    }
    if latest.stage == "delivered":
        result["deliveryDetails"] = {"receivedByName": "SIMULATED CUSTOMER", "signedByName": ""}
        result["dateAndTimes"].append({"type": "ACTUAL_DELIVERY", "dateTime": _stamp(latest.at)})
    return result


def _scan_event(stage: Stage, at: datetime, place: Place) -> JSON:
    code, description, location_type = EVENTS[stage]
    return {
        "date": _stamp(at),
        "eventType": code,
        "eventDescription": description,
        "exceptionCode": "",
        "exceptionDescription": EXCEPTION_DESCRIPTIONS.get(stage, ""),
        "scanLocation": _location(place),
        "locationType": location_type,
        "derivedStatusCode": code,
        "derivedStatus": description,
    }


def _location(place: Place) -> JSON:
    return {
        "streetLines": [""],
        "city": place.city,
        "stateOrProvinceCode": place.state,
        "postalCode": place.postal_code,
        "countryCode": place.country,
        "residential": False,
    }


def _stamp(moment: datetime) -> str:
    # FedEx's timestamps carry the offset of the scan's place; the simulator's places are in UTC.
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
