"""The simulated marketplaces of `omnisync demo`, behind one small interface."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any, Protocol

from hub.demo_amazon import AmazonMarket
from sandbox.marketplace import SandboxMarketplace
from sandbox.shopify import ShopifySimulator

SHOPIFY_LOCATION = "Main warehouse"
SCHEDULE = "{orders: 1s, listings: 1h, stock: 30s, fulfilments: 2s, reconcile: 10m}"


class DemoMarket(Protocol):
    name: str
    type: str
    settle_seconds: float
    """How long after it was placed an order may stay out of the hub's sight."""

    def start(self) -> str: ...
    def stop(self) -> None: ...
    def offer(self, codes: Iterable[str]) -> None: ...
    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None: ...
    def cancel(self, order_id: str) -> None: ...
    def order_ids(self) -> set[str]: ...
    def quantities(self) -> dict[str, int]: ...
    def channel_file(self, token_variable: str) -> str: ...


class SandboxMarket:
    type = "sandbox"
    settle_seconds = 0.0

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

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {order["id"] for order in self.server.snapshot()["orders"]}

    def quantities(self) -> dict[str, int]:
        return {item["sku"]: item["quantity"] for item in self.server.snapshot()["listings"]}

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: sandbox
            endpoint: {self.server.url}
            api_key: ${{{token_variable}}}
            requests_per_second: 50
            burst: 100
            schedule: {SCHEDULE}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )


class ShopifyMarket:
    type = "shopify"
    settle_seconds = 0.0

    def __init__(self, name: str, token: str) -> None:
        self.name = name
        self.server = ShopifySimulator(token, name=name)
        self.codes: list[str] = []

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

    def cancel(self, order_id: str) -> None:
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {order["id"] for order in self.server.orders()}

    def quantities(self) -> dict[str, int]:
        return {code: self.server.available(code, SHOPIFY_LOCATION) for code in self.codes}

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: shopify
            shop: {self.server.shop}
            endpoint: {self.server.url}
            access_token: ${{{token_variable}}}
            push_location: {SHOPIFY_LOCATION}
            schedule: {SCHEDULE}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )


def make_markets(count: int, token: str) -> list[DemoMarket]:
    """A Shopify shop first, then an Amazon seller account, then sandbox marketplaces."""
    markets: list[DemoMarket] = []
    for index, letter in enumerate("abcdefgh"[:count]):
        if index == 0:
            markets.append(ShopifyMarket(f"shopify-{letter}", token))
        elif index == 1:
            markets.append(AmazonMarket(f"amazon-{letter}", token, SCHEDULE))
        else:
            markets.append(SandboxMarket(f"sandbox-{letter}", token))
    return markets
