"""Pure functions between SP-API payloads (Orders 2026-01-01, Listings Items 2021-08-01,
confirmShipment of Orders v0) and core DTOs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from omnisync.connectors.parsing import MAPPING_ERRORS, decimal_or_none, mapping_failure, timestamp
from omnisync.core.dto import (
    ChannelListing,
    Fulfilment,
    NormalisedOrder,
    NormalisedOrderLine,
    PushResult,
    StockUpdate,
)
from omnisync.core.types import OrderStatus

FULFILLMENT_STATUS: Mapping[str, OrderStatus] = {
    # Orders API 2026-01-01 `FulfillmentStatus`. PENDING: placed, payment not yet
    # authorised; the unit is sold all the same, so it reserves.
    "PENDING_AVAILABILITY": OrderStatus.PENDING,
    "PENDING": OrderStatus.PENDING,
    "UNSHIPPED": OrderStatus.ACCEPTED,
    "PARTIALLY_SHIPPED": OrderStatus.PARTIALLY_SHIPPED,
    "SHIPPED": OrderStatus.SHIPPED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,
}

FULFILLED_BY_AMAZON = "AMAZON"
"""`fulfillment.fulfilledBy` of an FBA order (the other value is MERCHANT)."""
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
PRODUCT_IDENTIFIER = "externally_assigned_product_identifier"
"""The listing attribute that holds the product's barcode, one entry per marketplace:
`[{"type": "ean" | "upc" | "gtin" | "isbn", "value": "...", "marketplace_id": "..."}]`.
Listings Items declares `attributes` a free-form object; the attribute's name and shape
come from the product type definitions, which the reference copy does not hold."""

CARRIER_CODES: Mapping[str, str] = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "federalexpress": "FedEx",
    "dhl": "DHL",
    "dhlexpress": "DHL",
    "dhlecommerce": "DHL eCommerce",
    "dhlglobalmail": "DHL Global Mail",
    "upsmailinnovations": "UPS Mail Innovations",
    "upsmi": "UPSMI",
    "fedexsmartpost": "FedEx SmartPost",
    "ontrac": "OnTrac",
    "lasership": "Lasership",
    "osm": "OSM",
    "canadapost": "Canada Post",
    "royalmail": "Royal Mail",
    "parcelforce": "Parcelforce",
    "citylink": "City Link",
    "gls": "GLS",
    "tnt": "TNT",
    "hermes": "Hermes Logistik Gruppe",
    "singaporepost": "Singapore Post",
    "chinapost": "China Post",
    "sfexpress": "SF Express",
    "aramex": "Aramex",
    "yanwen": "Yanwen",
    "4px": "4PX",
    "yamato": "YamatoTransport",
    "yamatotransport": "YamatoTransport",
    "sagawa": "SagawaExpress",
    "sagawaexpress": "SagawaExpress",
    "nipponexpress": "NipponExpress",
}
"""Carrier names as the hub may hold them -> Amazon's CarrierCode values; others are Other."""
OTHER_CARRIER = "Other"


# orders -----------------------------------------------------------------------------


def order_from_payload(order: Any) -> NormalisedOrder:
    """An Orders API 2026-01-01 `Order` with its `orderItems`, read with the
    FULFILLMENT, CANCELLATION, PROCEEDS, BUYER and RECIPIENT datasets (INCLUDED_DATA)."""
    try:
        fulfillment = order.get("fulfillment") or {}
        status_name = str(fulfillment["fulfillmentStatus"])
        if status_name not in FULFILLMENT_STATUS:
            raise ValueError(f"unknown fulfillmentStatus {status_name!r}")
        total = (order.get("proceeds") or {}).get("grandTotal")
        lines = tuple(order_line(item) for item in order["orderItems"])
        recipient = order.get("recipient") or {}
        return NormalisedOrder(
            external_id=order["orderId"],
            display_name=order["orderId"],  # what Seller Central shows the seller
            status=FULFILLMENT_STATUS[status_name],
            channel_status=status_name,
            status_reason=_status_reason(status_name, lines),
            placed_at=timestamp(order["createdTime"]),
            updated_at=timestamp(order["lastUpdatedTime"]),
            currency=total["currencyCode"] if total else None,
            total=decimal_or_none(total["amount"]) if total else None,
            customer=_customer(order.get("buyer")),
            ship_to=recipient.get("deliveryAddress") or None,
            lines=lines,
            fulfilled_by_channel=fulfillment.get("fulfilledBy") == FULFILLED_BY_AMAZON,
            ship_by=_ship_by(fulfillment),
            raw=order,
        )
    except MAPPING_ERRORS as error:
        raise mapping_failure(order, error, _order_id(order)) from None


