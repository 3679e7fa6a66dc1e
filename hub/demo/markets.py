"""The simulated marketplaces of `omnisync demo`, behind one small interface."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any, Protocol

from omnisync.hub.demo.amazon import AmazonMarket
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

    def start(self) -> str: ...
    def stop(self) -> None: ...
    def offer(self, codes: Iterable[str]) -> None: ...
    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None: ...
    def cancel(self, order_id: str) -> None: ...
    def order_ids(self) -> set[str]: ...
    def quantities(self) -> dict[str, int]: ...
    def channel_file(self, token_variable: str) -> str: ...
    def fail_every_call(self, kind: str, count: int) -> None:
        """Answer the next `count` calls (every endpoint) with fault `kind` (sandbox.faults)."""
        ...


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

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

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

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

    def channel_file(self, token_variable: str) -> str:
        return textwrap.dedent(
            f"""\
            type: shopify
            shop: {self.server.shop}
            endpoint: {self.server.url}
            access_token: ${{{token_variable}}}
            push_location: {SHOPIFY_LOCATION}
            timeout_seconds: {CALL_TIMEOUT_S}
            schedule: {SCHEDULE}
            sync: {{lag: 30s, backfill: 1h}}
            """
        )


def market_names(count: int) -> list[str]:
    """The names of the first `count` marketplaces, in the order of make_markets."""
    kinds = ("shopify", "amazon")
    return [
        f"{kinds[index] if index < len(kinds) else 'sandbox'}-{letter}"
        for index, letter in enumerate("abcdefgh"[:count])
    ]


def make_markets(count: int, token: str) -> list[DemoMarket]:
    """A Shopify shop first, then an Amazon seller account, then sandbox marketplaces."""
    markets: list[DemoMarket] = []
    for index, name in enumerate(market_names(count)):
        if index == 0:
            markets.append(ShopifyMarket(name, token))
        elif index == 1:
            markets.append(AmazonMarket(name, token, SCHEDULE, CALL_TIMEOUT_S))
        else:
            markets.append(SandboxMarket(name, token))
    return markets
