"""The WooCommerce REST API v3 operations the simulator serves, each a function of a
:class:`Call`.

A mixin of :class:`sandbox.woocommerce.simulator.WooCommerceSimulator`: its request
pipeline (authentication, throttling, faults, the request log) calls these under its
lock and turns a :class:`~sandbox.woocommerce.model.WooApiError` into WordPress's error
body. :data:`OPERATIONS` names each (the names faults and the request log use) with its
methods and path. Batches (:mod:`sandbox.woocommerce.batch`) and the Shipment Tracking
routes (:mod:`sandbox.woocommerce.tracking`) are here too; the tracking routes answer
``rest_no_route`` while the extension is off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.woocommerce.batch import run_batch
from omnisync.sandbox.woocommerce.catalogue import StockItem, apply_update
from omnisync.sandbox.woocommerce.model import JSON, WooApiError, invalid_param
from omnisync.sandbox.woocommerce.order_query import ids_of, select_orders
from omnisync.sandbox.woocommerce.order_view import note_json, order_json
from omnisync.sandbox.woocommerce.orders import STATUSES, Order
from omnisync.sandbox.woocommerce.paging import page_of, paginate
from omnisync.sandbox.woocommerce.product_view import API_PREFIX, product_json, variation_json
from omnisync.sandbox.woocommerce.tracking import TRACKING_PREFIX, new_tracking, tracking_json
from omnisync.sandbox.woocommerce.webhooks import TOPIC_HOOKS, WEBHOOK_STATUSES

if TYPE_CHECKING:
    from omnisync.sandbox.woocommerce.simulator import WooCommerceSimulator

EDITABLE: Final = ("POST", "PUT", "PATCH")
NOTE_TYPES: Final = frozenset({"any", "customer", "internal"})
API_USER: Final = "shop_manager"
"""The WordPress user the API keys belong to: the author of notes ``added_by_user``."""


@dataclass(frozen=True)
class Call:
    """What an operation is given of its request."""

    path_params: Mapping[str, Any]
    query: Mapping[str, str]
    """The query, without ``consumer_key`` / ``consumer_secret``."""
    body: Any
    base: str
    """The site's URL (``http://127.0.0.1:PORT``)."""
    url: str
    """The request's URL without its query (paging links build on it)."""

    def id(self, name: str = "id") -> int:
        value: int = self.path_params[name]
        return value


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    name: str
    methods: tuple[str, ...]
    path: str
    handle: Callable[[WooCommerceSimulator, Call], Answer]
    extension: bool = False
    """A Shipment Tracking route: served only when the extension is on."""


# orders -------------------------------------------------------------------------------


def list_orders(sim: WooCommerceSimulator, call: Call) -> Answer:
    page = page_of(call.query)
    chosen = select_orders(sim.book.orders.values(), call.query, sim.site)
    shown, headers = paginate(chosen, page, call.url, call.query)
    return Answer(200, [order_json(order, sim.site, call.base) for order in shown], headers)


