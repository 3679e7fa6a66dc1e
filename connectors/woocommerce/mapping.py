"""WooCommerce's orders and products in the hub's terms.

Order status, by WooCommerce's `status` (channel_status keeps WooCommerce's word):

    pending         PENDING    awaiting payment; the units stay reserved (as Amazon's
                               Pending) until it is paid, cancelled or fails
    processing      ACCEPTED   paid, to ship
    on-hold         ACCEPTED   awaiting payment confirmation; WooCommerce already took
                               the stock
    completed       SHIPPED    every line shipped (quantity_shipped left unsaid: all)
    cancelled       CANCELLED
    failed          CANCELLED  the payment failed
    refunded        RETURNED   when `date_completed` is set (it had shipped), else
                    CANCELLED  (refunded before it shipped)
    trash           CANCELLED  an order moved to the bin
    checkout-draft  -          a cart of the block checkout, not an order yet: left out
                               of the page, never reserves
    anything else   PayloadError (a plugin's own status: quarantined, named)

Times: WooCommerce's `*_gmt` fields are naive strings in UTC. Refunds come embedded in
`refunds` as totals only (no lines): they stay in `raw`.

A line, and a listing, without a SKU is named by the listing it is:
`woocommerce:variation:<variation_id>` for a variation, else
`woocommerce:product:<product_id>` (`listing_key`, used on both sides so they meet).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from omnisync.connectors.parsing import MAPPING_ERRORS, decimal_or_none, mapping_failure
from omnisync.core.dto import ChannelListing, NormalisedOrder, NormalisedOrderLine
from omnisync.core.types import OrderStatus

CHECKOUT_DRAFT: Final = "checkout-draft"
REFUNDED: Final = "refunded"
ORDER_STATUSES: Final[Mapping[str, OrderStatus]] = {
    "pending": OrderStatus.PENDING,
    "processing": OrderStatus.ACCEPTED,
    "on-hold": OrderStatus.ACCEPTED,
    "completed": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
}
"""Every documented status but `refunded` (its meaning depends on `date_completed`) and
`checkout-draft` (not an order)."""

UNMANAGED_STOCK: Final = (
    "stock management is off for this product in WooCommerce: the hub pushes nothing to "
    "it; turn 'Manage stock' on to have it pushed"
)
PARENT_STOCK: Final = (
    "this variation's stock is managed on its parent product in WooCommerce: the hub "
    "pushes nothing to it; turn 'Manage stock' on for the variation to have it pushed"
)


def listing_key(product_id: Any, variation_id: Any) -> str:
    """The hub's name of a WooCommerce listing without a SKU."""
    if variation_id not in (None, 0, "0", ""):
        return f"woocommerce:variation:{int(variation_id)}"
    return f"woocommerce:product:{int(product_id)}"


def is_checkout_draft(order: Any) -> bool:
    return isinstance(order, dict) and order.get("status") == CHECKOUT_DRAFT


def order_status(status: Any, date_completed: Any) -> OrderStatus:
    """The hub's status of a WooCommerce order (the table in this module's docstring)."""
    if status == REFUNDED:
        return OrderStatus.RETURNED if date_completed else OrderStatus.CANCELLED
    if isinstance(status, str) and status in ORDER_STATUSES:
        return ORDER_STATUSES[status]
    raise ValueError(f"status {status!r} is not one WooCommerce documents (a plugin's own?)")


def order_from_payload(order: Any) -> NormalisedOrder:
    """An order of the list, of GET /orders/{id} or of an order webhook. PayloadError
    (with its raw JSON) when it does not fit; a checkout draft is not given here."""
    try:
        if is_checkout_draft(order):
            raise ValueError("a checkout draft is not an order yet")
        status = order["status"]
        billing = order.get("billing") or {}
        return NormalisedOrder(
            external_id=str(int(order["id"])),
            display_name=f"#{order.get('number') or order['id']}",
            status=order_status(status, order.get("date_completed_gmt")),
            channel_status=str(status),
            placed_at=gmt_time(order["date_created_gmt"]),
            updated_at=gmt_time(order["date_modified_gmt"]),
            currency=order.get("currency") or None,
            total=decimal_or_none(order.get("total")),
            customer=_customer(billing),
            ship_to=_address(order.get("shipping")),
            lines=tuple(_line(item) for item in order["line_items"]),
            raw=order,
        )
    except MAPPING_ERRORS as error:
        external_id = order.get("id") if isinstance(order, dict) else None
        raise mapping_failure(order, error, external_id) from None


