"""The Shopify connector: ORDERS, LISTINGS, STOCK, FULFILMENT, ORDER_CANCEL, WEBHOOKS and
RETURNS (returns.py) over Admin GraphQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Unpack

from omnisync.connectors.base import (
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    InvalidSignature,
    PayloadError,
    PermanentError,
)
from omnisync.connectors.pagination import walk_pages
from omnisync.connectors.parsing import (
    MAPPING_ERRORS,
    kept_json,
    mapping_failure,
    order_page,
    timestamp,
)
from omnisync.connectors.registry import register
from omnisync.connectors.shopify import documents
from omnisync.connectors.shopify.client import (
    CostBucket,
    ShopifyClient,
    connection_nodes,
    end_cursor,
    updated_since,
)
from omnisync.connectors.shopify.mapping import (
    cancel_errors,
    cancel_reason,
    listing_from_variant,
    order_from_node,
    order_from_webhook,
    user_errors,
)
from omnisync.connectors.shopify.returns import RETURN_TOPICS, ShopifyReturns
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import (
    QUARANTINED_ORDER,
    ChannelListing,
    Fulfilment,
    NormalisedOrder,
    ObservedQuantity,
    OrderPage,
    PushResult,
    StockUpdate,
    WebhookEvents,
)
from omnisync.core.types import ReturnAction

MAX_QUANTITIES = 250
ORDERS_PER_PAGE = 10  # with 10 line items each: under Shopify's 1,000 cost per query
LINE_ITEMS_PER_PAGE = 100
VARIANTS_PER_PAGE = 25
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})
LEVEL_TOPIC = "inventory_levels/update"
STALE = "CHANGE_FROM_QUANTITY_STALE"


@register
class ShopifyConnector(ShopifyReturns, Connector[ShopifySettings]):
    channel_type: ClassVar[str] = "shopify"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ORDERS,
            Capability.LISTINGS,
            Capability.STOCK,
            Capability.FULFILMENT,
            Capability.ORDER_CANCEL,
            Capability.WEBHOOKS,
            Capability.RETURNS,
        }
    )
    stock_batch_size: ClassVar[int] = MAX_QUANTITIES
    return_actions: ClassVar[frozenset[ReturnAction]] = frozenset(
        {ReturnAction.APPROVE, ReturnAction.DECLINE, ReturnAction.PROCESS, ReturnAction.REFUND}
    )

    def __init__(self, settings: ShopifySettings, **options: Unpack[ConnectorOptions]) -> None:
        super().__init__(settings, **options)
        base = (
            str(settings.endpoint).rstrip("/") if settings.endpoint else f"https://{settings.shop}"
        )
        self.client = ShopifyClient(
            f"{base}/admin/api/{settings.api_version}/graphql.json",
            settings.access_token.get_secret_value(),
            self.calls,
            timeout=settings.timeout_seconds,
            bucket=CostBucket(self.clock),
            costs=documents.REQUESTED_COST,
        )
        self._location: str | None = None

    def close(self) -> None:
        self.client.close()

    def check(self) -> list[str]:
        try:
            self.client.execute("Shop", documents.SHOP)
            problems = self.location_problems()
            if not problems:
                self.push_location()
        except ConnectorError as error:
            return [f"{type(error).__name__}: {error}"]
        return problems

    # orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        query = updated_since(since)

        def orders_after(after: str | None) -> Any:
            variables = {
                "first": min(self.settings.page_size, ORDERS_PER_PAGE),
                "after": after,
                "query": query,
            }
            return self.client.execute("Orders", documents.ORDERS, variables)["orders"]

        for connection in walk_pages("Orders", orders_after, end_cursor):
            yield self._page(connection["nodes"])

    def _page(self, nodes: list[Any]) -> OrderPage:
        return order_page(nodes, self._order)

    def _order(self, node: Any) -> NormalisedOrder:
        try:
            line_items = self._all_line_items(node)
        except MAPPING_ERRORS as error:
            external_id = node.get("id") if isinstance(node, dict) else None
            raise mapping_failure(node, error, external_id) from None
        return order_from_node(node, line_items)

    def _all_line_items(self, node: Any) -> list[Any]:
        """The order's line items: the first page came with the order, the rest are read."""
        first = (node or {}).get("lineItems") or {}
        first = {"nodes": first.get("nodes") or [], "pageInfo": first.get("pageInfo") or {}}

        def line_items_after(after: str) -> Any:
            variables = {"id": node["id"], "first": LINE_ITEMS_PER_PAGE, "after": after}
            data = self.client.execute("OrderLineItems", documents.ORDER_LINE_ITEMS, variables)
            return data["order"]["lineItems"]

        return connection_nodes("OrderLineItems", first, line_items_after)

    # listings -----------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[ChannelListing]:
        location = self.push_location()

        def variants_after(after: str | None) -> Any:
            variables = {"first": min(self.settings.page_size, VARIANTS_PER_PAGE), "after": after}
            return self.client.execute("Variants", documents.VARIANTS, variables)["productVariants"]

        for connection in walk_pages("Variants", variants_after, end_cursor):
            for node in connection["nodes"]:
                listing = listing_from_variant(node)
                level = listing.channel_ids.get("levels", {}).get(location)
                yield listing.model_copy(update={"quantity": level})

    def push_location(self) -> str:
        """The Shopify location gid stock is pushed to: `push_location` when set, else
        the first of the channel's hub locations that maps to one (`location_map`, or
        the same name), else the shop's only active location."""
        if self._location is None:
            wanted = self.settings.push_location
            if wanted and wanted.startswith("gid://"):
                self._location = wanted
            elif wanted:
                self._location = self._location_named(wanted)
            else:
                self._location = self._mapped_location()
        return self._location

    def location_mapping(self, shop: Mapping[str, str]) -> dict[str, str | None]:
        """Hub location code -> the active Shopify location gid it maps to (None: none).

        `shop` is the shop's active locations (gid -> name)."""
        if self.settings.location_map is not None:
            return {
                code: gid if gid in shop else None
                for code, gid in self.settings.location_map.items()
                if not self.hub_locations or code in self.hub_locations
            } | {
                code: None for code in self.hub_locations if code not in self.settings.location_map
            }
        by_name = {name.strip().casefold(): gid for gid, name in shop.items()}
        return {
            code: by_name.get(name.strip().casefold()) or by_name.get(code.casefold())
            for code, name in self.hub_locations.items()
        }

    def location_problems(self) -> list[str]:
        """Hub locations that map to no Shopify location, in words for `omnisync check`."""
        shop = self._shop_locations()
        known = ", ".join(repr(name) for name in shop.values()) or "none"
        problems = []
        for code, gid in self.location_mapping(shop).items():
            if gid is not None:
                continue
            mapped = (self.settings.location_map or {}).get(code)
            if mapped is not None:
                problems.append(
                    f"location_map: hub location {code!r} maps to {mapped}, "
                    f"which is not an active location of the shop (it has: {known})"
                )
            else:
                name = self.hub_locations.get(code, code)
                problems.append(
                    f"hub location {code!r} ({name}) maps to no Shopify location "
                    f"(the shop has: {known}); name it in location_map"
                )
        return problems

    def _shop_locations(self) -> dict[str, str]:
        data = self.client.execute("Locations", documents.LOCATIONS, {"first": 250})
        return {
            str(node["id"]): str(node["name"])
            for node in data["locations"]["nodes"]
            if node.get("isActive", True)
        }

    def _location_named(self, name: str) -> str:
        for gid, shop_name in self._shop_locations().items():
            if shop_name == name:
                return gid
        raise PermanentError(f"push_location: no active Shopify location named {name!r}")

    def _mapped_location(self) -> str:
        if self.settings.location_map and not self.hub_locations:
            return next(iter(self.settings.location_map.values()))
        shop = self._shop_locations()
        for gid in self.location_mapping(shop).values():
            if gid is not None:
                return gid
        if len(shop) == 1:
            return next(iter(shop))
        raise PermanentError(
            "cannot tell which Shopify location to push stock to: no hub location of this "
            "channel maps to one; set location_map or push_location "
            "(`omnisync check --connect` lists them)"
        )

    # stock --------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        location = self.push_location()
        results: dict[int, PushResult] = {}
        pending = list(range(len(updates)))
        change_from = {i: updates[i].last_acknowledged for i in pending}
        reread_done = False
        while pending:
            errors = self._set_quantities(updates, pending, change_from, location)
            if not errors:
                for i in pending:
                    results[i] = PushResult(
                        key=updates[i].channel_sku, ok=True, quantity=updates[i].quantity
                    )
                break
            stale = {i for i, (code, _) in errors.items() if code == STALE}
            if stale and not reread_done:
                # Someone changed the level on Shopify: read it and compare-and-set again.
                reread_done = True
                for i in stale:
                    change_from[i] = self._current_level(updates[i], location)
                continue
            for i, (_, message) in errors.items():
                results[i] = PushResult(
                    key=updates[i].channel_sku, ok=False, error=message, retriable=i in stale
                )
            # The mutation is all or nothing: send the others again without the failures.
            pending = [i for i in pending if i not in errors]
        return [results[i] for i in range(len(updates))]

    def _set_quantities(
        self,
        updates: Sequence[StockUpdate],
        indexes: list[int],
        change_from: Mapping[int, int | None],
        location: str,
    ) -> dict[int, tuple[str, str]]:
        """One inventorySetQuantities call; {update index: (code, message)} of refusals."""
        quantities = [
            {
                "inventoryItemId": updates[i].channel_ids.get("inventory_item_id"),
                "locationId": location,
                "quantity": updates[i].quantity,
                "changeFromQuantity": change_from[i],
            }
            for i in indexes
        ]
        variables = {
            "input": {"name": "available", "reason": "correction", "quantities": quantities},
            # One key per batch and attempt; the engine's retries of this call reuse it.
            "key": uuid.uuid4().hex,
        }
        data = self.client.execute("SetQuantities", documents.SET_QUANTITIES, variables)
        payload = data.get("inventorySetQuantities") or {}
        refused: dict[int, tuple[str, str]] = {}
        for error in payload.get("userErrors") or []:
            position = _quantity_index(error.get("field"))
            known = position is not None and 0 <= position < len(indexes)
            targets = [indexes[position]] if known and position is not None else indexes
            for i in targets:
                refused[i] = (str(error.get("code")), str(error.get("message")))
        return refused

    def _current_level(self, update: StockUpdate, location: str) -> int | None:
        data = self.client.execute(
            "InventoryLevel",
            documents.INVENTORY_LEVEL,
            {"item": update.channel_ids.get("inventory_item_id"), "location": location},
        )
        level = (data.get("inventoryItem") or {}).get("inventoryLevel") or {}
        for quantity in level.get("quantities") or []:
            if quantity.get("name") == "available":
                return int(quantity["quantity"])
        return None

    # fulfilments --------------------------------------------------------------------

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        data = self.client.execute(
            "FulfillmentOrders",
            documents.FULFILLMENT_ORDERS,
            {"id": fulfilment.order_external_id},
        )
        order = data.get("order")
        if order is None:
            return PushResult(
                key=fulfilment.order_external_id,
                ok=False,
                error="the order does not exist on Shopify",
            )
        wanted = {line.external_line_id: line.quantity for line in fulfilment.lines}
        groups = []
        for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
            items = []
            for item in fulfillment_order["lineItems"]["nodes"]:
                take = min(wanted.get(item["lineItem"]["id"], 0), item["remainingQuantity"])
                if take > 0:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[item["lineItem"]["id"]] -= take
            if items:
                groups.append(
                    {
                        "fulfillmentOrderId": fulfillment_order["id"],
                        "fulfillmentOrderLineItems": items,
                    }
                )
        if not groups or any(wanted.values()):
            return PushResult(
                key=fulfilment.order_external_id,
                ok=False,
                error="nothing left to fulfil for these lines on Shopify",
            )
        tracking: dict[str, Any] = {
            "company": fulfilment.carrier,
            "number": fulfilment.tracking_number,
        }
        if fulfilment.tracking_url:
            tracking["url"] = fulfilment.tracking_url
        data = self.client.execute(
            "FulfillmentCreate",
            documents.FULFILLMENT_CREATE,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": groups,
                    "notifyCustomer": fulfilment.notify_customer and self.settings.notify_customer,
                    "trackingInfo": tracking,
                }
            },
        )
        refused = user_errors(data.get("fulfillmentCreate"))
        if refused is not None:
            return PushResult(key=fulfilment.order_external_id, ok=False, error=refused)
        return PushResult(key=fulfilment.order_external_id, ok=True)

    # cancellations ------------------------------------------------------------------

    def cancel_order(self, external_id: str, reason: str | None) -> PushResult:
        """orderCancel: what has not been fulfilled is cancelled and the buyer refunded to
        the original payment methods. No restock on Shopify: the hub owns the quantity and
        pushes what the released units make available."""
        data = self.client.execute(
            "OrderCancel",
            documents.ORDER_CANCEL,
            {
                "orderId": external_id,
                "reason": cancel_reason(reason),
                "staffNote": reason,
                "notifyCustomer": self.settings.notify_customer,
                "restock": False,
                "refundMethod": {"originalPaymentMethodsRefund": True},
            },
        )
        refused = cancel_errors(data.get("orderCancel"))
        if refused is not None:
            return PushResult(key=external_id, ok=False, error=refused)
        return PushResult(key=external_id, ok=True)

    # webhooks -----------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> None:
        secret = self.settings.client_secret
        given = _header(headers, "X-Shopify-Hmac-Sha256")
        if secret is None or not given:
            raise InvalidSignature("the webhook is not signed or no client_secret is set")
        digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), given.strip()):
            raise InvalidSignature("the webhook signature does not match")

    def webhook_delivery(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        return _header(headers, "X-Shopify-Webhook-Id"), _header(headers, "X-Shopify-Topic") or ""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvents:
        self.verify_webhook(headers, body)
        topic = _header(headers, "X-Shopify-Topic") or ""
        if topic not in ORDER_TOPICS | RETURN_TOPICS and topic != LEVEL_TOPIC:
            return WebhookEvents()
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise PayloadError(
                f"webhook body is not JSON: {error}", body.decode(errors="replace")
            ) from None
        if topic == LEVEL_TOPIC:
            return WebhookEvents(quantities=self._observed_level(payload))
        if topic in RETURN_TOPICS:
            triggered = _triggered_at(headers)
            return self.returns_webhook(topic, payload, triggered, body.decode(errors="replace"))
        return WebhookEvents(orders=(order_from_webhook(payload),))

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """A return (a page's Return node, or a returns delivery: its return read again),
        an order node of a page (its further line items read again), or a webhook's
        payload: an inventory level or a REST-shaped order."""
        payload = kept_json(raw)
        returned = self.quarantined_return(kind, payload)
        if returned is not None:
            return returned
        if kind == QUARANTINED_ORDER:
            return WebhookEvents(orders=(self._order(payload),))
        if isinstance(payload, dict) and "inventory_item_id" in payload:
            return WebhookEvents(quantities=self._observed_level(payload))
        return WebhookEvents(orders=(order_from_webhook(payload),))

    def _observed_level(self, payload: Any) -> tuple[ObservedQuantity, ...]:
        """The `available` of an inventory level at the location we push to; other
        locations are not ours to compare."""
        try:
            item = f"gid://shopify/InventoryItem/{int(payload['inventory_item_id'])}"
            location = f"gid://shopify/Location/{int(payload['location_id'])}"
            available = payload["available"]
        except (KeyError, TypeError, ValueError) as error:
            raise PayloadError(
                f"inventory level webhook without {error}", json.dumps(payload)
            ) from None
        if available is None or location != self.push_location():
            return ()
        return (ObservedQuantity(key="inventory_item_id", value=item, quantity=int(available)),)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _triggered_at(headers: Mapping[str, str]) -> datetime | None:
    """X-Shopify-Triggered-At: when the change a delivery reports happened (None when
    absent or unreadable)."""
    given = _header(headers, "X-Shopify-Triggered-At")
    try:
        return timestamp(given.replace("Z", "+00:00")) if given else None
    except (TypeError, ValueError):
        return None


def _quantity_index(field: Any) -> int | None:
    """["input", "quantities", "3", "changeFromQuantity"] -> 3."""
    if isinstance(field, list) and len(field) >= 3 and field[1] == "quantities":
        try:
            return int(field[2])
        except (TypeError, ValueError):
            return None
    return None