def _ship_by(fulfillment: Mapping[str, Any]) -> datetime | None:
    """The end of the order's `shipByWindow`: the latest Amazon wants it shipped."""
    latest = (fulfillment.get("shipByWindow") or {}).get("latestDateTime")
    return timestamp(latest) if latest else None


def order_line(item: Mapping[str, Any]) -> NormalisedOrderLine:
    """One `OrderItem`. Pending orders' items carry no price: it stays unknown."""
    quantity = int(item["quantityOrdered"])
    product = item["product"]
    shipped = (item.get("fulfillment") or {}).get("quantityFulfilled")
    given = (item.get("cancellation") or {}).get("cancellationRequest")
    request: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    requested = isinstance(given, Mapping)
    price = (product.get("price") or {}).get("unitPrice")
    return NormalisedOrderLine(
        external_line_id=str(item["orderItemId"]),
        channel_sku=product.get("sellerSku") or f"amazon:{product['asin']}",
        title=product.get("title") or "",
        quantity=quantity,
        unit_price=decimal_or_none(price["amount"]) if price else None,
        quantity_shipped=None if shipped is None else min(int(shipped), quantity),
        buyer_cancel_requested=requested,
        buyer_cancel_reason=(request.get("cancelReason") or None) if requested else None,
    )


def _status_reason(status_name: str, lines: Sequence[NormalisedOrderLine]) -> str | None:
    if status_name == "UNFULFILLABLE":
        return "Unfulfillable: Amazon cannot fulfil the order"
    if status_name == "CANCELLED":
        reasons = [line.buyer_cancel_reason for line in lines if line.buyer_cancel_reason]
        return f"cancelled at the buyer's request: {reasons[0]}" if reasons else None
    return None


def _customer(buyer: Any) -> dict[str, Any] | None:
    if not isinstance(buyer, dict) or not (buyer.get("buyerName") or buyer.get("buyerEmail")):
        return None
    return {"name": buyer.get("buyerName"), "email": buyer.get("buyerEmail")}


def _order_id(order: Any) -> Any:
    return order.get("orderId") if isinstance(order, dict) else None


# listings ---------------------------------------------------------------------------


def listing_from_item(
    item: Mapping[str, Any], marketplace_id: str, channel_code: str
) -> ChannelListing:
    """A searchListingsItems item (summaries, attributes, fulfillmentAvailability) for one
    marketplace."""
    summaries = [s for s in item.get("summaries") or [] if isinstance(s, dict)]
    summary = next(
        (s for s in summaries if s.get("marketplaceId") == marketplace_id),
        summaries[0] if summaries else {},
    )
    availability = [a for a in item.get("fulfillmentAvailability") or [] if isinstance(a, dict)]
    quantity = next(
        (
            a.get("quantity")
            for a in availability
            if a.get("fulfillmentChannelCode") == channel_code
        ),
        None,
    )
    return ChannelListing(
        channel_sku=item.get("sku") or None,
        channel_ids={
            "asin": summary.get("asin"),
            "productType": summary.get("productType"),
            "status": list(summary.get("status") or []),
            "marketplaceId": summary.get("marketplaceId", marketplace_id),
            "fulfillmentChannelCodes": [a.get("fulfillmentChannelCode") for a in availability],
        },
        quantity=None if quantity is None else int(quantity),
        title=summary.get("itemName") or "",
        barcode=listing_barcode(item.get("attributes"), marketplace_id),
    )


def listing_barcode(attributes: Any, marketplace_id: str) -> str | None:
    """The barcode in a listing's attributes: the entry for `marketplace_id`, else one
    naming no marketplace, else the first; None when no entry has a value (or the item
    came without attributes)."""
    if not isinstance(attributes, Mapping):
        return None
    given = attributes.get(PRODUCT_IDENTIFIER)
    entries = [
        entry
        for entry in (given if isinstance(given, list) else [])
        if isinstance(entry, Mapping) and _identifier(entry.get("value"))
    ]
    if not entries:
        return None
    chosen = next(
        (entry for entry in entries if entry.get("marketplace_id") == marketplace_id),
        next((entry for entry in entries if not entry.get("marketplace_id")), entries[0]),
    )
    return _identifier(chosen.get("value"))