def gmt_time(value: Any) -> datetime:
    """A WooCommerce `*_gmt` time: ISO 8601 in UTC, usually without an offset."""
    if not isinstance(value, str):
        raise TypeError("times must be ISO 8601 strings")
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _customer(billing: Mapping[str, Any]) -> dict[str, Any] | None:
    name = " ".join(
        part for part in (billing.get("first_name"), billing.get("last_name")) if part
    ).strip()
    customer = {
        "name": name or None,
        "email": billing.get("email") or None,
        "phone": billing.get("phone") or None,
    }
    return customer if any(customer.values()) else None


def _address(address: Any) -> dict[str, Any] | None:
    if not isinstance(address, dict) or not any(address.values()):
        return None
    return dict(address)


def _line(item: Mapping[str, Any]) -> NormalisedOrderLine:
    price = item.get("price")
    return NormalisedOrderLine(
        external_line_id=str(int(item["id"])),
        channel_sku=item.get("sku") or listing_key(item["product_id"], item.get("variation_id")),
        quantity=int(item["quantity"]),
        unit_price=None if price in (None, "") else Decimal(str(price)),
        title=html.unescape(str(item.get("name") or "")),
    )


# listings ------------------------------------------------------------------------------


def listing_from_product(product: Mapping[str, Any]) -> ChannelListing:
    """A simple product (or any product with stock of its own)."""
    product_id = int(product["id"])
    return ChannelListing(
        channel_sku=product.get("sku") or None,
        channel_ids={"product_id": product_id},
        quantity=_managed_quantity(product),
        title=html.unescape(str(product.get("name") or "")),
        barcode=_barcode(product),
        untracked_stock=None if product.get("manage_stock") is True else UNMANAGED_STOCK,
        own_key=listing_key(product_id, None),
    )


def listing_from_variation(
    parent: Mapping[str, Any], variation: Mapping[str, Any]
) -> ChannelListing:
    """One variation of a variable product: a listing of its own."""
    parent_id = int(parent["id"])
    variation_id = int(variation["id"])
    manage = variation.get("manage_stock")
    untracked = None if manage is True else PARENT_STOCK if manage == "parent" else UNMANAGED_STOCK
    return ChannelListing(
        channel_sku=variation.get("sku") or None,
        channel_ids={"product_id": parent_id, "variation_id": variation_id},
        quantity=_managed_quantity(variation),
        title=variation_title(parent, variation),
        barcode=_barcode(variation),
        untracked_stock=untracked,
        own_key=listing_key(parent_id, variation_id),
    )


def variation_title(parent: Mapping[str, Any], variation: Mapping[str, Any]) -> str:
    """The parent's name and the variation's options: "Ship Your Idea - Color: Black"."""
    options = ", ".join(
        f"{attribute.get('name')}: {attribute.get('option')}"
        for attribute in variation.get("attributes") or []
        if isinstance(attribute, dict) and attribute.get("option")
    )
    name = html.unescape(str(parent.get("name") or variation.get("name") or ""))
    return f"{name} - {options}" if options else name


def _managed_quantity(product: Mapping[str, Any]) -> int | None:
    if product.get("manage_stock") is not True or product.get("stock_quantity") is None:
        return None
    return int(product["stock_quantity"])


def _barcode(product: Mapping[str, Any]) -> str | None:
    value = product.get("global_unique_id")
    return value.strip() if isinstance(value, str) and value.strip() else None