def get_order(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _order(sim, call.id(), 404)
    return Answer(200, order_json(order, sim.site, call.base))


def update_order(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _order(sim, call.id(), 400)
    body = _object(call.body)
    status = body.get("status")
    if status is not None and (not isinstance(status, str) or status not in STATUSES):
        raise invalid_param("status", f"status is not one of {', '.join(sorted(STATUSES))}.")
    note = body.get("customer_note")
    if note is not None and not isinstance(note, str):
        raise invalid_param("customer_note", "customer_note is not of type string.")
    sim.book.set_status(order, status or order.status)
    return Answer(200, order_json(order, sim.site, call.base))


def list_order_notes(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _noted_order(sim, call.id())
    kind = call.query.get("type", "any")
    if kind not in NOTE_TYPES:
        raise invalid_param("type", "type is not one of any, customer, internal.")
    notes = [
        note
        for note in reversed(order.notes)
        if kind == "any" or note.customer_note == (kind == "customer")
    ]
    return Answer(200, [note_json(note, sim.site) for note in notes])


def create_order_note(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _noted_order(sim, call.id())
    body = _object(call.body)
    text = body.get("note")
    if not isinstance(text, str) or not text.strip():
        raise WooApiError(
            400, "rest_missing_callback_param", "Missing parameter(s): note", {"params": ["note"]}
        )
    customer = body.get("customer_note", False)
    by_user = body.get("added_by_user", False)
    for name, value in (("customer_note", customer), ("added_by_user", by_user)):
        if not isinstance(value, bool):
            raise invalid_param(name, f"{name} is not of type boolean.")
    note = sim.book.add_note(
        order, text, customer_note=customer, author=API_USER if by_user else "system"
    )
    location = f"{call.base}{API_PREFIX}/orders/{order.id}/notes/{note.id}"
    return Answer(201, note_json(note, sim.site), {"Location": location})


# products and variations ------------------------------------------------------------


def list_products(sim: WooCommerceSimulator, call: Call) -> Answer:
    page = page_of(call.query)
    skus = {sku.strip() for sku in call.query.get("sku", "").split(",") if sku.strip()}
    # With a SKU, WooCommerce looks among variations too.
    pool = list(sim.catalogue.items.values()) if skus else sim.catalogue.products()
    include = ids_of(call.query, "include")
    kind = call.query.get("type")
    if kind is not None and kind not in ("simple", "grouped", "external", "variable"):
        raise invalid_param("type", "type is not one of simple, grouped, external, variable.")
    chosen = [
        item
        for item in pool
        if (not skus or item.sku in skus)
        and (include is None or item.id in include)
        and (kind is None or item.kind == kind)
    ]
    chosen.sort(key=lambda item: (item.created, item.id), reverse=True)
    shown, headers = paginate(chosen, page, call.url, call.query)
    body = [product_json(item, sim.catalogue, sim.site, call.base) for item in shown]
    return Answer(200, body, headers)


def get_product(sim: WooCommerceSimulator, call: Call) -> Answer:
    item = _product(sim, call.id(), 404)
    return Answer(200, product_json(item, sim.catalogue, sim.site, call.base))


def update_product(sim: WooCommerceSimulator, call: Call) -> Answer:
    item = _product(sim, call.id(), 400)
    apply_update(sim.catalogue, item, call.body)
    sim.product_changed(item)
    return Answer(200, product_json(item, sim.catalogue, sim.site, call.base))


def batch_products(sim: WooCommerceSimulator, call: Call) -> Answer:
    return Answer(200, run_batch(sim, call.body, None, call.base))


def list_variations(sim: WooCommerceSimulator, call: Call) -> Answer:
    parent = _product(sim, call.id(), 404)
    page = page_of(call.query)
    chosen = sorted(sim.catalogue.variations_of(parent), key=lambda item: item.id, reverse=True)
    shown, headers = paginate(chosen, page, call.url, call.query)
    body = [variation_json(item, sim.catalogue, sim.site, call.base) for item in shown]
    return Answer(200, body, headers)


def get_variation(sim: WooCommerceSimulator, call: Call) -> Answer:
    item = _variation(sim, call.id("product_id"), call.id(), 404)
    return Answer(200, variation_json(item, sim.catalogue, sim.site, call.base))


def update_variation(sim: WooCommerceSimulator, call: Call) -> Answer:
    item = _variation(sim, call.id("product_id"), call.id(), 400)
    apply_update(sim.catalogue, item, call.body)
    sim.product_changed(item)
    return Answer(200, variation_json(item, sim.catalogue, sim.site, call.base))


def batch_variations(sim: WooCommerceSimulator, call: Call) -> Answer:
    parent = _product(sim, call.id(), 404)
    if parent.kind != "variable":
        raise WooApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
    return Answer(200, run_batch(sim, call.body, parent, call.base))


# Shipment Tracking --------------------------------------------------------------------


def list_shipment_trackings(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _noted_order(sim, call.id())
    return Answer(200, [tracking_json(item, call.base, order.id) for item in order.trackings])


def create_shipment_tracking(sim: WooCommerceSimulator, call: Call) -> Answer:
    order = _noted_order(sim, call.id())
    item = new_tracking(call.body, sim.site_today())
    sim.book.add_tracking(order, item)
    body = tracking_json(item, call.base, order.id)
    return Answer(201, body, {"Location": body["_links"]["self"][0]["href"]})


# webhooks -----------------------------------------------------------------------------


def list_webhooks(sim: WooCommerceSimulator, call: Call) -> Answer:
    page = page_of(call.query)
    chosen = sorted(sim.webhooks.webhooks.values(), key=lambda hook: hook.id, reverse=True)
    shown, headers = paginate(chosen, page, call.url, call.query)
    return Answer(200, [hook.to_json(sim.site, call.base) for hook in shown], headers)


def get_webhook(sim: WooCommerceSimulator, call: Call) -> Answer:
    hook = sim.webhooks.webhooks.get(call.id())
    if hook is None:
        raise WooApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
    return Answer(200, hook.to_json(sim.site, call.base))


def create_webhook(sim: WooCommerceSimulator, call: Call) -> Answer:
    body = _object(call.body)
    topic = body.get("topic")
    if not isinstance(topic, str) or topic not in TOPIC_HOOKS:
        raise WooApiError(
            400,
            "woocommerce_rest_webhook_invalid_topic",
            "Webhook topic is required and must be valid.",
        )
    url = body.get("delivery_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise WooApiError(
            400,
            "rest_missing_callback_param",
            "Missing parameter(s): delivery_url",
            {"params": ["delivery_url"]},
        )
    status = body.get("status", "active")
    if status not in WEBHOOK_STATUSES:
        raise invalid_param("status", "status is not one of active, paused, disabled.")
    secret = body.get("secret")
    hook = sim.new_webhook(
        topic,
        url,
        secret if isinstance(secret, str) and secret else None,
        name=str(body.get("name") or ""),
        status=status,
    )
    location = f"{call.base}{API_PREFIX}/webhooks/{hook.id}"
    return Answer(201, hook.to_json(sim.site, call.base), {"Location": location})


OPERATIONS: Final = (
    Operation("listOrders", ("GET",), f"{API_PREFIX}/orders", list_orders),
    Operation("getOrder", ("GET",), f"{API_PREFIX}/orders/{{id:int}}", get_order),
    Operation("updateOrder", EDITABLE, f"{API_PREFIX}/orders/{{id:int}}", update_order),
    Operation(
        "listOrderNotes", ("GET",), f"{API_PREFIX}/orders/{{id:int}}/notes", list_order_notes
    ),
    Operation(
        "createOrderNote", ("POST",), f"{API_PREFIX}/orders/{{id:int}}/notes", create_order_note
    ),
    Operation("listProducts", ("GET",), f"{API_PREFIX}/products", list_products),
    Operation("batchProducts", EDITABLE, f"{API_PREFIX}/products/batch", batch_products),
    Operation("getProduct", ("GET",), f"{API_PREFIX}/products/{{id:int}}", get_product),
    Operation("updateProduct", EDITABLE, f"{API_PREFIX}/products/{{id:int}}", update_product),
    Operation(
        "listVariations", ("GET",), f"{API_PREFIX}/products/{{id:int}}/variations", list_variations
    ),
    Operation(
        "batchVariations",
        EDITABLE,
        f"{API_PREFIX}/products/{{id:int}}/variations/batch",
        batch_variations,
    ),
    Operation(
        "getVariation",
        ("GET",),
        f"{API_PREFIX}/products/{{product_id:int}}/variations/{{id:int}}",
        get_variation,
    ),
    Operation(
        "updateVariation",
        EDITABLE,
        f"{API_PREFIX}/products/{{product_id:int}}/variations/{{id:int}}",
        update_variation,
    ),
    Operation(
        "listShipmentTrackings",
        ("GET",),
        f"{TRACKING_PREFIX}/orders/{{id:int}}/shipment-trackings",
        list_shipment_trackings,
        extension=True,
    ),
    Operation(
        "createShipmentTracking",
        ("POST",),
        f"{TRACKING_PREFIX}/orders/{{id:int}}/shipment-trackings",
        create_shipment_tracking,
        extension=True,
    ),
    Operation("listWebhooks", ("GET",), f"{API_PREFIX}/webhooks", list_webhooks),
    Operation("createWebhook", ("POST",), f"{API_PREFIX}/webhooks", create_webhook),
    Operation("getWebhook", ("GET",), f"{API_PREFIX}/webhooks/{{id:int}}", get_webhook),
)


# lookups ------------------------------------------------------------------------------


def _order(sim: WooCommerceSimulator, order_id: int, status: int) -> Order:
    """An order by id; WooCommerce answers an unknown one 404 on reads, 400 on writes."""
    order = sim.book.find(order_id)
    if order is None:
        raise WooApiError(status, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    return order


def _noted_order(sim: WooCommerceSimulator, order_id: int) -> Order:
    """An order for the notes (and trackings) routes, which word the refusal their way."""
    order = sim.book.find(order_id)
    if order is None:
        raise WooApiError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
    return order


def _product(sim: WooCommerceSimulator, item_id: int, status: int) -> StockItem:
    item = sim.catalogue.get(item_id)
    if item is None:
        raise WooApiError(status, "woocommerce_rest_product_invalid_id", "Invalid ID.")
    return item


def _variation(sim: WooCommerceSimulator, parent_id: int, item_id: int, status: int) -> StockItem:
    item = sim.catalogue.get(item_id)
    if item is None or item.kind != "variation" or item.parent_id != parent_id:
        raise WooApiError(status, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
    return item


def _object(body: Any) -> JSON:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise WooApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return body