def _identifier(value: Any) -> str | None:
    """A barcode as Amazon gives it (a string: leading zeros count); None when blank."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def fulfilled_elsewhere(update: StockUpdate, channel_code: str) -> str | None:
    """Why the quantity must not be pushed (the listing is fulfilled by Amazon), or None.

    Replacing fulfillment_availability with the merchant channel on an FBA listing
    would turn it into a merchant-fulfilled one.
    """
    codes = [c for c in update.channel_ids.get("fulfillmentChannelCodes") or [] if c]
    if codes and channel_code not in codes:
        return (
            f"the listing is fulfilled through {', '.join(codes)}, not {channel_code}: "
            "Amazon holds its stock, the hub does not push it"
        )
    return None


def product_type(update: StockUpdate, default: str) -> str:
    return str(update.channel_ids.get("productType") or default)


def quantity_patches(channel_code: str, quantity: int) -> list[dict[str, Any]]:
    return [
        {
            "op": "replace",
            "path": AVAILABILITY_PATH,
            "value": [{"fulfillment_channel_code": channel_code, "quantity": quantity}],
        }
    ]


def quantity_patch_body(product: str, channel_code: str, quantity: int) -> dict[str, Any]:
    """The patchListingsItem body that sets the merchant-fulfilled quantity."""
    return {"productType": product, "patches": quantity_patches(channel_code, quantity)}


def patch_result(update: StockUpdate, answer: Mapping[str, Any]) -> PushResult:
    """ACCEPTED (or VALID) acknowledges the quantity; INVALID keeps Amazon's issues."""
    status = answer.get("status")
    if status in ("ACCEPTED", "VALID"):
        return PushResult(key=update.channel_sku, ok=True, quantity=update.quantity)
    issues = [issue for issue in answer.get("issues") or [] if isinstance(issue, dict)]
    errors = [issue for issue in issues if issue.get("severity") == "ERROR"] or issues
    said = "; ".join(issue_text(issue) for issue in errors)
    return PushResult(
        key=update.channel_sku,
        ok=False,
        error=f"Amazon answered {status or 'nothing'}: {said or 'no issues given'}",
    )


def issue_text(issue: Mapping[str, Any]) -> str:
    code, message = issue.get("code"), issue.get("message") or "no message"
    names = issue.get("attributeNames") or (
        [issue["attributeName"]] if issue.get("attributeName") else []
    )
    text = f"{code}: {message}" if code else str(message)
    return f"{text} [{', '.join(str(name) for name in names)}]" if names else text


# fulfilment -------------------------------------------------------------------------


def carrier_code(carrier: str) -> str:
    return CARRIER_CODES.get(re.sub(r"[^a-z0-9]", "", carrier.lower()), OTHER_CARRIER)


def package_reference(idempotency_key: str) -> str:
    """A positive number per shipment (Amazon takes no other): the same for every retry."""
    digits = re.search(r"(\d+)$", idempotency_key)
    if digits and int(digits.group(1)) > 0:
        return str(int(digits.group(1)))
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return str(int.from_bytes(digest[:6], "big") + 1)


def shipment_confirmation(
    fulfilment: Fulfilment, marketplace_id: str, shipped_at: datetime
) -> dict[str, Any]:
    """The confirmShipment body: one package with the shipped order items."""
    code = carrier_code(fulfilment.carrier)
    package: dict[str, Any] = {
        "packageReferenceId": package_reference(fulfilment.idempotency_key),
        "carrierCode": code,
        "trackingNumber": fulfilment.tracking_number,
        "shipDate": shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "orderItems": [
            {"orderItemId": line.external_line_id, "quantity": line.quantity}
            for line in fulfilment.lines
        ],
    }
    if code == OTHER_CARRIER:
        package["carrierName"] = fulfilment.carrier
    if fulfilment.service:
        package["shippingMethod"] = fulfilment.service
    return {"marketplaceId": marketplace_id, "packageDetail": package}
