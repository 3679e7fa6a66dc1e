"""The seller's listings and the patch rules both patchListingsItem and
JSON_LISTINGS_FEED apply.

A listing keeps its attributes as Amazon shows them (``fulfillment_availability``:
``[{"fulfillment_channel_code": "DEFAULT", "quantity": N}]``); its merchant-fulfilled
quantity is read from there. A patch is checked in full before anything changes and
comes back with Amazon's issue objects (``code``, ``message``, ``severity``,
``attributeNames``, ``categories``). Issue codes ``4000001`` (invalid value) and
``90220`` (required value missing) are Amazon's; ``NOT_FOUND`` (no such SKU) and
``PRODUCT_TYPE_MISMATCH`` are the simulator's own.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeGuard

from omnisync.sandbox.amazon.http import JSON, AmazonSimulatorError, amazon_time, parse_price
from omnisync.sandbox.clock import MonotonicStamper

FULFILLMENT_AVAILABILITY: Final = "fulfillment_availability"
PRODUCT_IDENTIFIER: Final = "externally_assigned_product_identifier"
"""The product's barcode: ``[{"type", "value", "marketplace_id"}]``, as product type
definitions name it (the Listings Items model leaves ``attributes`` free-form)."""
BARCODE_TYPES: Final = ("ean", "upc", "gtin", "isbn")
DEFAULT_CHANNEL: Final = "DEFAULT"
DEFAULT_PRODUCT_TYPE: Final = "PRODUCT"
PATCH_OPS: Final = ("add", "replace", "merge", "delete")
_TOP_LEVEL_ATTRIBUTE: Final = re.compile(r"^/attributes/([A-Za-z0-9_]+)$")


@dataclass
class Listing:
    sku: str
    asin: str
    product_type: str
    title: str
    created_at: datetime
    updated_at: datetime
    attributes: dict[str, Any] = field(default_factory=dict)
    price: Decimal | None = None
    issues: list[JSON] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        """The merchant-fulfilled (``DEFAULT``) quantity; 0 when none is set."""
        for entry in self.attributes.get(FULFILLMENT_AVAILABILITY, []):
            if entry.get("fulfillment_channel_code") == DEFAULT_CHANNEL:
                return int(entry.get("quantity", 0))
        return 0

    def set_quantity(self, quantity: int) -> None:
        others = [
            entry
            for entry in self.attributes.get(FULFILLMENT_AVAILABILITY, [])
            if entry.get("fulfillment_channel_code") != DEFAULT_CHANNEL
        ]
        entry = {"fulfillment_channel_code": DEFAULT_CHANNEL, "quantity": quantity}
        self.attributes[FULFILLMENT_AVAILABILITY] = [entry, *others]

    @property
    def status(self) -> list[str]:
        return ["BUYABLE", "DISCOVERABLE"] if self.quantity > 0 else ["DISCOVERABLE"]


def issue(
    code: str, message: str, attribute: str | None = None, category: str | None = None
) -> JSON:
    """One issue as the Listings Items API writes it (severity ERROR)."""
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [attribute] if attribute else [],
        "categories": [category] if category else [],
    }


def patches_are_well_formed(patches: Any) -> TypeGuard[list[dict[str, Any]]]:
    """The shape ``ListingsItemPatchRequest.patches`` must have (else a 400)."""
    if not isinstance(patches, list) or not patches:
        return False
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in PATCH_OPS:
            return False
        if not isinstance(patch.get("path"), str):
            return False
        value = patch.get("value")
        if value is not None and not isinstance(value, list):
            return False
        if patch["op"] != "delete" and value is None:
            return False
    return True


class Catalogue:
    """Every listing of the seller, by SKU, in the order they were added."""

    def __init__(self, stamper: MonotonicStamper, marketplace_id: str, currency: str) -> None:
        self.stamper = stamper
        self.marketplace_id = marketplace_id
        self.currency = currency
        self.listings: dict[str, Listing] = {}

    def listing(self, sku: str) -> Listing:
        try:
            return self.listings[sku]
        except KeyError:
            raise AmazonSimulatorError(f"no listing for SKU {sku!r}") from None

    def add(self, item: Mapping[str, Any]) -> Listing:
        """Add or replace a listing: ``{sku, asin?, productType?, quantity?, title?, price?,
        barcode?, barcode_type?}``; a barcode (``barcode_type`` one of :data:`BARCODE_TYPES`,
        ``ean`` by default) becomes the ``externally_assigned_product_identifier`` attribute."""
        sku = str(item.get("sku") or "")
        if not sku:
            raise AmazonSimulatorError("a listing needs a SKU")
        quantity = int(item.get("quantity", 0))
        if quantity < 0:
            raise AmazonSimulatorError("a listing's quantity cannot be negative")
        barcode, barcode_type = item.get("barcode"), item.get("barcode_type", "ean")
        if barcode is not None and (not isinstance(barcode, str) or not barcode):
            raise AmazonSimulatorError(f"bad barcode {barcode!r}")
        if barcode_type not in BARCODE_TYPES:
            raise AmazonSimulatorError(
                f"bad barcode_type {barcode_type!r}: one of {', '.join(BARCODE_TYPES)}"
            )
        stamp = self.stamper.stamp()
        existing = self.listings.get(sku)
        price = item.get("price")
        listing = Listing(
            sku=sku,
            asin=str(item.get("asin") or default_asin(sku)),
            product_type=str(
                item.get("productType") or item.get("product_type") or DEFAULT_PRODUCT_TYPE
            ),
            title=str(item.get("title") or sku),
            created_at=existing.created_at if existing else stamp,
            updated_at=stamp,
            price=None if price is None else parse_price(price),
        )
        listing.attributes["item_name"] = [
            {"value": listing.title, "language_tag": "en_US", "marketplace_id": self.marketplace_id}
        ]
        listing.attributes["condition_type"] = [
            {"value": "new_new", "marketplace_id": self.marketplace_id}
        ]
        if barcode is not None:
            listing.attributes[PRODUCT_IDENTIFIER] = [
                {"type": barcode_type, "value": barcode, "marketplace_id": self.marketplace_id}
            ]
        listing.set_quantity(quantity)
        self.listings[sku] = listing
        return listing

    def set_quantity(self, sku: str, quantity: int) -> Listing:
        if quantity < 0:
            raise AmazonSimulatorError("a listing's quantity cannot be negative")
        listing = self.listing(sku)
        listing.set_quantity(quantity)
        listing.updated_at = self.stamper.stamp()
        return listing

    def remove(self, sku: str) -> None:
        self.listings.pop(sku, None)

    # patches ----------------------------------------------------------------------

    def check_patch(
        self, sku: str, product_type: str, patches: Sequence[Mapping[str, Any]]
    ) -> list[JSON]:
        """Everything wrong with applying ``patches`` to ``sku`` (empty: it would go through)."""
        listing = self.listings.get(sku)
        if listing is None:
            return [
                issue(
                    "NOT_FOUND",
                    f"SKU '{sku}' was not found for this seller in marketplace "
                    f"{self.marketplace_id}; create the listing before patching it.",
                )
            ]
        found: list[JSON] = []
        if product_type != listing.product_type:
            found.append(
                issue(
                    "PRODUCT_TYPE_MISMATCH",
                    f"The product type '{product_type}' does not match the product type "
                    f"'{listing.product_type}' of the listing.",
                    category="INVALID_ATTRIBUTE",
                )
            )
        for patch in patches:
            found.extend(_check_one_patch(patch))
        return found

    def apply_patch(self, sku: str, patches: Sequence[Mapping[str, Any]]) -> Listing:
        """Apply patches already found valid by :meth:`check_patch`."""
        listing = self.listing(sku)
        for patch in patches:
            name = _attribute_name(str(patch["path"]))
            assert name is not None
            if patch["op"] == "delete":
                listing.attributes.pop(name, None)
            else:
                listing.attributes[name] = copy.deepcopy(list(patch["value"]))
        listing.updated_at = self.stamper.stamp()
        return listing

    def replace_attributes(
        self, sku: str, attributes: Mapping[str, Any], *, partial: bool
    ) -> Listing:
        """UPDATE (all attributes) or PARTIAL_UPDATE (the ones given) of a feed message."""
        listing = self.listing(sku)
        if not partial:
            listing.attributes.clear()
        for name, value in attributes.items():
            listing.attributes[name] = copy.deepcopy(value)
        listing.updated_at = self.stamper.stamp()
        return listing

    # rendering ----------------------------------------------------------------------

    def item_json(self, listing: Listing, included: Sequence[str]) -> JSON:
        """A listings ``Item`` with the data sets of ``includedData``."""
        body: JSON = {"sku": listing.sku}
        market = self.marketplace_id
        if "summaries" in included:
            body["summaries"] = [
                {
                    "marketplaceId": market,
                    "asin": listing.asin,
                    "productType": listing.product_type,
                    "conditionType": "new_new",
                    "status": listing.status,
                    "itemName": listing.title,
                    "createdDate": amazon_time(listing.created_at),
                    "lastUpdatedDate": amazon_time(listing.updated_at),
                }
            ]
        if "attributes" in included:
            body["attributes"] = copy.deepcopy(listing.attributes)
        if "issues" in included:
            body["issues"] = copy.deepcopy(listing.issues)
        if "offers" in included:
            body["offers"] = (
                []
                if listing.price is None
                else [
                    {
                        "marketplaceId": market,
                        "offerType": "B2C",
                        "price": {"currencyCode": self.currency, "amount": str(listing.price)},
                    }
                ]
            )
        if "fulfillmentAvailability" in included:
            body["fulfillmentAvailability"] = [
                {"fulfillmentChannelCode": DEFAULT_CHANNEL, "quantity": listing.quantity}
            ]
        if "procurement" in included:
            body["procurement"] = []
        if "relationships" in included:
            body["relationships"] = [{"marketplaceId": market, "relationships": []}]
        if "productTypes" in included:
            body["productTypes"] = [{"marketplaceId": market, "productType": listing.product_type}]
        return body


def _attribute_name(path: str) -> str | None:
    found = _TOP_LEVEL_ATTRIBUTE.match(path)
    return found.group(1) if found else None


def _check_one_patch(patch: Mapping[str, Any]) -> list[JSON]:
    name = _attribute_name(str(patch.get("path", "")))
    if name is None:
        return [
            issue(
                "90000900",
                f"The path '{patch.get('path')}' is invalid: only top-level listings item "
                "attributes (/attributes/<name>) can be patched.",
                category="INVALID_ATTRIBUTE",
            )
        ]
    if name != FULFILLMENT_AVAILABILITY or patch.get("op") == "delete":
        return []
    found: list[JSON] = []
    for entry in patch.get("value") or []:
        code = entry.get("fulfillment_channel_code") if isinstance(entry, dict) else None
        if not isinstance(code, str) or not code:
            found.append(
                issue(
                    "90220",
                    "'fulfillment_channel_code' is required but not supplied.",
                    FULFILLMENT_AVAILABILITY,
                    "MISSING_ATTRIBUTE",
                )
            )
            continue
        quantity = entry.get("quantity")
        if code == DEFAULT_CHANNEL and quantity is None:
            found.append(
                issue(
                    "90220",
                    "'quantity' is required but not supplied.",
                    FULFILLMENT_AVAILABILITY,
                    "MISSING_ATTRIBUTE",
                )
            )
        elif quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
        ):
            found.append(
                issue(
                    "4000001",
                    f"The provided value for 'Quantity' is invalid: {quantity!r} "
                    "(a whole number of 0 or more).",
                    FULFILLMENT_AVAILABILITY,
                    "INVALID_ATTRIBUTE",
                )
            )
    return found


def default_asin(sku: str) -> str:
    """A stable made-up ASIN for a SKU (``B0`` and eight characters)."""
    return "B0" + hashlib.sha256(sku.encode()).hexdigest()[:8].upper()
