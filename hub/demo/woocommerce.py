"""The WooCommerce shop of `omnisync demo`: the WooCommerce simulator, with its webhooks.

Buyers order in the shop; WooCommerce takes the units from the product's stock itself and
tells the hub by signed `order.created` webhooks posted to its
`/webhooks/woocommerce/<name>` once its HTTP server runs (`send_webhooks_to`), and, as
WooCommerce is known to do, delivers each new order more than once (DUPLICATE_DELIVERIES
more deliveries of the same payload under new delivery ids): the hub must keep one order.
Orders are also polled every second, as the backstop. Stock goes out through the batch
endpoints.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from omnisync.hub.demo.served_market import ServedMarket
from omnisync.sandbox.woocommerce import WooCommerceSimulator, WooCommerceSimulatorError

RATE: Final = 100.0
BURST: Final = 300
"""The shop's host answers this many calls a second (WooCommerce itself has no limit:
its host has); the channel file throttles the hub below it."""
HUB_RATE: Final = 50
HUB_BURST: Final = 100
DUPLICATE_DELIVERIES: Final = 1
"""Each new order is delivered twice (woocommerce/woocommerce#28329). Every delivery is a
write transaction of its own, taken in and found to change nothing; measured on the
2-core development machine, a third copy of every WooCommerce order added about a second
to the demo's p95 from the sale (the e2e test takes three deliveries of one order)."""


class WooCommerceMarket(ServedMarket[WooCommerceSimulator]):
    type = "woocommerce"

    def __init__(self, name: str, token: str, schedule: str, timeout_s: float) -> None:
        # The keys are made from the demo's token, so the channel file reads them from
        # its one variable.
        server = WooCommerceSimulator(
            name=name,
            consumer_key=f"ck_{token}",
            consumer_secret=f"cs_{token}",
            webhook_secret=f"wh_{token}",
            duplicate_deliveries=DUPLICATE_DELIVERIES,
            rate=RATE,
            burst=BURST,
        )
        super().__init__(name, schedule, timeout_s, server)
        self._sold_at: dict[str, datetime] = {}

    def send_webhooks_to(self, hub_url: str) -> None:
        self.server.send_webhooks_to(f"{hub_url}/webhooks/woocommerce/{self.name}")
        self.intake = "webhook"

    def offer(self, codes: Iterable[str]) -> None:
        self.server.seed_products(
            [
                {"sku": code, "name": code, "stock_quantity": 0, "manage_stock": True}
                for code in codes
            ]
        )

    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        sold_at = datetime.now(UTC)
        try:
            order = self.server.buy(sku, quantity)
        except WooCommerceSimulatorError:
            return None  # too few units in stock
        order_id = str(order["id"])
        # WooCommerce stamps orders to the second; the demo measures from the sale to the
        # millisecond, so it keeps when it bought (the simulator runs on the same clock).
        self._sold_at[order_id] = sold_at
        return {**order, "id": order_id}

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        known = self._sold_at.get(str(order["id"]))
        if known is not None:
            return known
        return datetime.fromisoformat(str(order["date_created_gmt"])).replace(tzinfo=UTC)

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(int(order_id))

    def order_ids(self) -> set[str]:
        return {str(order["id"]) for order in self.server.orders()}

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: woocommerce
            url: {self.server.url}
            consumer_key: ck_${{{token_variable}}}
            consumer_secret: cs_${{{token_variable}}}
            webhook_secret: wh_${{{token_variable}}}
            requests_per_second: {HUB_RATE}
            burst: {HUB_BURST}
            timeout_seconds: {self.timeout_s}
            schedule: {self.schedule}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )
