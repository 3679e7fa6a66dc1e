"""The WooCommerce connector: ORDERS, LISTINGS, STOCK and FULFILMENT over a shop's REST
API v3, WEBHOOKS as WooCommerce's signed deliveries.

Orders are read by modification time (`modified_after`, in UTC with `dates_are_gmt`),
oldest change first, a page at a time (connectors/woocommerce/paging.py); a page's
cursor is the newest `date_modified_gmt` on it. Checkout drafts (carts of the block
checkout) are left out: they are no orders yet.

Listings are the shop's products: a simple product is one listing, each variation of a
variable product another; grouped and external products hold no stock of their own and
are not listed. A listing whose stock WooCommerce does not count (`manage_stock` off) is
listed with the reason (`untracked_stock`) and gets nothing pushed.

Stock: connectors/woocommerce/stock.py (read, decide, batch write; the rule for a shop
without compare-and-set is there). Fulfilments: connectors/woocommerce/fulfilment.py.

WooCommerce orders are cancelled in the shop's admin, not through this connector
(manual_cancel_hint).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Unpack

import httpx

from omnisync.connectors.base import (
    MARKETPLACE,
    Capability,
    Connector,
    ConnectorError,
    ConnectorOptions,
    PayloadError,
    PermanentError,
)
from omnisync.connectors.parsing import MAPPING_ERRORS, kept_json, order_page
from omnisync.connectors.registry import register
from omnisync.connectors.woocommerce import client as ops
from omnisync.connectors.woocommerce.client import WooCommerceApi, make_http
from omnisync.connectors.woocommerce.fulfilment import (
    UNSHIPPABLE,
    all_shipped,
    has_tracking,
    note_text,
    recorded_shipments,
    tracking_body,
)
from omnisync.connectors.woocommerce.mapping import (
    is_checkout_draft,
    listing_from_product,
    listing_from_variation,
    order_from_payload,
)
from omnisync.connectors.woocommerce.paging import walk_numbered_pages
from omnisync.connectors.woocommerce.settings import MAX_PAGE_SIZE, WooCommerceSettings
from omnisync.connectors.woocommerce.stock import (
    BATCH_SIZE,
    Target,
    batch_body,
    batch_results,
    decide,
    target_of,
)
from omnisync.connectors.woocommerce.webhooks import (
    DELIVERY_ID,
    ORDER_DELETED,
    ORDER_TOPICS,
    ORDER_UPDATED,
    PRODUCT_TOPICS,
    TOPIC,
    header,
    is_ping,
    verify,
)
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

log = logging.getLogger(__name__)

LISTED_TYPES = frozenset({"simple", "variable"})
"""Product types with stock of their own (a variable product's is its variations')."""


@register
class WooCommerceConnector(Connector[WooCommerceSettings]):
    channel_type: ClassVar[str] = "woocommerce"
    capabilities: ClassVar[frozenset[Capability]] = MARKETPLACE | {Capability.WEBHOOKS}
    stock_batch_size: ClassVar[int] = BATCH_SIZE
    manual_cancel_hint: ClassVar[str] = (
        "cancel it in the shop's admin (WooCommerce > Orders > the order > Status: "
        "Cancelled); the hub reads the change back"
    )
    refund_hint: ClassVar[str] = (
        "the refund is issued in the shop's admin (WooCommerce > Orders > the order > Refund)"
    )

    def __init__(
        self,
        settings: WooCommerceSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[ConnectorOptions],
    ) -> None:
        """`transport`: where requests go instead of the network (tests, tools)."""
        super().__init__(settings, **options)
        self.http = make_http(
            settings.api_base(),
            settings.consumer_key.get_secret_value(),
            settings.consumer_secret.get_secret_value(),
            settings.timeout_seconds,
            transport,
        )
        self.api = WooCommerceApi(self.http, self.calls, settings.secret_values())

    def close(self) -> None:
        self.http.close()

    def check(self) -> list[str]:
        """One order and one product: the key reads both (it needs Read/Write for stock
        and notes, which only a write would show)."""
        problems = []
        for operation in (ops.LIST_ORDERS, ops.LIST_PRODUCTS):
            try:
                self.api.json_list(operation, self.api.call(operation, params={"per_page": 1}))
            except ConnectorError as error:
                problems.append(f"{operation.name}: {type(error).__name__}: {error}")
        if self.settings.webhook_secret is None:
            problems.append(
                "webhook_secret: not set, so webhook deliveries are refused (orders are "
                "still polled); set it to the secret the shop's webhooks are created with"
            )
        return problems

    # orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        params: dict[str, str | int] = {
            "orderby": "modified",
            "order": "asc",
            "per_page": self.settings.page_size,
            "dates_are_gmt": "true",
        }
        if since is not None:
            params["modified_after"] = woo_time(since)
        for items in self._pages(ops.LIST_ORDERS, params):
            drafts = [item for item in items if is_checkout_draft(item)]
            if drafts:
                log.debug("woocommerce: %d checkout drafts left out of the page", len(drafts))
            yield order_page([item for item in items if not is_checkout_draft(item)], self._order)

    def _order(self, order: Any) -> NormalisedOrder:
        return order_from_payload(order)

    def fetch_order(self, external_id: str) -> NormalisedOrder:
        order = self._get_order(external_id)
        if order is None:
            raise PayloadError(
                f"order {external_id}: WooCommerce does not know it", external_id=external_id
            )
        return order_from_payload(order)

    def _get_order(self, order_id: str) -> dict[str, Any] | None:
        """The order as WooCommerce has it; None when it does not know it (404)."""
        response = self.api.call(ops.GET_ORDER, path={"order_id": order_id}, allow=(404,))
        if response.status_code == 404:
            return None
        return self.api.json_object(ops.GET_ORDER, response)

    def _pages(
        self,
        operation: ops.Operation,
        params: Mapping[str, str | int],
        path: Mapping[str, str | int] | None = None,
    ) -> Iterator[Sequence[Any]]:
        def page(number: str) -> tuple[list[Any], httpx.Headers]:
            response = self.api.call(operation, path=path, params={**params, "page": number})
            return self.api.json_list(operation, response), response.headers

        page_size = int(params.get("per_page", MAX_PAGE_SIZE))
        return walk_numbered_pages(operation.name, page, page_size)

    # listings -----------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[ChannelListing]:
        params = {"per_page": self.settings.page_size}
        for products in self._pages(ops.LIST_PRODUCTS, params):
            for product in products:
                yield from self._listings_of(product)

    def _listings_of(self, product: Any) -> Iterator[ChannelListing]:
        if not isinstance(product, dict):
            log.warning("woocommerce: a product that is not an object was skipped")
            return
        kind = product.get("type")
        if kind not in LISTED_TYPES:
            log.debug(
                "woocommerce: product %s (%s) holds no stock: not listed", product.get("id"), kind
            )
            return
        try:
            if kind == "simple":
                yield listing_from_product(product)
                return
            path = {"product_id": int(product["id"])}
            params = {"per_page": self.settings.page_size}
            for variations in self._pages(ops.LIST_VARIATIONS, params, path):
                for variation in variations:
                    yield listing_from_variation(product, variation)
        except MAPPING_ERRORS as error:
            log.warning(
                "woocommerce: product %s cannot be listed: %s: %s",
                product.get("id"),
                type(error).__name__,
                error,
            )

    # stock --------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        groups: dict[int | None, list[Target]] = {}
        for index, update in enumerate(updates):
            target = target_of(index, update)
            if isinstance(target, PushResult):
                results[index] = target
                continue
            parent = target.product_id if target.variation_id is not None else None
            groups.setdefault(parent, []).append(target)
        for parent, targets in groups.items():
            for start in range(0, len(targets), BATCH_SIZE):
                results.update(self._push_batch(parent, targets[start : start + BATCH_SIZE]))
        return [results[index] for index in range(len(updates))]

    def _push_batch(self, parent: int | None, targets: Sequence[Target]) -> dict[int, PushResult]:
        """Read the batch's products (or one parent's variations), then write what the
        rules decide in one batch call."""
        ids = ",".join(sorted({str(target.item_id) for target in targets}))
        params: dict[str, str | int] = {"include": ids, "per_page": BATCH_SIZE}
        path: dict[str, str | int] | None = None
        if parent is None:
            read, write = ops.LIST_PRODUCTS, ops.BATCH_PRODUCTS
        else:
            read, write = ops.LIST_VARIATIONS, ops.BATCH_VARIATIONS
            path = {"product_id": parent}
        held = {
            str(item.get("id")): item
            for item in self.api.json_list(read, self.api.call(read, path=path, params=params))
            if isinstance(item, dict)
        }
        results: dict[int, PushResult] = {}
        writes: list[tuple[Target, int]] = []
        for target in targets:
            decided = decide(target, held.get(str(target.item_id)))
            if isinstance(decided, PushResult):
                results[target.index] = decided
            else:
                writes.append((target, decided))
        if writes:
            response = self.api.call(write, path=path, body=batch_body(writes))
            results.update(batch_results(writes, self.api.json_object(write, response)))
        return results

    # fulfilments --------------------------------------------------------------------

    def push_fulfilment(self, fulfilment: Fulfilment) -> PushResult:
        """The shipment's note (once), its tracking item (with `shipment_tracking`), and
        the order marked completed once the notes record every unit of it shipped."""
        order_id = fulfilment.order_external_id
        try:
            order = self._get_order(order_id)
        except PermanentError as error:
            return PushResult(key=order_id, ok=False, error=str(error))
        if order is None:
            return PushResult(key=order_id, ok=False, error="WooCommerce does not know the order")
        status = str(order.get("status"))
        if status in UNSHIPPABLE:
            return PushResult(
                key=order_id,
                ok=False,
                error=f"WooCommerce says order {order_id} is {status}: nothing to ship",
            )
        path = {"order_id": order_id}
        shipments = recorded_shipments(self._notes(path))
        if fulfilment.idempotency_key not in shipments:
            if self.settings.shipment_tracking:
                self._add_tracking(path, fulfilment)
            self._add_note(path, fulfilment)
            shipments[fulfilment.idempotency_key] = {
                line.external_line_id: line.quantity for line in fulfilment.lines
            }
        if status != "completed" and all_shipped(order, shipments.values()):
            self.api.call(ops.UPDATE_ORDER, path=path, body={"status": "completed"})
        return PushResult(key=order_id, ok=True)

    def _notes(self, path: Mapping[str, str]) -> list[Any]:
        return self.api.json_list(ops.LIST_NOTES, self.api.call(ops.LIST_NOTES, path=path))

    def _add_note(self, path: Mapping[str, str], fulfilment: Fulfilment) -> None:
        """POST the note; a retry of it first looks whether the try before it landed
        (its answer lost), so a shipment never gets two notes."""
        body = {
            "note": note_text(fulfilment),
            "customer_note": self.settings.customer_note and fulfilment.notify_customer,
        }
        post = self.api.attempt(ops.CREATE_NOTE, path=path, body=body)
        tries = 0

        def attempt() -> httpx.Response:
            nonlocal tries
            tries += 1
            if tries > 1:
                listed = self.api.attempt(ops.LIST_NOTES, path=path)()
                notes = self.api.json_list(ops.LIST_NOTES, listed)
                if fulfilment.idempotency_key in recorded_shipments(notes):
                    return listed
            return post()

        self.api.call_with(ops.CREATE_NOTE, attempt)

    def _add_tracking(self, path: Mapping[str, str], fulfilment: Fulfilment) -> None:
        """The Shipment Tracking item, unless the order has one with this number (a push
        that failed after adding it)."""
        response = self.api.call(ops.LIST_TRACKINGS, path=path, allow=(404,))
        if response.status_code == 404:
            raise PermanentError(
                "the Shipment Tracking extension does not answer on this shop (HTTP 404): "
                "install it, or set shipment_tracking: false for this channel"
            )
        if has_tracking(self.api.json(ops.LIST_TRACKINGS, response), fulfilment.tracking_number):
            return
        body = tracking_body(fulfilment, datetime.now(UTC).date())
        self.api.call(ops.CREATE_TRACKING, path=path, body=body)

    # webhooks -----------------------------------------------------------------------

    def webhook_delivery(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        """WooCommerce's ping is unsigned, so whatever delivery id it shows is not taken:
        an unsigned request must leave no receipt behind (one could block a real delivery
        that later came with that id)."""
        if is_ping(body):
            return None, "ping"
        return header(headers, DELIVERY_ID), header(headers, TOPIC) or ""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvents:
        if is_ping(body):
            return WebhookEvents()
        secret = self.settings.webhook_secret
        verify(secret.get_secret_value() if secret else None, headers, body)
        topic = header(headers, TOPIC) or ""
        if topic not in ORDER_TOPICS | PRODUCT_TOPICS and topic != ORDER_DELETED:
            log.info("woocommerce: webhook topic %r is not one the hub reads: ignored", topic)
            return WebhookEvents()
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise PayloadError(
                f"{topic} webhook body is not JSON: {error}", body.decode(errors="replace")
            ) from None
        return self._events(topic, payload, body.decode(errors="replace"))

    def map_quarantined(self, kind: str, raw: str) -> WebhookEvents:
        """Map a kept payload again: an order (of a page, or an order webhook's body), a
        product webhook's body, or order.deleted's `{"id": N}` (the order read again)."""
        payload = kept_json(raw)
        if kind == QUARANTINED_ORDER or (isinstance(payload, dict) and "line_items" in payload):
            return self._events(ORDER_UPDATED, payload, raw)
        if isinstance(payload, dict) and "manage_stock" in payload:
            return WebhookEvents(quantities=observed_quantity(payload, raw))
        return self._deleted_order(payload, raw)

    def _events(self, topic: str, payload: Any, raw: str) -> WebhookEvents:
        if topic in ORDER_TOPICS:
            if is_checkout_draft(payload):
                return WebhookEvents()
            return WebhookEvents(orders=(order_from_payload(payload),))
        if topic == ORDER_DELETED:
            return self._deleted_order(payload, raw)
        return WebhookEvents(quantities=observed_quantity(payload, raw))

    def _deleted_order(self, payload: Any, raw: str) -> WebhookEvents:
        """order.deleted carries the id only: the order is read (in the bin: cancelled);
        gone for good, the operator is told to cancel it in the hub."""
        order_id = payload.get("id") if isinstance(payload, dict) else None
        if order_id in (None, ""):
            raise PayloadError(f"{ORDER_DELETED} without an id", raw)
        order = self._get_order(str(order_id))
        if order is None:
            log.warning(
                "woocommerce: order %s was deleted for good in the shop; cancel it in the hub "
                "if it still holds stock there",
                order_id,
            )
            return WebhookEvents()
        if is_checkout_draft(order):
            return WebhookEvents()
        return WebhookEvents(orders=(order_from_payload(order),))


def observed_quantity(payload: Any, raw: str) -> tuple[ObservedQuantity, ...]:
    """What a product (or variation) webhook says the shop holds, when WooCommerce counts
    its stock; a variable product's own figure names no listing of the hub's."""
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise PayloadError("a product webhook without an id", raw)
    if payload.get("manage_stock") is not True or payload.get("type") == "variable":
        return ()
    try:
        quantity = int(payload["stock_quantity"])
    except (KeyError, TypeError, ValueError) as error:
        raise PayloadError(
            f"product {payload.get('id')}: no stock_quantity ({error})", raw
        ) from None
    variation = payload.get("type") == "variation" or payload.get("parent_id") not in (None, 0)
    key = "variation_id" if variation else "product_id"
    return (ObservedQuantity(key=key, value=str(payload["id"]), quantity=quantity),)


def woo_time(moment: datetime) -> str:
    """A time as `modified_after` takes it with `dates_are_gmt`: UTC, ISO 8601."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
