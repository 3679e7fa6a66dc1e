"""b3_propagation's channels: three simulators at their published limits, the SQS queue
Amazon notifies, the hub's channel files for them, and what each simulator recorded.

Every channel is configured as a seller would configure it for real: Shopify hears
orders by signed webhook; Amazon by ORDER_CHANGE notifications on an SQS queue
(moto's server, started here like the simulators), with searchOrders polling as the
backstop at Amazon's real rate (one call per 3 minutes: 0.0056/s) and Amazon's real
two-minute settle window; the sandbox marketplace is polled every second. A buyer's
call records when it was made and answered, and the simulator's own timestamp of
the order, so the sale can be timed on the channel's clock (bench/sale_timing.py).
"""

from __future__ import annotations

import textwrap
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

from bench.rate_floor import Limit
from bench.sale_timing import SaleRecord
from omnisync.connectors.shopify import documents
from omnisync.hub.demo.amazon import queue_settings, signed_in_channel, token_credentials
from omnisync.hub.demo.config_folder import write_config_folder
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.http import parse_amazon_time
from omnisync.sandbox.clock import parse_iso
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sandbox.sqs import SqsServer

STOCK: Final = 5
LOCATION: Final = "Main warehouse"
TOKEN_VARIABLE: Final = "BENCH_PROPAGATION_TOKEN"  # noqa: S105 (a variable's name)
SECRET_VARIABLE: Final = "BENCH_PROPAGATION_SECRET"  # noqa: S105 (a variable's name)
AMAZON_BACKSTOP_S: Final = 180
"""The orders job's interval: searchOrders' sustained rate is 0.0056/s, a call per 178.6 s."""
AMAZON_NOTIFICATION_WAIT_S: Final = 1
"""The channel's `notifications.wait_seconds`: how long one receive waits when the queue
is empty (a message ends the wait at once)."""
QUEUE_VISIBILITY_S: Final = 30
"""SQS's default: a batch of ten whose getOrder calls wait for tokens (0.5/s) still
finishes before its messages come back."""
AMAZON_FEED_DELAY_S: Final = 2.0
"""Only the start-up reconcile goes by feed (see feed_threshold)."""
SANDBOX_RATE: Final = 10.0
SANDBOX_BURST: Final = 20

LIMITS: Final = {
    "shopify": Limit(100.0, 1000.0, float(documents.REQUESTED_COST["SetQuantities"]), 250),
    "amazon": Limit(5.0, 5.0, 1.0, 1),
    "sandbox": Limit(SANDBOX_RATE, float(SANDBOX_BURST), 1.0, 100),
}
CHANNELS: Final = tuple(LIMITS)
SALE_STAMPS: Final = {
    "shopify": (
        "the order's created_at as the simulator holds it (microseconds; the Admin API "
        "writes whole seconds)"
    ),
    "amazon": "PurchaseDate, which Amazon writes in whole seconds",
    "sandbox": "the order's created_at (microseconds)",
}


