"""The eBay seller account of `omnisync demo`: the eBay simulator, with its notifications.

Buyers order on eBay's US marketplace; the hub hears each order as a real one should,
by eBay's signed ORDER_CONFIRMATION notification posted to its `/webhooks/ebay/<name>`
once its HTTP server runs (`send_webhooks_to`), reads the order with getOrder, and
keeps polling getOrders as the backstop. Stock goes out with bulkUpdatePriceQuantity,
within eBay's 250 revisions per listing and day (a demo is far from it).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from omnisync.hub.demo.served_market import ServedMarket
from omnisync.sandbox.ebay import EbaySimulator, EbaySimulatorError

CLIENT_ID: Final = "omnisync-demo-app"
MARKETPLACE: Final = "EBAY_US"
RATE: Final = 100.0
BURST: Final = 300
"""Above the connector's published Inventory API limit (about 23 calls a second, burst
200): the hub's own throttling is what paces it, as against eBay."""
FULFILLMENT_CALLS_A_DAY: Final = 8_640_000
"""The channel's `daily_call_limits` for the Fulfillment API: 100 calls a second, as an
app eBay granted more after its growth check. eBay's default (100,000 a day, 1.16 a
second) is far below the demo's pace, a sale every second or so on eBay alone, each
read with getOrder when its notification comes and shipped within seconds."""


class EbayMarket(ServedMarket[EbaySimulator]):
    type = "ebay"

    def __init__(self, name: str, token: str, schedule: str, timeout_s: float) -> None:
        # Both secrets are made from the demo's token, so the channel file reads them
        # from its one variable.
        server = EbaySimulator(
            name=name,
            client_id=CLIENT_ID,
            client_secret=f"ebay-cs-{token}",
            refresh_token=f"ebay-rt-{token}",
            marketplace_id=MARKETPLACE,
            rate=RATE,
            burst=BURST,
        )
        super().__init__(name, schedule, timeout_s, server)

    def send_webhooks_to(self, hub_url: str) -> None:
        self.server.send_notifications_to(f"{hub_url}/webhooks/ebay/{self.name}")
        self.intake = "webhook"

    def offer(self, codes: Iterable[str]) -> None:
        self.server.seed_listings([{"sku": code, "title": code, "quantity": 0} for code in codes])

    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        try:
            order = self.server.buy(sku, quantity)
        except EbaySimulatorError:
            return None  # too few units offered
        return {**order, "id": order["orderId"]}

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(str(order["creationDate"]))

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {str(order["orderId"]) for order in self.server.orders()}

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: ebay
            marketplace_id: {MARKETPLACE}
            endpoint: {self.server.url}
            auth_endpoint: {self.server.url}
            credentials:
              client_id: {CLIENT_ID}
              client_secret: ebay-cs-${{{token_variable}}}
              refresh_token: ebay-rt-${{{token_variable}}}
            daily_call_limits: {{sell.fulfillment: {FULFILLMENT_CALLS_A_DAY}}}
            timeout_seconds: {self.timeout_s}
            schedule: {self.schedule}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )
