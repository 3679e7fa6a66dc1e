"""Pure functions from eBay's payloads (Sell Fulfillment orders, Sell Inventory items and
offers, bulk update answers) to core's DTOs, and the stock request they answer.

Every eBay enum value the mapping reads is in one table (STATUS_TABLE) whose keys are
the values eBay documents; an order with a value outside it is unmappable (quarantined,
and mapped again by `omnisync quarantine retry` once the table knows the value) rather
than guessed. An order's status, by the first rule that applies:

1. cancelState CANCELED: cancelled.
2. orderPaymentStatus FULLY_REFUNDED: cancelled when nothing of it shipped (a refund
   before shipping is how a cancellation ends), else returned.
3. orderPaymentStatus PENDING or FAILED: pending. eBay holds both as sold (the
   listing's quantity is already taken) while the money has not arrived: a pending
   payment may clear, a failed one may be paid again or end in a cancellation, which
   eBay then reports. Until then the units stay reserved and nothing ships.
4. orderFulfillmentStatus: NOT_STARTED accepted, IN_PROGRESS partially shipped,
   FULFILLED shipped.

A line eBay marks FULFILLED counts as shipped in full (eBay marks it so once any unit
of it is in a fulfilment: the closest reading there is), NOT_STARTED as none shipped,
IN_PROGRESS as not said. A line without a SKU (a listing made outside the Inventory
API) is named after its listing, `ebay:item:<legacyItemId>` (`/<legacyVariationId>`
added for a variation, which is a product of its own) and waits unlinked like any
unknown SKU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, TypeVar

from omnisync.connectors.ebay.client import ebay_errors
from omnisync.connectors.parsing import MAPPING_ERRORS, decimal_or_none, mapping_failure, timestamp
from omnisync.core.dto import (
    ChannelListing,
    NormalisedOrder,
    NormalisedOrderLine,
    PushResult,
    StockUpdate,
)
from omnisync.core.types import OrderStatus

V = TypeVar("V")


class Cancellation(Enum):
    NONE = "none"
    REQUESTED = "requested"
    """Someone asked eBay to cancel: getOrder tells who and why."""
    DONE = "done"


class Payment(Enum):
    SETTLED = "settled"
    """Paid (partial refunds included): the fulfilment status decides."""
    AWAITED = "awaited"
    REFUNDED = "refunded"


class LineShipped(Enum):
    NONE = "none"
    ALL = "all"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StatusTable:
    """eBay's enums as this mapping reads them: every documented value, by field."""

    cancel_state: Mapping[str, Cancellation]
    order_payment_status: Mapping[str, Payment]
    order_fulfillment_status: Mapping[str, OrderStatus]
    line_item_fulfillment_status: Mapping[str, LineShipped]
    cancel_request_state: Mapping[str, bool]
    """Whether a cancel request in this state still waits for the seller."""
    offer_status: Mapping[str, bool]
    """Whether an offer in this state is a live listing (bulkUpdatePriceQuantity
    revises published offers only)."""


STATUS_TABLE: Final = StatusTable(
    cancel_state={
        "NONE_REQUESTED": Cancellation.NONE,
        "IN_PROGRESS": Cancellation.REQUESTED,
        "CANCELED": Cancellation.DONE,
    },
    order_payment_status={
        "PAID": Payment.SETTLED,
        "PARTIALLY_REFUNDED": Payment.SETTLED,
        "PENDING": Payment.AWAITED,
        "FAILED": Payment.AWAITED,
        "FULLY_REFUNDED": Payment.REFUNDED,
    },
    order_fulfillment_status={
        "NOT_STARTED": OrderStatus.ACCEPTED,
        "IN_PROGRESS": OrderStatus.PARTIALLY_SHIPPED,
        "FULFILLED": OrderStatus.SHIPPED,
    },
    line_item_fulfillment_status={
        "NOT_STARTED": LineShipped.NONE,
        "IN_PROGRESS": LineShipped.UNKNOWN,
        "FULFILLED": LineShipped.ALL,
    },
    cancel_request_state={"REQUESTED": True, "COMPLETED": False, "REJECTED": False},
    offer_status={"PUBLISHED": True, "UNPUBLISHED": False},
)


def known(table: Mapping[str, V], field: str, value: Any) -> V:
    """eBay's `value` of `field` as the table reads it; ValueError for one it does not know."""
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{field} {value!r} is not one this connector knows")
    return table[value]


def order_status(cancel_state: str, payment_status: str, fulfilment_status: str) -> OrderStatus:
    """The hub's status of an eBay order (the rules in this module's docstring)."""
    cancellation = known(STATUS_TABLE.cancel_state, "cancelState", cancel_state)
    payment = known(STATUS_TABLE.order_payment_status, "orderPaymentStatus", payment_status)
    fulfilment = known(
        STATUS_TABLE.order_fulfillment_status, "orderFulfillmentStatus", fulfilment_status
    )
    if cancellation is Cancellation.DONE:
        return OrderStatus.CANCELLED
    if payment is Payment.REFUNDED:
        nothing_shipped = fulfilment is OrderStatus.ACCEPTED
        return OrderStatus.CANCELLED if nothing_shipped else OrderStatus.RETURNED
    if payment is Payment.AWAITED:
        return OrderStatus.PENDING
    return fulfilment


