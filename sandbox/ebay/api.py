"""The eBay operations the simulator serves, each a function of a :class:`Call`.

A mixin of :class:`sandbox.ebay.simulator.EbaySimulator`; the simulator's request
pipeline (authentication, throttling, faults, recording) calls these under its lock,
and turns an :class:`~sandbox.ebay.errors.EbayApiError` into eBay's error envelope.
:data:`OPERATIONS` lists them with their paths, APIs and the scopes a user token
needs (None: any valid token, user or application, as getPublicKey takes).

Paging in the Inventory API follows its contract: ``offset`` is the page number (0 the
first), ``limit`` the page size (getInventoryItems: 1 to 200, default 25; getOffers:
default 100), ``total`` the number of records and, for inventory items, ``size`` the
number of pages (for offers, the number on this page). ``href``, ``next`` and ``prev``
are full URLs a client can follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from omnisync.sandbox.ebay.auth import SCOPE_BASE
from omnisync.sandbox.ebay.bulk_update import bulk_update
from omnisync.sandbox.ebay.errors import (
    ENTITY_NOT_FOUND,
    FULFILLMENT,
    INVALID_FULFILLMENT_ID,
    INVALID_KEY_ID,
    INVALID_PAGINATION,
    INVENTORY,
    NOTIFICATION,
    OFFER_NOT_AVAILABLE,
    Api,
    EbayApiError,
    invalid_value,
)
from omnisync.sandbox.ebay.model import JSON, query_int
from omnisync.sandbox.ebay.order_view import order_json
from omnisync.sandbox.ebay.orders import FULFILLMENT_PATH
from omnisync.sandbox.ebay.shipping import create_shipping_fulfillment, known_order

if TYPE_CHECKING:
    from omnisync.sandbox.ebay.inventory import Catalogue
    from omnisync.sandbox.ebay.notifications import SigningKey
    from omnisync.sandbox.ebay.order_query import OrderFeed
    from omnisync.sandbox.ebay.orders import OrderBook

INVENTORY_PATH: Final = "/sell/inventory/v1"
NOTIFICATION_PATH: Final = "/commerce/notification/v1"
INVENTORY_LIMITS: Final = (25, 200)
OFFER_LIMITS: Final = (100, 200)

INVENTORY_READ: Final = frozenset(
    {f"{SCOPE_BASE}/sell.inventory", f"{SCOPE_BASE}/sell.inventory.readonly"}
)
INVENTORY_WRITE: Final = frozenset({f"{SCOPE_BASE}/sell.inventory"})
FULFILLMENT_READ: Final = frozenset(
    {f"{SCOPE_BASE}/sell.fulfillment", f"{SCOPE_BASE}/sell.fulfillment.readonly"}
)
FULFILLMENT_WRITE: Final = frozenset({f"{SCOPE_BASE}/sell.fulfillment"})


@dataclass(frozen=True)
class Call:
    """What an operation is given of its request."""

    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    """The parsed JSON body, or None."""
    base_url: str
    """``http://127.0.0.1:PORT``: what ``href`` and ``Location`` are built on."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    """JSON, or None for an empty body."""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    name: str
    """eBay's operationId."""
    method: str
    path: str
    api: Api
    scopes: frozenset[str] | None
    """A user token needs one of these; None: any valid token."""
    handle: Callable[[EbayOperations, Call], Answer]


