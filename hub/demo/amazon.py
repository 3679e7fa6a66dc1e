"""The Amazon seller account of `omnisync demo`: the Amazon simulator, sped up.

Amazon's published rates are kept in shape but run `RATE_SCALE` times faster
(getOrders is one call a minute for real), getOrders may read up to `ORDERS_LAG`
before now instead of two minutes, and a feed is processed in `FEED_DELAY_S`. Buyers
order merchant-fulfilled (MFN); now and then an order waits for its payment
(Pending, no prices) and is authorised a little later, as Amazon does.
"""

from __future__ import annotations

import random
import textwrap
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from omnisync.sandbox.amazon import AmazonSimulator, LwaCredentials
from omnisync.sandbox.faults import ANY_ENDPOINT

RATE_SCALE: Final = 60.0
ORDERS_LAG: Final = timedelta(seconds=1)
SETTLE_S: Final = 1.2
"""The channel's `orders_settle_seconds`: the simulator's lag and a little spare."""
FEED_DELAY_S: Final = 0.2
FEED_THRESHOLD: Final = 150
"""Low enough for a full reconcile of the demo's catalogue to go out as one feed."""
PENDING_SHARE: Final = 0.1
PAYMENT_DELAY_S: Final = 2.0


class AmazonMarket:
    """One seller in the US marketplace; the LWA credentials are made from the demo's
    token, so the channel file reads them from the same variable."""

    type = "amazon"
    settle_seconds = SETTLE_S + 1.0
    """How long after the last order the hub can see it: getOrders' bounds are whole
    seconds, so one more second than the settle window."""

    def __init__(self, name: str, token: str, schedule: str, call_timeout: float) -> None:
        self.name = name
        self.schedule = schedule
        self.call_timeout = call_timeout
        self.server = AmazonSimulator(
            LwaCredentials(
                client_id=f"amzn1.application-oa2-client.{token}",
                client_secret=f"amzn1.oa2-cs.v1.{token}",
                refresh_token=f"Atzr|{token}",
            ),
            name=name,
            rate_scale=RATE_SCALE,
            orders_lag=ORDERS_LAG,
            feed_delay=FEED_DELAY_S,
        )
        self.random = random.Random(token)  # noqa: S311 (simulation, not secrets)
        self.awaiting_payment: dict[str, float] = {}
        """Pending orders by id, with when they were placed (monotonic)."""

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def offer(self, codes: Iterable[str]) -> None:
        self.server.set_listings([{"sku": code, "title": code, "quantity": 0} for code in codes])

    def buy(self, sku: str, quantity: int) -> dict[str, Any] | None:
        self._authorise_due_payments()
        pending = self.random.random() < PENDING_SHARE
        order = self.server.buy(sku, quantity, status="Pending" if pending else "Unshipped")
        if order is None:
            return None
        order_id = str(order["AmazonOrderId"])
        if pending:
            self.awaiting_payment[order_id] = time.monotonic()
        return {**order, "id": order_id}

    def _authorise_due_payments(self) -> None:
        due = time.monotonic() - PAYMENT_DELAY_S
        for order_id, placed in list(self.awaiting_payment.items()):
            if placed <= due:
                del self.awaiting_payment[order_id]
                self.server.authorise_payment(order_id)

    def cancel(self, order_id: str) -> None:
        self.awaiting_payment.pop(order_id, None)
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {str(order["AmazonOrderId"]) for order in self.server.orders()}

    def quantities(self) -> dict[str, int]:
        return self.server.quantities()

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

    def channel_file(self, token_variable: str) -> str:
        token = f"${{{token_variable}}}"
        return textwrap.dedent(
            f"""\
            type: amazon
            marketplace: US
            seller_id: {self.server.seller_id}
            endpoint: {self.server.endpoint}
            lwa_endpoint: {self.server.lwa_url}
            credentials:
              refresh_token: Atzr|{token}
              lwa_app_id: amzn1.application-oa2-client.{token}
              lwa_client_secret: amzn1.oa2-cs.v1.{token}
            orders_settle_seconds: {SETTLE_S}
            timeout_seconds: {self.call_timeout:g}
            feed_threshold: {FEED_THRESHOLD}
            feed_poll_seconds: 0.05
            schedule: {self.schedule}
            sync: {{lag: 5s, backfill: 1h}}
            """
        )