class Markets:
    """The three simulators, the SQS server, their catalogues and what they recorded."""

    def __init__(self, token: str, secret: str, codes: Sequence[str], stack: ExitStack) -> None:
        self.codes = list(codes)
        self.sqs = SqsServer()
        self.sqs.start()
        stack.callback(self.sqs.stop)
        self.queue_url, arn = self.sqs.create_queue(
            f"bench-b3-{uuid.uuid4().hex[:12]}", QUEUE_VISIBILITY_S
        )
        self.shop = ShopifySimulator(token, name="shopify", client_secret=secret)
        self.amazon = AmazonSimulator(
            token_credentials(token),
            name="amazon",
            rate_scale=1.0,
            feed_delay=AMAZON_FEED_DELAY_S,
            sqs_endpoint=self.sqs.endpoint,
        )
        self.sandbox = SandboxMarketplace(
            token, name="sandbox", rate=SANDBOX_RATE, burst=SANDBOX_BURST
        )
        for server in (self.shop, self.amazon, self.sandbox):
            server.start()
            stack.callback(server.stop)
        self.amazon.subscribe_queue(arn)
        self.shop.add_location(LOCATION)
        variants = self.shop.set_catalogue(
            [{"sku": code, "title": code, "quantity": {LOCATION: STOCK}} for code in codes]
        )
        self.inventory_items = {str(v["inventory_item_id"]): str(v["sku"]) for v in variants}
        self.amazon.set_listings([{"sku": code, "quantity": STOCK} for code in codes])
        self.sandbox.set_listings(
            [{"sku": code, "title": code, "quantity": STOCK} for code in codes]
        )

    def buy(self, channel: str, sku: str) -> SaleRecord | None:
        """One unit of `sku` on `channel`, timed: None when the channel refused."""
        sellers: dict[str, Callable[[str, int], dict[str, Any] | None]] = {
            "shopify": self.shop.buy,
            "amazon": self.amazon.buy,
        }
        sell = sellers.get(channel, self.sandbox.buy)
        called = time.time()
        order = sell(sku, 1)
        answered = time.time()
        if order is None:
            return None
        if channel == "amazon":
            stamp, whole = parse_amazon_time(order["PurchaseDate"]).timestamp(), True
        else:
            stamp, whole = parse_iso(order["created_at"]).timestamp(), False
        return SaleRecord(sku, channel, called, answered, stamp, whole)

    def quantities(self, channel: str) -> dict[str, int]:
        if channel == "shopify":
            return {code: self.shop.available(code, LOCATION) for code in self.codes}
        if channel == "amazon":
            return self.amazon.quantities()
        return {code: self.sandbox.quantity(code) for code in self.codes}

    def applied(self) -> dict[str, dict[str, list[tuple[float, int]]]]:
        """Per channel and SKU: (epoch seconds, quantity) of every quantity a push set."""
        applied: dict[str, dict[str, list[tuple[float, int]]]] = {
            name: defaultdict(list) for name in CHANNELS
        }
        for push in self.shop.snapshot()["inventory_pushes"]:
            if push["status"] == "applied":
                moment = parse_iso(push["time"]).timestamp()
                for entry in push["quantities"]:
                    sku = self.inventory_items[str(entry["inventoryItemId"])]
                    applied["shopify"][sku].append((moment, int(entry["quantity"])))
        for patch in self.amazon.listing_patches():
            if patch["status"] == "ACCEPTED" and patch.get("appliedAt"):
                moment = parse_iso(patch["appliedAt"]).timestamp()
                applied["amazon"][patch["sku"]].append((moment, patched_quantity(patch)))
        for push in self.sandbox.snapshot()["inventory_pushes"]:
            if push["status"] == "ok":
                moment = parse_iso(push["time"]).timestamp()
                applied["sandbox"][push["sku"]].append((moment, int(push["quantity"])))
        return applied

    def amazon_order_calls(self) -> dict[str, int]:
        """The Orders API 2026-01-01 calls the hub made, and the notifications sent."""
        requests = self.amazon.traffic()["requests"]
        calls = {name: int(requests.get(name, 0)) for name in ("searchOrders", "getOrder")}
        calls["notifications_sent"] = int(self.amazon.notifications_state()["sent"])
        return calls

    def throttled(self) -> dict[str, int]:
        return {
            "shopify": self.shop.throttled_count,
            "amazon": int(self.amazon.traffic()["responses_429"]),
            "sandbox": int(self.sandbox.traffic()["responses_429"]),
        }


def patched_quantity(patch: Mapping[str, Any]) -> int:
    for change in patch["patches"]:
        if str(change.get("path", "")).endswith("fulfillment_availability"):
            for entry in change.get("value") or []:
                if entry.get("fulfillment_channel_code") == "DEFAULT":
                    return int(entry["quantity"])
    raise ValueError(f"patch of {patch['sku']} sets no DEFAULT quantity")


def write_config(folder: Path, markets: Markets, feed_threshold: int) -> Path:
    quiet = "listings: 1h, stock: 1m, fulfilments: 1h, reconcile: 1h"
    token, secret = f"${{{TOKEN_VARIABLE}}}", f"${{{SECRET_VARIABLE}}}"
    channels = {
        "shopify": f"""\
            type: shopify
            shop: {markets.shop.shop}
            endpoint: {markets.shop.url}
            access_token: {token}
            client_secret: {secret}
            push_location: {LOCATION}
            schedule: {{orders: 1m, {quiet}}}
            sync: {{lag: 30s, backfill: 1h}}
            """,
        # orders_settle_seconds and the simulator's orders_lag stay Amazon's own (130 s,
        # 2 minutes): polling is the backstop, notifications bring the orders.
        "amazon": signed_in_channel(markets.amazon, token)
        + f"feed_threshold: {feed_threshold}\n"
        + "feed_poll_seconds: 0.5\n"
        + queue_settings(markets.queue_url, markets.sqs, token, secret, AMAZON_NOTIFICATION_WAIT_S)
        + f"schedule: {{orders: {AMAZON_BACKSTOP_S}s, {quiet}}}\n",
        "sandbox": f"""\
            type: sandbox
            endpoint: {markets.sandbox.url}
            api_key: {token}
            requests_per_second: {SANDBOX_RATE}
            burst: {SANDBOX_BURST}
            schedule: {{orders: 1s, {quiet}}}
            sync: {{lag: 5s, backfill: 1h}}
            """,
    }
    return write_config_folder(
        folder,
        folder / "hub.db",
        f"""\
        http: {{enabled: true, host: 127.0.0.1, port: 0}}
        locations:
          - {{code: main, name: {LOCATION}}}
        """,
        {name: textwrap.dedent(text) for name, text in channels.items()},
    )
