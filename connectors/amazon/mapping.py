"""Pure functions between SP-API payloads (Orders v0, Listings Items 2021-08-01) and core DTOs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
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

ORDER_STATUS: Mapping[str, OrderStatus] = {
    # Pending: placed, payment not yet authorised; the unit is sold all the same.
    "PendingAvailability": OrderStatus.PENDING,
    "Pending": OrderStatus.PENDING,
    "Unshipped": OrderStatus.ACCEPTED,
    "PartiallyShipped": OrderStatus.PARTIALLY_SHIPPED,
    "Shipped": OrderStatus.SHIPPED,
    # Shipped, the seller has not yet confirmed the invoice (Brazil).
    "InvoiceUnconfirmed": OrderStatus.SHIPPED,
    "Canceled": OrderStatus.CANCELLED,
    "Unfulfillable": OrderStatus.CANCELLED,
}

FULFILLED_BY_AMAZON = "AFN"
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
PRODUCT_IDENTIFIER = "externally_assigned_product_identifier"
"""The listing attribute that holds the product's barcode, one entry per marketplace:
`[{"type": "ean" | "upc" | "gtin" | "isbn", "value": "...", "marketplace_id": "..."}]`.
Listings Items declares `attributes` a free-form object; the attribute's name and shape
come from the product type definitions, which the reference copy does not hold."""
PRICE_SCALE = Decimal("0.0001")

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


def order_from_payload(order: Any, items: Sequence[Any]) -> NormalisedOrder:
    """A getOrders Order with the OrderItems of its getOrderItems pages."""
    raw = {**order, "OrderItems": list(items)} if isinstance(order, dict) else order
    try:
        status_name = str(order["OrderStatus"])
        if status_name not in ORDER_STATUS:
            raise ValueError(f"unknown OrderStatus {status_name!r}")
        total = order.get("OrderTotal")
        lines = tuple(order_line(item) for item in items)
        return NormalisedOrder(
            external_id=order["AmazonOrderId"],
            display_name=order["AmazonOrderId"],  # what Seller Central shows the seller
            status=ORDER_STATUS[status_name],
            channel_status=status_name,
            status_reason=_status_reason(status_name, lines),
            placed_at=timestamp(order["PurchaseDate"]),
            updated_at=timestamp(order["LastUpdateDate"]),
            currency=total["CurrencyCode"] if total else None,
            total=decimal_or_none(total["Amount"]) if total else None,
            customer=_customer(order.get("BuyerInfo")),
            ship_to=order.get("ShippingAddress") or None,
            lines=lines,
            fulfilled_by_channel=order.get("FulfillmentChannel") == FULFILLED_BY_AMAZON,
            raw=raw,
        )
    except MAPPING_ERRORS as error:
        raise mapping_failure(raw, error, _order_id(order)) from None


def order_line(item: Mapping[str, Any]) -> NormalisedOrderLine:
    """One OrderItem. Pending orders' items carry no ItemPrice: the price stays unknown."""
    quantity = int(item["QuantityOrdered"])
    shipped = item.get("QuantityShipped")
    cancel = item.get("BuyerRequestedCancel") or {}
    requested = str(cancel.get("IsBuyerRequestedCancel", "")).strip().lower() == "true"
    return NormalisedOrderLine(
        external_line_id=str(item["OrderItemId"]),
        channel_sku=item.get("SellerSKU") or f"amazon:{item['ASIN']}",
        title=item.get("Title") or "",
        quantity=quantity,
        unit_price=unit_price(item.get("ItemPrice"), quantity),
        quantity_shipped=None if shipped is None else min(int(shipped), quantity),
        buyer_cancel_requested=requested,
        buyer_cancel_reason=(cancel.get("BuyerCancelReason") or None) if requested else None,
    )


def unit_price(item_price: Any, quantity: int) -> Decimal | None:
    """Amazon's ItemPrice is the line's price (unit price x quantity)."""
    if not item_price:
        return None
    amount = Decimal(str(item_price["Amount"]))
    if quantity <= 1:
        return amount
    price = amount / quantity
    return price if price == price.quantize(PRICE_SCALE) else price.quantize(PRICE_SCALE)


def _status_reason(status_name: str, lines: Sequence[NormalisedOrderLine]) -> str | None:
    if status_name == "Unfulfillable":
        return "Unfulfillable: Amazon cannot fulfil the order"
    if status_name == "Canceled":
        reasons = [line.buyer_cancel_reason for line in lines if line.buyer_cancel_reason]
        return f"cancelled at the buyer's request: {reasons[0]}" if reasons else None
    return None


def _customer(buyer: Any) -> dict[str, Any] | None:
    if not isinstance(buyer, dict) or not (buyer.get("BuyerName") or buyer.get("BuyerEmail")):
        return None
    return {"name": buyer.get("BuyerName"), "email": buyer.get("BuyerEmail")}


def _order_id(order: Any) -> Any:
    return order.get("AmazonOrderId") if isinstance(order, dict) else None


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
