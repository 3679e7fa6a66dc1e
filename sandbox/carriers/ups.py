"""UPS as the carrier simulator speaks it: OAuth client credentials and Track API v1.

Shapes follow UPS's published OpenAPI documents (OAuthClientCredentials.yaml,
Tracking.yaml): the token answer ``{token_type, issued_at (ms), client_id,
access_token, scope, expires_in, refresh_count, status}``; tracking answers
``{"trackResponse": {"shipment": [{"inquiryNumber", "package": [...]}]}}`` with
activities newest first; every error is ``{"response": {"errors": [{code, message}]}}``
(404 ``TW0001`` for a number UPS does not know, 400 ``TV1002`` for one that cannot be
a number, 401 ``250002`` for a token UPS does not accept, 401 ``10401`` for a client
id or secret it does not know). The codes of the outage answers (500, 503, 429) are
the simulator's own: UPS documents the shape, not the codes.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from omnisync.sandbox.carriers.auth import TOKEN_LIFETIMES_S, Gatekeeper
from omnisync.sandbox.carriers.state import DESTINATION, ORIGIN, Place, SimulatedShipment, Stage

JSON = dict[str, Any]
Answer = tuple[int, JSON]

TOKEN_PATH: Final = "/security/v1/oauth/token"  # noqa: S105 (a path)
TRACK_PATH: Final = "/api/track/v1/details/{number}"
NUMBER_LENGTHS: Final = range(7, 35)
"""Tracking.yaml: each inquiry number is 7 to 34 characters long."""

# (type, code, statusCode, description): UPS's status types are D (delivered),
# I (in progress), M (manifest: label only) and X (exception).
STATUSES: Final[Mapping[Stage, tuple[str, str, str, str]]] = {
    "label_created": (
        "M",
        "MP",
        "003",
        "Shipper created a label, UPS has not received the package yet.",
    ),
    "in_transit": ("I", "DP", "005", "Departed from Facility"),
    "out_for_delivery": ("I", "OT", "021", "Out For Delivery Today"),
    "delivered": ("D", "KB", "011", "DELIVERED"),
    "exception": (
        "X",
        "U2",
        "007",
        "The receiver was not available for delivery. We'll make a second attempt "
        "the next business day.",
    ),
    "returned_to_sender": ("X", "RS", "006", "Returning package to sender"),
}


def errors(code: str, message: str) -> JSON:
    return {"response": {"errors": [{"code": code, "message": message}]}}


BAD_TOKEN: Final[Answer] = (401, errors("250002", "Invalid Authentication Information."))
BAD_CLIENT: Final[Answer] = (401, errors("10401", "ClientId is Invalid"))
SERVER_ERROR: Final[Answer] = (500, errors("500", "Internal server error"))
UNAVAILABLE: Final[Answer] = (503, errors("503", "Resource is not available"))
THROTTLED: Final[Answer] = (429, errors("429", "Quota Limit Exceeded"))


def token_answer(authorization: str | None, form: Mapping[str, str], gate: Gatekeeper) -> Answer:
    """POST /security/v1/oauth/token: HTTP Basic client id and secret, grant_type in the form.

    ``issued_at`` is the real time, not the simulator's clock: the client (karrio) adds
    ``expires_in`` to it and compares the sum with its own wall clock, so a token stamped
    on a test's clock set in the past would look expired on arrival.
    """
    client = _basic_credentials(authorization)
    if client is None or not gate.admits("ups", *client):
        return BAD_CLIENT
    if form.get("grant_type") != "client_credentials":
        return 400, errors("400", "Invalid or missing grant_type: use client_credentials")
    return 200, {
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "client_id": client[0],
        "access_token": gate.issue("ups"),
        "scope": "",
        "expires_in": str(TOKEN_LIFETIMES_S["ups"]),
        "refresh_count": "0",
        "status": "approved",
    }


def track_answer(
    number: str, headers: Mapping[str, str], shipment: SimulatedShipment | None, now: datetime
) -> Answer:
    """GET /api/track/v1/details/{number}."""
    if not headers.get("transid") or not headers.get("transactionsrc"):
        return 400, errors("400", "The transId and transactionSrc headers are required")
    if len(number) not in NUMBER_LENGTHS:
        return 400, errors("TV1002", "Invalid inquiry number")
    if shipment is None:
        return 404, errors("TW0001", "Tracking Information Not Found")
    return 200, {
        "trackResponse": {
            "shipment": [{"inquiryNumber": number, "package": [_package(shipment, now)]}]
        }
    }


def _package(shipment: SimulatedShipment, now: datetime) -> JSON:
    scans = shipment.scans(now)
    latest = scans[-1]
    delivered = latest.stage == "delivered"
    kind, _, status_code, description = STATUSES[latest.stage]
    if delivered:
        delivery_date = {"type": "DEL", "date": _date(latest.at)}
    else:
        delivery_date = {"type": "SDD", "date": _date(shipment.estimated_delivery())}
    package: JSON = {
        "trackingNumber": shipment.number,
        "activity": [_activity(scan.stage, scan.at, scan.place) for scan in reversed(scans)],
        "currentStatus": {
            "type": kind,
            "code": status_code,
            "description": description,
            "simplifiedTextDescription": description,
            "statusCode": status_code,
        },
        "deliveryDate": [delivery_date],
        "deliveryTime": {"type": "DEL" if delivered else "EOD", "endTime": _time(latest.at)},
        "packageAddress": [
            {"type": "ORIGIN", "name": "SIMULATED SHIPPER", "address": _address(ORIGIN)},
            {"type": "DESTINATION", "name": "SIMULATED CUSTOMER", "address": _address(DESTINATION)},
        ],
        "packageCount": 1,
        "service": {"code": "003", "description": "UPS Ground"},
        "statusCode": status_code,
        "statusDescription": description,
        "weight": {"unitOfMeasurement": "LBS", "weight": "2.00"},
    }
    if delivered:
        package["deliveryInformation"] = {"location": "Front Door", "receivedBy": ""}
    return package


def _activity(stage: Stage, at: datetime, place: Place) -> JSON:
    kind, code, status_code, description = STATUSES[stage]
    return {
        "date": _date(at),
        "time": _time(at),
        "gmtDate": _date(at),
        "gmtTime": at.strftime("%H:%M:%S"),
        "gmtOffset": "+00:00",
        "location": {"address": _address(place), "slic": "4000"},
        "status": {
            "type": kind,
            "code": code,
            "description": description,
            "simplifiedTextDescription": description,
            "statusCode": status_code,
        },
    }


def _address(place: Place) -> JSON:
    return {
        "city": place.city,
        "stateProvince": place.state,
        "postalCode": place.postal_code,
        "country": place.country,
        "countryCode": place.country,
    }


def _date(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def _time(moment: datetime) -> str:
    return moment.strftime("%H%M%S")


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None
