"""Control operations of the WooCommerce simulator: the shop owner, the buyers and the
webhooks, from outside the API.

A mixin of :class:`sandbox.woocommerce.WooCommerceSimulator`: each operation runs on the
simulator's state under its lock and answers as the REST API would show the resource.
Refusals raise :class:`~sandbox.woocommerce.model.WooCommerceSimulatorError`. Orders are
named by their id (an int; its text is accepted too).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omnisync.hub.http_server import ServerError
from omnisync.sandbox.woocommerce.model import JSON, WooCommerceSimulatorError
from omnisync.sandbox.woocommerce.order_view import note_json, order_json
from omnisync.sandbox.woocommerce.orders import Order
from omnisync.sandbox.woocommerce.product_view import product_json, variation_json
from omnisync.sandbox.woocommerce.tracking import new_tracking
from omnisync.sandbox.woocommerce.webhooks import SHOP_TOPICS

if TYPE_CHECKING:
    from omnisync.sandbox.woocommerce.catalogue import Catalogue
    from omnisync.sandbox.woocommerce.model import SiteClock
    from omnisync.sandbox.woocommerce.orders import OrderBook
    from omnisync.sandbox.woocommerce.webhooks import Webhook, WebhookSender

UNSTARTED_BASE = "http://127.0.0.1"
"""What URLs in answers start with while the simulator is not serving."""
DEFAULT_CARRIER = "USPS"


class WooControls:
    """What a test or the demo does to the shop from outside the API."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        catalogue: Catalogue
        book: OrderBook
        site: SiteClock
        webhooks: WebhookSender
        webhook_secret: str
        shipment_tracking: bool
        _request_log: list[JSON]

        @property
        def url(self) -> str: ...

        def product_changed(self, item: Any, event: str = "updated") -> None: ...

        def new_webhook(
            self, topic: str, url: str, secret: str | None, *, name: str = "", status: str = ...
        ) -> Webhook: ...

        def site_today(self) -> Any: ...

    # products -----------------------------------------------------------------------

    def seed_products(self, products: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Simple products ``[{sku, name?, stock_quantity?, manage_stock?, price?,
        global_unique_id?}]`` (a known SKU is updated); each as the API shows it."""
        with self._lock:
            seeded = [self.catalogue.seed_simple(dict(spec)) for spec in products]
            return [self._product_json(item) for item in seeded]

    def seed_variable_product(self, spec: Mapping[str, Any]) -> JSON:
        """A variable product ``{name, variations: [{sku, stock_quantity?, manage_stock?,
        price?, option?}]}``; the parent as the API shows it."""
        with self._lock:
            return self._product_json(self.catalogue.seed_variable(dict(spec)))

    def set_stock(self, sku: str, quantity: int) -> JSON:
        """The owner edits the stock in wp-admin (``date_modified`` bumps,
        ``product.updated`` fires); the product or variation as the API shows it."""
        with self._lock:
            item = self.catalogue.set_stock(sku, quantity)
            self.product_changed(item)
            return self.product(sku)

    def product(self, sku: str) -> JSON:
        """The product (or variation, as the variations endpoint shows it) with ``sku``."""
        with self._lock:
            item = self.catalogue.by_sku(sku)
            if item.kind == "variation":
                return variation_json(item, self.catalogue, self.site, self._base_url())
            return self._product_json(item)

    def stock(self) -> dict[str, int]:
        """SKU to stock_quantity, for products and variations that manage stock."""
        with self._lock:
            return self.catalogue.stock()

    # orders -------------------------------------------------------------------------

    def place_order(self, lines: Sequence[tuple[str, int]], status: str = "processing") -> JSON:
        """A buyer checks out ``(sku, quantity)`` lines, all or none: a managed item
        without backorders refuses more units than it has (for an order that reduces
        stock); ``order.created`` fires. The order as the API shows it."""
        with self._lock:
            return self._order_json(self.book.place(list(lines), status))

    def buy(self, sku: str, quantity: int = 1, *, status: str = "processing") -> JSON:
        return self.place_order([(sku, quantity)], status=status)

    def set_order_status(self, order_id: int | str, status: str) -> JSON:
        """The owner changes the status (stock and notes as WooCommerce)."""
        with self._lock:
            order = self._order(order_id)
            self.book.set_status(order, status)
            return self._order_json(order)

    def cancel_order(self, order_id: int | str) -> JSON:
        """The order is cancelled; the units it took come back."""
        with self._lock:
            order = self._order(order_id)
            if order.status == "cancelled":
                raise WooCommerceSimulatorError(f"order {order.id} is already cancelled")
            self.book.set_status(order, "cancelled")
            return self._order_json(order)

    def ship_order(
        self, order_id: int | str, tracking_number: str | None = None, carrier: str | None = None
    ) -> JSON:
        """The owner ships: a tracking item (with the Shipment Tracking extension), a
        customer note naming the parcel, and the order completed."""
        with self._lock:
            order = self._order(order_id)
            if order.status in ("completed", "cancelled", "refunded", "trash"):
                raise WooCommerceSimulatorError(f"order {order.id} is {order.status}")
            number = tracking_number or f"9400{secrets.randbelow(10**18):018d}"
            provider = carrier or DEFAULT_CARRIER
            if self.shipment_tracking:
                body = {"tracking_provider": provider, "tracking_number": number}
                self.book.add_tracking(order, new_tracking(body, self.site_today()))
            self.book.add_note(
                order,
                f"Your order was shipped with {provider}, tracking number {number}.",
                customer_note=True,
            )
            self.book.set_status(order, "completed")
            return self._order_json(order)

    def order(self, order_id: int | str) -> JSON:
        with self._lock:
            return self._order_json(self._order(order_id))

    def orders(self) -> list[JSON]:
        """Every order, oldest first."""
        with self._lock:
            return [self._order_json(order) for order in self.book.orders.values()]

    def notes(self, order_id: int | str) -> list[JSON]:
        """The order's notes as ``GET /orders/{id}/notes`` lists them (newest first)."""
        with self._lock:
            order = self._order(order_id)
            return [note_json(note, self.site) for note in reversed(order.notes)]

    def trackings(self, order_id: int | str) -> list[JSON]:
        """The Shipment Tracking extension's items on the order, oldest first."""
        with self._lock:
            return [dict(item) for item in self._order(order_id).trackings]

    # webhooks -----------------------------------------------------------------------

    def send_webhooks_to(self, url: str | None) -> None:
        """Replace the shop's webhooks with ``order.created``, ``order.updated``,
        ``order.deleted`` and ``product.updated`` delivering to ``url`` (each pinged
        first), signed with ``webhook_secret``; None: no webhooks."""
        with self._lock:
            self.webhooks.remove_all()
            if url is None:
                return
            for topic in SHOP_TOPICS:
                self.new_webhook(topic, url, self.webhook_secret, name=f"Omnisync {topic}")

    def deliveries(self) -> list[JSON]:
        """Every delivery (pings as topic ``ping``): topic, webhook_id, delivery_id, url,
        status_code, error, body (the parsed JSON; a ping's form text), raw_body (the exact
        text sent), tampered."""
        return self.webhooks.deliveries()

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        return self.webhooks.wait(timeout)

    def redeliver_last(self, times: int = 1) -> None:
        """The last event's payload again, ``times`` times, with new delivery ids."""
        if times < 1:
            raise WooCommerceSimulatorError("times must be 1 or more")
        if self.webhooks.redeliver_last(times) == 0:
            raise WooCommerceSimulatorError("no event was delivered yet")

    def tamper_next(self) -> None:
        """The next event delivery's signature does not match its body."""
        self.webhooks.tamper_next()

    # the request log ----------------------------------------------------------------

    def requests(self) -> list[JSON]:
        """Every API call served, oldest first: operation, method, path, query (the
        credentials masked), body, status."""
        with self._lock:
            return [dict(entry) for entry in self._request_log]

    # helpers ------------------------------------------------------------------------

    def _order(self, order_id: int | str) -> Order:
        try:
            number = int(order_id)
        except (TypeError, ValueError):
            raise WooCommerceSimulatorError(f"no order {order_id!r}") from None
        return self.book.get(number)

    def _order_json(self, order: Order) -> JSON:
        return order_json(order, self.site, self._base_url())

    def _product_json(self, item: Any) -> JSON:
        return product_json(item, self.catalogue, self.site, self._base_url())

    def _base_url(self) -> str:
        try:
            return self.url
        except ServerError:
            return UNSTARTED_BASE