class EbayOperations:
    """The handlers; the state they read is the simulator's."""

    if TYPE_CHECKING:
        catalogue: Catalogue
        book: OrderBook
        order_feed: OrderFeed
        signing_key: SigningKey

    # Sell Inventory -----------------------------------------------------------------

    def get_inventory_items(self, call: Call) -> Answer:
        limit, page = _paging(call.query, *INVENTORY_LIMITS)
        items = list(self.catalogue.items.values())
        chosen = items[page * limit : (page + 1) * limit]
        body = _page_links(call, f"{INVENTORY_PATH}/inventory_item", {}, limit, page, len(items))
        body["size"] = math.ceil(len(items) / limit)
        body["inventoryItems"] = [item.to_json() for item in chosen]
        return Answer(200, body)

    def get_inventory_item(self, call: Call) -> Answer:
        item = self.catalogue.items.get(call.path_params["sku"])
        if item is None:
            raise EbayApiError(
                404,
                ENTITY_NOT_FOUND,
                INVENTORY.domain,
                "We didn't find the resource/entity you are requesting. Please verify the request",
                parameters=(("sku", call.path_params["sku"]),),
            )
        return Answer(200, item.to_json())

    def get_offers(self, call: Call) -> Answer:
        sku = call.query.get("sku")
        if not sku:
            raise invalid_value("sku", "", "The sku query parameter is required.")
        limit, page = _paging(call.query, *OFFER_LIMITS)
        marketplace = call.query.get("marketplace_id")
        listing_format = call.query.get("format")
        offers = [
            offer
            for offer in self.catalogue.offers_of(sku)
            if (marketplace is None or offer.marketplace_id == marketplace)
            and (listing_format is None or listing_format == "FIXED_PRICE")
        ]
        if not offers:
            raise _no_offer(sku)
        chosen = offers[page * limit : (page + 1) * limit]
        kept = {
            name: call.query[name]
            for name in ("sku", "marketplace_id", "format")
            if name in call.query
        }
        body = _page_links(call, f"{INVENTORY_PATH}/offer", kept, limit, page, len(offers))
        body["size"] = len(chosen)
        body["offers"] = [offer.to_json() for offer in chosen]
        return Answer(200, body)

    def get_offer(self, call: Call) -> Answer:
        offer = self.catalogue.offers.get(call.path_params["offerId"])
        if offer is None:
            raise _no_offer(call.path_params["offerId"])
        return Answer(200, offer.to_json())

    def bulk_update_price_quantity(self, call: Call) -> Answer:
        status, body = bulk_update(self.catalogue, call.body)
        return Answer(status, body)

    # Sell Fulfillment ---------------------------------------------------------------

    def get_orders(self, call: Call) -> Answer:
        return Answer(200, self.order_feed.page(call.query, call.base_url))

    def get_order(self, call: Call) -> Answer:
        order = known_order(self.book, call.path_params["orderId"], status=404)
        return Answer(200, order_json(order, self.book.seller_id, call.base_url, detailed=True))

    def create_shipping_fulfillment(self, call: Call) -> Answer:
        order_id = call.path_params["orderId"]
        made = create_shipping_fulfillment(self.book, order_id, call.body)
        location = (
            f"{call.base_url}{FULFILLMENT_PATH}/{order_id}/shipping_fulfillment/"
            f"{made.fulfillment_id}"
        )
        return Answer(201, {}, {"Location": location})

    def get_shipping_fulfillments(self, call: Call) -> Answer:
        order = known_order(self.book, call.path_params["orderId"], status=400)
        made = [fulfillment.to_json() for fulfillment in order.fulfillments]
        return Answer(200, {"fulfillments": made, "total": len(made)})

    def get_shipping_fulfillment(self, call: Call) -> Answer:
        order_id = call.path_params["orderId"]
        known_order(self.book, order_id, status=404)
        found = self.book.fulfillment(order_id, call.path_params["fulfillmentId"])
        if found is None:
            raise EbayApiError(
                404,
                INVALID_FULFILLMENT_ID,
                FULFILLMENT.domain,
                f"Invalid shipping fulfillment ID: {call.path_params['fulfillmentId']}",
                parameters=(("fulfillmentId", call.path_params["fulfillmentId"]),),
            )
        return Answer(200, found.to_json())

    # Commerce Notification ----------------------------------------------------------

    def get_public_key(self, call: Call) -> Answer:
        if call.path_params["public_key_id"] != self.signing_key.key_id:
            raise EbayApiError(
                404,
                INVALID_KEY_ID,
                NOTIFICATION.domain,
                "The specified key id is invalid.",
                parameters=(("public_key_id", call.path_params["public_key_id"]),),
            )
        key = self.signing_key.public_pem()
        return Answer(200, {"algorithm": "ECDSA", "digest": "SHA1", "key": key})


OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        "getInventoryItems",
        "GET",
        f"{INVENTORY_PATH}/inventory_item",
        INVENTORY,
        INVENTORY_READ,
        EbayOperations.get_inventory_items,
    ),
    Operation(
        "getInventoryItem",
        "GET",
        f"{INVENTORY_PATH}/inventory_item/{{sku}}",
        INVENTORY,
        INVENTORY_READ,
        EbayOperations.get_inventory_item,
    ),
    Operation(
        "getOffers",
        "GET",
        f"{INVENTORY_PATH}/offer",
        INVENTORY,
        INVENTORY_READ,
        EbayOperations.get_offers,
    ),
    Operation(
        "getOffer",
        "GET",
        f"{INVENTORY_PATH}/offer/{{offerId}}",
        INVENTORY,
        INVENTORY_READ,
        EbayOperations.get_offer,
    ),
    Operation(
        "bulkUpdatePriceQuantity",
        "POST",
        f"{INVENTORY_PATH}/bulk_update_price_quantity",
        INVENTORY,
        INVENTORY_WRITE,
        EbayOperations.bulk_update_price_quantity,
    ),
    Operation(
        "getOrders",
        "GET",
        FULFILLMENT_PATH,
        FULFILLMENT,
        FULFILLMENT_READ,
        EbayOperations.get_orders,
    ),
    Operation(
        "getOrder",
        "GET",
        f"{FULFILLMENT_PATH}/{{orderId}}",
        FULFILLMENT,
        FULFILLMENT_READ,
        EbayOperations.get_order,
    ),
    Operation(
        "getShippingFulfillments",
        "GET",
        f"{FULFILLMENT_PATH}/{{orderId}}/shipping_fulfillment",
        FULFILLMENT,
        FULFILLMENT_READ,
        EbayOperations.get_shipping_fulfillments,
    ),
    Operation(
        "createShippingFulfillment",
        "POST",
        f"{FULFILLMENT_PATH}/{{orderId}}/shipping_fulfillment",
        FULFILLMENT,
        FULFILLMENT_WRITE,
        EbayOperations.create_shipping_fulfillment,
    ),
    Operation(
        "getShippingFulfillment",
        "GET",
        f"{FULFILLMENT_PATH}/{{orderId}}/shipping_fulfillment/{{fulfillmentId}}",
        FULFILLMENT,
        FULFILLMENT_READ,
        EbayOperations.get_shipping_fulfillment,
    ),
    Operation(
        "getPublicKey",
        "GET",
        f"{NOTIFICATION_PATH}/public_key/{{public_key_id}}",
        NOTIFICATION,
        None,
        EbayOperations.get_public_key,
    ),
)


def _paging(query: Mapping[str, str], default: int, maximum: int) -> tuple[int, int]:
    """(limit, page) of an Inventory API listing; 400 25706 for values out of range."""
    try:
        limit = query_int(query.get("limit"), default)
        page = query_int(query.get("offset"), 0)
    except ValueError:
        limit = page = -1
    if not 1 <= limit <= maximum or page < 0:
        raise EbayApiError(
            400,
            INVALID_PAGINATION,
            INVENTORY.domain,
            f"You have provided invalid pagination values. limit must be 1 to {maximum} "
            "and offset a page number, 0 or more.",
            parameters=(
                ("limit", query.get("limit", "")),
                ("offset", query.get("offset", "")),
            ),
        )
    return limit, page


def _page_links(
    call: Call, path: str, kept: Mapping[str, str], limit: int, page: int, total: int
) -> JSON:
    def url(at: int) -> str:
        return f"{call.base_url}{path}?{urlencode({**kept, 'limit': limit, 'offset': at})}"

    body: JSON = {"href": url(page), "limit": limit, "total": total}
    if (page + 1) * limit < total:
        body["next"] = url(page + 1)
    if page > 0:
        body["prev"] = url(min(page - 1, max(0, math.ceil(total / limit) - 1)))
    return body


def _no_offer(what: str) -> EbayApiError:
    return EbayApiError(
        404,
        OFFER_NOT_AVAILABLE,
        INVENTORY.domain,
        f"This Offer is not available : {what}.",
        parameters=(("offer", what),),
    )
