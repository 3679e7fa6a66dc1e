"""Pure functions from Shopify payloads (GraphQL nodes, REST-shaped webhooks) to core DTOs."""

from __future__ import annotations

from typing import Any

from omnisync.connectors.parsing import MAPPING_ERRORS, decimal_or_none, mapping_failure, timestamp
from omnisync.core.dto import ChannelListing, NormalisedOrder, NormalisedOrderLine
from omnisync.core.types import OrderStatus

_FULFILMENT = {
    "FULFILLED": OrderStatus.SHIPPED,
    "PARTIALLY_FULFILLED": OrderStatus.PARTIALLY_SHIPPED,
}


def _external_id(item: Any) -> Any:
    return (item.get("admin_graphql_api_id") or item.get("id")) if isinstance(item, dict) else None


def order_status(cancelled: bool, fulfilment: str | None, financial: str | None) -> OrderStatus:
    if cancelled:
        return OrderStatus.CANCELLED
    if fulfilment in _FULFILMENT:
        return _FULFILMENT[fulfilment]
    if (financial or "").upper() in ("PENDING", "AUTHORIZED"):
        return OrderStatus.PENDING  # sold, not yet paid: the unit is still gone
    return OrderStatus.ACCEPTED


def order_from_node(node: Any, line_nodes: list[Any]) -> NormalisedOrder:
    """A GraphQL Order node (lineItems already gathered across pages)."""
    try:
        money = node["totalPriceSet"]["shopMoney"]
        cancelled = node.get("cancelledAt") is not None
        return NormalisedOrder(
            external_id=node["id"],
            display_name=_display_name(node.get("name")),
            status=order_status(
                cancelled, node.get("displayFulfillmentStatus"), node.get("displayFinancialStatus")
            ),
            channel_status=str(node.get("displayFulfillmentStatus") or ""),
            status_reason=node.get("cancelReason"),
            placed_at=timestamp(node["createdAt"]),
            updated_at=timestamp(node["updatedAt"]),
            currency=money["currencyCode"],
            total=decimal_or_none(money["amount"]),
            customer=_customer(node.get("customer")),
            ship_to=node.get("shippingAddress"),
            lines=tuple(_graphql_line(line) for line in line_nodes),
            raw=node,
        )
    except MAPPING_ERRORS as error:
        raise mapping_failure(node, error, _external_id(node)) from None


def _display_name(name: Any) -> str | None:
    """The order's `name` as the shop shows it ("#1001"); None when Shopify sent none."""
    if name is None:
        return None
    return str(name).strip() or None


def _graphql_line(line: dict[str, Any]) -> NormalisedOrderLine:
    quantity = int(line["quantity"])
    current = int(line.get("currentQuantity", quantity))
    unfulfilled = int(line.get("unfulfilledQuantity", current))
    price = ((line.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
    return NormalisedOrderLine(
        external_line_id=line["id"],
        channel_sku=line.get("sku") or _no_sku(line),
        title=line.get("title") or "",
        quantity=quantity,
        unit_price=decimal_or_none(price),
        quantity_cancelled=max(quantity - current, 0),
        quantity_shipped=max(current - unfulfilled, 0),
    )


def _no_sku(line: dict[str, Any]) -> str:
    """Lines without a SKU are kept under their variant's own name (that of its listing);
    custom items, which have no variant, under the line's."""
    variant = (line.get("variant") or {}).get("id")
    return variant_key(variant or line["id"])


def variant_key(gid: str) -> str:
    """The name of a variant without a SKU, for its listing and its order lines alike."""
    return f"shopify:{gid}"


def _customer(customer: Any) -> dict[str, Any] | None:
    if not isinstance(customer, dict):
        return None
    return {"name": customer.get("displayName"), "email": customer.get("email")}


def listing_from_variant(node: dict[str, Any]) -> ChannelListing:
    item = node.get("inventoryItem") or {}
    levels = {
        level["location"]["id"]: _available(level)
        for level in ((item.get("inventoryLevels") or {}).get("nodes") or [])
    }
    return ChannelListing(
        channel_sku=node.get("sku") or None,
        channel_ids={
            "variant_id": node["id"],
            "inventory_item_id": item.get("id"),
            "levels": levels,
        },
        quantity=None,
        title=node.get("displayName") or "",
        barcode=node.get("barcode") or None,
        own_key=variant_key(node["id"]),
    )


def _available(level: dict[str, Any]) -> int | None:
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available":
            return int(quantity["quantity"])
    return None


def order_from_webhook(payload: Any) -> NormalisedOrder:
    """A REST-shaped order as Shopify's order webhooks deliver it."""
    try:
        fulfilment = {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            payload.get("fulfillment_status") or ""
        )
        return NormalisedOrder(
            external_id=payload["admin_graphql_api_id"],
            display_name=_display_name(payload.get("name")),
            status=order_status(
                payload.get("cancelled_at") is not None,
                fulfilment,
                payload.get("financial_status"),
            ),
            channel_status=str(fulfilment or "UNFULFILLED"),
            status_reason=payload.get("cancel_reason"),
            placed_at=timestamp(payload["created_at"]),
            updated_at=timestamp(payload["updated_at"]),
            currency=payload.get("currency"),
            total=decimal_or_none(payload.get("total_price") or None),
            customer=_rest_customer(payload.get("customer")),
            ship_to=payload.get("shipping_address"),
            lines=tuple(_rest_line(line) for line in payload["line_items"]),
            raw=payload,
        )
    except MAPPING_ERRORS as error:
        raise mapping_failure(payload, error, _external_id(payload)) from None


def _rest_line(line: dict[str, Any]) -> NormalisedOrderLine:
    quantity = int(line["quantity"])
    current = int(line.get("current_quantity", quantity))
    unfulfilled = int(line.get("fulfillable_quantity", current))
    return NormalisedOrderLine(
        external_line_id=line.get("admin_graphql_api_id") or f"gid://shopify/LineItem/{line['id']}",
        channel_sku=line.get("sku")
        or variant_key(f"gid://shopify/ProductVariant/{line.get('variant_id')}"),
        title=line.get("title") or "",
        quantity=quantity,
        unit_price=decimal_or_none(line.get("price")),
        quantity_cancelled=max(quantity - current, 0),
        quantity_shipped=max(current - unfulfilled, 0),
    )


def _rest_customer(customer: Any) -> dict[str, Any] | None:
    if not isinstance(customer, dict):
        return None
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    return {"name": name or None, "email": customer.get("email")}


CANCEL_REASONS = ("FRAUD", "CUSTOMER", "INVENTORY", "DECLINED", "STAFF", "OTHER")
"""Shopify's OrderCancelReason values, in the order an operator's words are matched."""


def cancel_reason(words: str | None) -> str:
    """The OrderCancelReason an operator's reason names ("fraud review" -> FRAUD), else
    OTHER; the words themselves go along as the staff note."""
    named = {word.strip(".,;:!?()").upper() for word in (words or "").split()}
    return next((reason for reason in CANCEL_REASONS if reason in named), "OTHER")


def cancel_errors(payload: Any) -> str | None:
    """The orderCancel payload's user errors in one line; None when there are none."""
    return user_errors(payload, "orderCancelUserErrors")


def user_errors(payload: Any, key: str = "userErrors") -> str | None:
    """A mutation payload's user errors (under `key`) in one line; None when there are
    none."""
    errors = (payload or {}).get(key) or []
    if not errors:
        return None
    return "; ".join(str(error.get("message") or error.get("code")) for error in errors)
