"""eBay's error envelope, and every errorId the eBay simulator answers with.

Every eBay REST error is ``{"errors": [{"errorId", "domain", "category", "message",
"parameters"?}]}`` (the contracts' ``Error`` schema). State code raises
:class:`EbayApiError`; the HTTP layer turns it into that body, with the status it
carries. Each API has its own domain and its own "system error" id, which is what a 500
or 503 fault answers with (:data:`INVENTORY`, :data:`FULFILLMENT`, :data:`NOTIFICATION`).

The ids are eBay's where the contracts list one for the case; where they list none, the
simulator's choice is marked "chosen" below and documented in the package docstring:

- 1001 (domain ``OAuth``): a missing, unknown or expired access token (401), as eBay.
- 1100 (domain ``ACCESS``): a valid token without the scope (or of the wrong kind, an
  application token on a Sell API) the operation needs (403), as eBay.
- 2001 (domain ``ACCESS``): throttled (429), eBay's "Too many requests" id.
- 25026 (chosen): a listing revised 250 times this UTC day refuses the next revision
  (one bulkUpdatePriceQuantity item, status 400). The contracts have no id for the daily
  revision cap; 25026 is the Inventory API's "Selling limits exceeded".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]

REQUEST: Final = "REQUEST"
APPLICATION: Final = "APPLICATION"


@dataclass(frozen=True)
class Api:
    """One of the eBay APIs the simulator serves: its error domain, its system error id
    (500, 503) and the id it refuses a POST body that is not JSON with."""

    domain: str
    system_error: int
    invalid_input: int


INVENTORY: Final = Api("API_INVENTORY", 25001, 25709)
FULFILLMENT: Final = Api("API_FULFILLMENT", 30500, 32600)
NOTIFICATION: Final = Api("API_NOTIFICATION", 195000, 195000)

OAUTH_DOMAIN: Final = "OAuth"
ACCESS_DOMAIN: Final = "ACCESS"

# access, every API
INVALID_ACCESS_TOKEN: Final = 1001
INSUFFICIENT_PERMISSIONS: Final = 1100
TOO_MANY_REQUESTS: Final = 2001

# Sell Inventory
INVALID_PRICE: Final = 25003
INVALID_QUANTITY: Final = 25004
DAILY_REVISION_LIMIT: Final = 25026  # chosen (see the module docstring)
SKU_NOT_FOUND: Final = 25702
INVALID_PAGINATION: Final = 25706
INVALID_VALUE: Final = 25709
ENTITY_NOT_FOUND: Final = 25710
OFFER_NOT_AVAILABLE: Final = 25713
TOO_MANY_ITEMS: Final = 25727
DUPLICATE_OFFER: Final = 25731
DUPLICATE_SKU: Final = 25734

# Sell Fulfillment
INVALID_FILTER_NAME: Final = 30700
INVALID_FILTER_VALUE: Final = 30800
INVALID_DATE: Final = 30810
START_DATE_MISSING: Final = 30820
START_AFTER_END: Final = 30840
TOO_MANY_ORDER_IDS: Final = 30900
INVALID_OFFSET: Final = 31000
INVALID_LIMIT: Final = 31100
INVALID_ORDER_ID: Final = 32100
INVALID_LINE_ITEM: Final = 32200
DUPLICATE_LINE_ITEM: Final = 32210
INVALID_TRACKING: Final = 32300
INVALID_SHIPPED_DATE: Final = 32500
INVALID_INPUT: Final = 32600
INVALID_FULFILLMENT_ID: Final = 32700

# Commerce Notification
INVALID_KEY_ID: Final = 195001


@dataclass
class EbayApiError(Exception):
    """An eBay error answer: the HTTP status and one entry of ``errors``."""

    status: int
    error_id: int
    domain: str
    message: str
    category: str = REQUEST
    parameters: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.status} {self.error_id}: {self.message}"

    def detail(self) -> JSON:
        return error_detail(
            self.error_id, self.domain, self.message, self.category, self.parameters
        )

    def body(self) -> JSON:
        return {"errors": [self.detail()]}


def error_detail(
    error_id: int,
    domain: str,
    message: str,
    category: str = REQUEST,
    parameters: Sequence[tuple[str, str]] = (),
) -> JSON:
    """One entry of an ``errors`` (or ``warnings``) list."""
    detail: JSON = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }
    if parameters:
        detail["parameters"] = [{"name": name, "value": value} for name, value in parameters]
    return detail


def error_body(error_id: int, domain: str, message: str, category: str = REQUEST) -> JSON:
    """The body of an answer of one error (the simulator's own 404, 429, 500 and 503)."""
    return {"errors": [error_detail(error_id, domain, message, category)]}


def invalid_value(name: str, value: Any, why: str = "") -> EbayApiError:
    """The Inventory API's 400 "Invalid value for NAME" (25709)."""
    message = f"Invalid value for {name}." + (f" {why}" if why else "")
    return EbayApiError(
        400, INVALID_VALUE, INVENTORY.domain, message, parameters=((name, str(value)),)
    )
