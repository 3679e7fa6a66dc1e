"""Pure functions from the sandbox marketplace's JSON to core DTOs (tested on recorded payloads)."""

from __future__ import annotations

from typing import Any

from omnisync.connectors.parsing import MAPPING_ERRORS, decimal_or_none, mapping_failure, timestamp
from omnisync.core.dto import ChannelListing, NormalisedOrder, NormalisedOrderLine
from omnisync.core.types import OrderStatus

STATUSES = {
    "open": OrderStatus.ACCEPTED,
    "partially_fulfilled": OrderStatus.PARTIALLY_SHIPPED,
    "fulfilled": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
}


def order_from_json(item: Any) -> NormalisedOrder:
    """One order; anything that does not fit raises PayloadError with the raw item."""
    external_id = item.get("id") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise TypeError("an order must be an object")
        status = STATUSES[item["status"]]
        lines = item["line_items"]
        if not isinstance(lines, list):
            raise TypeError("line_items must be a list")
        return NormalisedOrder(
            external_id=str(item["id"]),
            display_name=str(item["id"]),  # the marketplace shows sellers its order id
            status=status,
            channel_status=item["status"],
            placed_at=timestamp(item["created_at"]),
            updated_at=timestamp(item["updated_at"]),
            currency=item.get("currency"),
            total=decimal_or_none(item.get("total")),
            customer=item.get("customer"),
            ship_to=item.get("shipping_address"),
            lines=tuple(_line(line) for line in lines),
            raw=item,
        )
    except MAPPING_ERRORS as error:
        raise mapping_failure(item, error, external_id) from None


def _line(item: dict[str, Any]) -> NormalisedOrderLine:
    return NormalisedOrderLine(
        external_line_id=str(item["id"]),
        channel_sku=item["sku"],
        title=item.get("title") or "",
        quantity=item["quantity"],
        unit_price=decimal_or_none(item.get("price")),
        quantity_shipped=item.get("fulfilled_quantity", 0),
        quantity_cancelled=item.get("cancelled_quantity", 0),
    )


def listing_from_json(item: dict[str, Any]) -> ChannelListing:
    return ChannelListing(
        channel_sku=item.get("sku") or None,
        channel_ids={"listing_id": item["id"]},
        quantity=item.get("quantity"),
        title=item.get("title") or "",
        barcode=item.get("barcode") or None,
        own_key=f"sandbox:{item['id']}",
    )
