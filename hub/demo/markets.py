"""The simulated marketplaces of `omnisync demo`, behind one small interface.

Each says how the hub hears its orders (`intake`): Shopify sends signed webhooks to the
hub's HTTP server, which the demo runs as `omnisync run` does (`send_webhooks_to`);
Amazon sends ORDER_CHANGE notifications when moto is installed (hub/demo/amazon.py);
eBay posts its signed ORDER_CONFIRMATION notifications there too (hub/demo/ebay.py), and
the WooCommerce shop its signed order webhooks, each new order several times
(hub/demo/woocommerce.py);
the sandbox marketplaces are polled every second. Each tells when a buyer
bought (`sale_time`), by its own clock, for the propagation measured from the sale.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from omnisync.hub.demo.amazon import AmazonMarket
from omnisync.hub.demo.ebay import EbayMarket
from omnisync.hub.demo.woocommerce import WooCommerceMarket
from omnisync.sandbox.faults import ANY_ENDPOINT
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator

SHOPIFY_LOCATION = "Main warehouse"
SCHEDULE = "{orders: 1s, listings: 1h, stock: 30s, fulfilments: 2s, reconcile: 10m}"
CALL_TIMEOUT_S = 10
"""The channels' `timeout_seconds`: a call the marketplace does not answer ends well
within a wait's deadline (hub/demo/watch.py)."""


class DemoMarket(Protocol):
    name: str
    type: str
    settle_seconds: float
    """How long after it was placed an order may stay out of the hub's sight."""
    intake: str
    """How the hub hears its orders: "webhook", "notifications" or "polling"."""
    notice: str | None
    """What the demo says once about this marketplace (a feature left off), if anything."""

    def start(self) -> str: ...
    def stop(self) -> None: ...
    def offer(self, codes: Iterable[str]) -> None: ...
    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        """The order (its id as "id"), or None when the listing has too few units."""
        ...

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        """When the buyer bought `order` (a `buy` result), by the marketplace's clock."""
        ...

    def cancel(self, order_id: str) -> None: ...
    def order_ids(self) -> set[str]: ...
    def quantities(self) -> dict[str, int]: ...
    def channel_file(self, token_variable: str) -> str: ...
    def send_webhooks_to(self, hub_url: str) -> None:
        """The hub's HTTP server runs at `hub_url`: a marketplace that sends webhooks
        sends them there from now on."""
        ...

    def fail_every_call(self, kind: str, count: int) -> None:
        """Answer the next `count` calls (every endpoint) with fault `kind` (sandbox.faults)."""
        ...


def created_at(order: Mapping[str, Any]) -> datetime:
    """The `created_at` of a simulator's order JSON (ISO 8601, microseconds, UTC)."""
    return datetime.fromisoformat(str(order["created_at"]))


class SandboxMarket:
    type = "sandbox"
    settle_seconds = 0.0
    intake = "polling"
    notice: str | None = None

    def __init__(self, name: str, token: str) -> None:
        self.name = name
        self.server = SandboxMarketplace(token, name=name, rate=50, burst=100)

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def offer(self, codes: Iterable[str]) -> None:
        self.server.set_listings([{"sku": code, "title": code, "quantity": 0} for code in codes])

    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        return self.server.buy(sku, quantity)

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        return created_at(order)

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {order["id"] for order in self.server.snapshot()["orders"]}

    def quantities(self) -> dict[str, int]:
        return {item["sku"]: item["quantity"] for item in self.server.snapshot()["listings"]}

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

    def send_webhooks_to(self, hub_url: str) -> None:
        return None  # the sandbox marketplace sends none: it is polled

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: sandbox
            endpoint: {self.server.url}
            api_key: ${{{token_variable}}}
            timeout_seconds: {CALL_TIMEOUT_S}
            requests_per_second: 50
            burst: 100
            schedule: {SCHEDULE}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )


class ShopifyMarket:
    """A Shopify shop: orders arrive by signed webhook once the hub's HTTP server runs
    (`send_webhooks_to`), polling every second as the backstop."""

    type = "shopify"
    settle_seconds = 0.0
    notice: str | None = None

    def __init__(self, name: str, token: str) -> None:
        self.name = name
        self.server = ShopifySimulator(token, name=name, client_secret=f"shpss_{token}")
        self.codes: list[str] = []
        self.intake = "polling"

    def send_webhooks_to(self, hub_url: str) -> None:
        self.server.set_webhook_url(f"{hub_url}/webhooks/shopify/{self.name}")
        self.intake = "webhook"

    def start(self) -> str:
        url = self.server.start()
        self.server.add_location(SHOPIFY_LOCATION)
        return url

    def stop(self) -> None:
        self.server.stop()

    def offer(self, codes: Iterable[str]) -> None:
        self.codes = list(codes)
        self.server.set_catalogue(
            [{"sku": code, "title": code, "quantity": {SHOPIFY_LOCATION: 0}} for code in self.codes]
        )

    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        return self.server.buy(sku, quantity)

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        return created_at(order)

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {order["id"] for order in self.server.orders()}

    def quantities(self) -> dict[str, int]:
        return {code: self.server.available(code, SHOPIFY_LOCATION) for code in self.codes}

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: shopify
            shop: {self.server.shop}
            endpoint: {self.server.url}
            access_token: ${{{token_variable}}}
            client_secret: shpss_${{{token_variable}}}
            push_location: {SHOPIFY_LOCATION}
            timeout_seconds: {CALL_TIMEOUT_S}
            schedule: {SCHEDULE}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )


def market_names(count: int) -> list[str]:
    """The names of the first `count` marketplaces, in the order of make_markets."""
    kinds = ("shopify", "amazon", "ebay", "woocommerce")
    return [
        f"{kinds[index] if index < len(kinds) else 'sandbox'}-{letter}"
        for index, letter in enumerate("abcdefgh"[:count])
    ]


def make_markets(count: int, token: str) -> list[DemoMarket]:
    """A Shopify shop first, then an Amazon and an eBay seller account, a WooCommerce
    shop, then sandbox marketplaces."""
    markets: list[DemoMarket] = []
    for index, name in enumerate(market_names(count)):
        if index == 0:
            markets.append(ShopifyMarket(name, token))
        elif index == 1:
            markets.append(AmazonMarket(name, token, SCHEDULE, CALL_TIMEOUT_S))
        elif index == 2:
            markets.append(EbayMarket(name, token, SCHEDULE, CALL_TIMEOUT_S))
        elif index == 3:
            markets.append(WooCommerceMarket(name, token, SCHEDULE, CALL_TIMEOUT_S))
        else:
            markets.append(SandboxMarket(name, token))
    return markets