def cancel_requested(order: Any) -> bool:
    """Whether the order's cancelState says someone asked to cancel it (the order list
    never carries the requests themselves: getOrder does)."""
    if not isinstance(order, dict) or not isinstance(order.get("cancelStatus"), dict):
        return False
    state = order["cancelStatus"].get("cancelState")
    return STATUS_TABLE.cancel_state.get(state) is Cancellation.REQUESTED


def buyer_cancel_reason(cancel_requests: Sequence[Any]) -> tuple[bool, str | None]:
    """(whether a buyer's cancel request waits for the seller, the buyer's reason)."""
    for request in cancel_requests:
        state = request.get("cancelRequestState")
        waiting = known(STATUS_TABLE.cancel_request_state, "cancelRequestState", state)
        by_seller = str(request.get("cancelInitiator") or "").strip().lower() == "seller"
        if waiting and not by_seller:
            reason = request.get("cancelReason")
            return True, str(reason) if reason else None
    return False, None


def order_from_payload(order: Any) -> NormalisedOrder:
    """An Order of getOrders or getOrder. The buyer's cancel requests are read from
    `cancelStatus.cancelRequests`, which only getOrder fills."""
    try:
        cancel_status = order["cancelStatus"]
        fulfilment = order["orderFulfillmentStatus"]
        payment = order["orderPaymentStatus"]
        requested, reason = buyer_cancel_reason(cancel_status.get("cancelRequests") or [])
        total = order["pricingSummary"]["total"]
        ship_to = _ship_to(order)
        buyer = order.get("buyer") or {}
        username = buyer.get("username")
        return NormalisedOrder(
            external_id=order["orderId"],
            display_name=order["orderId"],
            status=order_status(cancel_status["cancelState"], payment, fulfilment),
            channel_status=_channel_status(cancel_status["cancelState"], payment, fulfilment),
            placed_at=timestamp(order["creationDate"]),
            updated_at=timestamp(order["lastModifiedDate"]),
            currency=total.get("currency"),
            total=decimal_or_none(total.get("value")),
            customer={"username": username, "name": (ship_to or {}).get("fullName")},
            buyer_ref=str(username) if username else None,
            ship_to=ship_to,
            lines=tuple(_line(item, requested, reason) for item in order["lineItems"]),
            ship_by=_ship_by(order["lineItems"]),
            raw=order,
        )
    except MAPPING_ERRORS as error:
        external_id = order.get("orderId") if isinstance(order, dict) else None
        raise mapping_failure(order, error, external_id) from None


def _channel_status(cancel_state: str, payment: str, fulfilment: str) -> str:
    """eBay's own words, short: NOT_STARTED/PAID, FULFILLED/PAID/CANCEL_IN_PROGRESS, ..."""
    words = [fulfilment, payment]
    if cancel_state != "NONE_REQUESTED":
        words.append(f"CANCEL_{cancel_state}")
    return "/".join(words)


def _ship_by(items: Sequence[Mapping[str, Any]]) -> datetime | None:
    """The earliest `shipByDate` of the line items: the order is late once it passes."""
    dates = [
        timestamp(found)
        for item in items
        if (found := (item.get("lineItemFulfillmentInstructions") or {}).get("shipByDate"))
    ]
    return min(dates) if dates else None


def _ship_to(order: dict[str, Any]) -> dict[str, Any] | None:
    instructions = order.get("fulfillmentStartInstructions") or []
    first = instructions[0] if instructions else {}
    ship_to = (first.get("shippingStep") or {}).get("shipTo")
    return ship_to if isinstance(ship_to, dict) else None


def _line(item: dict[str, Any], cancel_requested: bool, reason: str | None) -> NormalisedOrderLine:
    quantity = int(item["quantity"])
    shipped_rule = known(
        STATUS_TABLE.line_item_fulfillment_status,
        "lineItemFulfillmentStatus",
        item.get("lineItemFulfillmentStatus"),
    )
    shipped = {LineShipped.NONE: 0, LineShipped.ALL: quantity, LineShipped.UNKNOWN: None}[
        shipped_rule
    ]
    cost = decimal_or_none((item.get("lineItemCost") or {}).get("value"))
    asked = cancel_requested and shipped != quantity
    return NormalisedOrderLine(
        external_line_id=item["lineItemId"],
        channel_sku=item.get("sku") or listing_key(item),
        quantity=quantity,
        unit_price=cost / quantity if cost is not None and quantity else None,
        title=item.get("title") or "",
        quantity_shipped=shipped,
        buyer_cancel_requested=asked,
        buyer_cancel_reason=reason if asked else None,
    )


def listing_key(item: Mapping[str, Any]) -> str:
    """The name of a line whose listing has no SKU: its listing (and variation)."""
    key = f"ebay:item:{item['legacyItemId']}"
    variation = item.get("legacyVariationId")
    return f"{key}/{variation}" if variation else key


# listings ------------------------------------------------------------------------------


def live_offers(offers: Sequence[Any], marketplace_id: str) -> list[dict[str, Any]]:
    """The published offers of the channel's marketplace (the listings buyers see)."""
    return [
        offer
        for offer in offers
        if isinstance(offer, dict)
        and offer.get("marketplaceId") == marketplace_id
        and STATUS_TABLE.offer_status.get(str(offer.get("status")), False)
        and offer.get("offerId")
    ]


def listing_from_item(item: Mapping[str, Any], offers: Sequence[dict[str, Any]]) -> ChannelListing:
    """An inventory item with its live offers on the channel's marketplace (none: the
    item is still listed, and its stock goes to its ship-to-home quantity only)."""
    product = item.get("product") or {}
    availability = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
    return ChannelListing(
        channel_sku=item["sku"],
        channel_ids={
            "offers": [
                {
                    "offerId": str(offer["offerId"]),
                    "listingId": (offer.get("listing") or {}).get("listingId"),
                }
                for offer in offers
            ]
        },
        quantity=visible_quantity(availability.get("quantity"), offers),
        title=product.get("title") or "",
        barcode=first_barcode(product),
    )


def visible_quantity(ship_to_home: Any, offers: Sequence[Mapping[str, Any]]) -> int | None:
    """What a buyer sees: an offer's available quantity, capped by the item's ship-to-home
    quantity (the most of the offers'); the ship-to-home quantity without offers."""
    total = None if ship_to_home is None else int(ship_to_home)
    seen = []
    for offer in offers:
        offered = offer.get("availableQuantity")
        if offered is None:
            if total is not None:
                seen.append(total)
            continue
        seen.append(int(offered) if total is None else min(total, int(offered)))
    return max(seen) if seen else total


def first_barcode(product: Mapping[str, Any]) -> str | None:
    """The first EAN, else UPC, else ISBN; sellers write "Does not apply" where a product
    has none, so only values with digits count."""
    for field in ("ean", "upc", "isbn"):
        for value in product.get(field) or []:
            if isinstance(value, str) and any(c.isdigit() for c in value):
                return value.strip()
    return None


# stock --------------------------------------------------------------------------------

SELLING_LIMITS_EXCEEDED = 25026
"""eBay's error for a revision its selling limits refuse: the listing's 250 revisions of
the day are used up (revisions made elsewhere count too). Held until eBay's next day."""
RETRIABLE_ERRORS = frozenset({25001, 25025})
"""A system error; concurrent access to the item ("try again later")."""


def price_quantity_request(update: StockUpdate) -> dict[str, Any]:
    """One `requests` entry of bulkUpdatePriceQuantity: the item's ship-to-home quantity
    and, for each of its live offers, the offer's available quantity."""
    request: dict[str, Any] = {
        "sku": update.channel_sku,
        "shipToLocationAvailability": {"quantity": update.quantity},
    }
    offers = [
        {"offerId": str(offer["offerId"]), "availableQuantity": update.quantity}
        for offer in update.channel_ids.get("offers") or []
        if isinstance(offer, dict) and offer.get("offerId")
    ]
    if offers:
        request["offers"] = offers
    return request


def stock_results(updates: Sequence[StockUpdate], responses: Any) -> list[PushResult]:
    """One result per update from bulkUpdatePriceQuantity's `responses`: acknowledged when
    every response for its SKU (the item's and its offers') says 200."""
    offer_skus = {
        str(offer.get("offerId")): update.channel_sku
        for update in updates
        for offer in update.channel_ids.get("offers") or []
        if isinstance(offer, dict)
    }
    answered: dict[str, list[dict[str, Any]]] = {}
    for response in responses if isinstance(responses, list) else []:
        if not isinstance(response, dict):
            continue
        sku = response.get("sku") or offer_skus.get(str(response.get("offerId")))
        if sku:
            answered.setdefault(str(sku), []).append(response)
    return [_stock_result(update, answered.get(update.channel_sku, [])) for update in updates]


def _stock_result(update: StockUpdate, responses: list[dict[str, Any]]) -> PushResult:
    if not responses:
        return PushResult(
            key=update.channel_sku,
            ok=False,
            error="eBay's answer says nothing of this SKU",
            retriable=True,
        )
    failed = [response for response in responses if response.get("statusCode") != 200]
    if not failed:
        return PushResult(key=update.channel_sku, ok=True, quantity=update.quantity)
    words = "; ".join(
        ebay_errors(response.get("errors")) or f"status {response.get('statusCode')}"
        for response in failed
    )
    error_ids = {
        error.get("errorId")
        for response in failed
        for error in response.get("errors") or []
        if isinstance(error, dict)
    }
    return PushResult(
        key=update.channel_sku,
        ok=False,
        error=words,
        retriable=bool(error_ids & RETRIABLE_ERRORS)
        or any(_retriable(response.get("statusCode")) for response in failed),
        daily_limit_reached=SELLING_LIMITS_EXCEEDED in error_ids,
    )


def _retriable(status: Any) -> bool:
    """A 5xx or a throttled item is eBay's trouble, not the request's: try it again."""
    try:
        code = int(status)
    except (TypeError, ValueError):
        return True
    return code >= 500 or code in (408, 429)
