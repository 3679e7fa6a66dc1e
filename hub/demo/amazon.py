"""The Amazon seller account of `omnisync demo`: the Amazon simulator, sped up.

Amazon's published rates are kept in shape but run `RATE_SCALE` times faster
(searchOrders is one call every three minutes for real), searchOrders may read up to
`ORDERS_LAG` before now instead of two minutes, and a feed is processed in
`FEED_DELAY_S`. Buyers order merchant-fulfilled (MFN); now and then an order waits
for its payment (Pending, no prices) and is authorised a little later, as Amazon does.

The hub hears the seller's orders as a real one should: by ORDER_CHANGE notifications
on an SQS queue, served by moto on loopback (sandbox/sqs.py), with polling kept as the
backstop. moto comes with `make demo` (the dev or demo extra), not with a plain
`pip install omnisync`: without it the market says so once (`notice`) and the hub
polls Amazon for its orders, as it would for a seller who has not subscribed.

How a channel file signs in to the simulator (`token_credentials`, `signed_in_channel`)
and reads its queue (`queue_settings`) is written once here: b3_propagation
(bench/propagation_markets.py) runs the same simulator at Amazon's real rates and uses
these too, so the demo and the benchmark cannot configure Amazon two ways.
"""

from __future__ import annotations

import importlib.util
import random
import textwrap
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.amazon import AmazonSimulator, LwaCredentials
from omnisync.sandbox.faults import ANY_ENDPOINT

if TYPE_CHECKING:
    from omnisync.sandbox.sqs import SqsServer

RATE_SCALE: Final = 60.0
ORDERS_LAG: Final = timedelta(seconds=1)
SETTLE_S: Final = 1.2
"""The channel's `orders_settle_seconds`: the simulator's lag and a little spare."""
FEED_DELAY_S: Final = 0.2
FEED_THRESHOLD: Final = 150
"""Low enough for a full reconcile of the demo's catalogue to go out as one feed."""
PENDING_SHARE: Final = 0.1
PAYMENT_DELAY_S: Final = 2.0
VISIBILITY_TIMEOUT_S: Final = 5
"""The queue's: a message the hub took and did not delete comes back this soon."""
NOTIFICATIONS_OFF: Final = (
    "Amazon ORDER_CHANGE notifications are off: moto is not installed "
    "(pip install 'omnisync[demo]'); the hub polls Amazon for its orders."
)


def moto_installed() -> bool:
    """Whether moto (the SQS server the notifications go through) can be imported."""
    return importlib.util.find_spec("moto") is not None


def token_credentials(token: str) -> LwaCredentials:
    """The simulator's LWA credentials, all three made from `token`, so a channel file
    reads them from the token's one variable (:func:`signed_in_channel`)."""
    return LwaCredentials(
        client_id=f"amzn1.application-oa2-client.{token}",
        client_secret=f"amzn1.oa2-cs.v1.{token}",
        refresh_token=f"Atzr|{token}",
    )


def signed_in_channel(server: AmazonSimulator, token: str) -> str:
    """The head of an Amazon channel file for `server`'s seller in the US marketplace:
    its endpoints, and :func:`token_credentials` of `token` (the file's `${VARIABLE}`)."""
    return textwrap.dedent(
        f"""\
        type: amazon
        marketplace: US
        seller_id: {server.seller_id}
        endpoint: {server.endpoint}
        lwa_endpoint: {server.lwa_url}
        credentials:
          refresh_token: Atzr|{token}
          lwa_app_id: amzn1.application-oa2-client.{token}
          lwa_client_secret: amzn1.oa2-cs.v1.{token}
        """
    )


def queue_settings(
    queue_url: str, sqs: SqsServer, key_id: str, secret: str, wait_seconds: float
) -> str:
    """An Amazon channel file's `notifications:`: the queue at `queue_url` on moto's `sqs`,
    read with the keys given (moto takes any), `wait_seconds` a receive."""
    return textwrap.dedent(
        f"""\
        notifications:
          queue_url: {queue_url}
          region: {sqs.region}
          endpoint: {sqs.endpoint}
          access_key_id: {key_id}
          secret_access_key: {secret}
          wait_seconds: {wait_seconds:g}
        """
    )


class AmazonMarket:
    """One seller in the US marketplace; the LWA credentials are made from the demo's
    token, so the channel file reads them from the same variable."""

    type = "amazon"
    settle_seconds = SETTLE_S + 1.0
    """How long after the last order polling can see it: searchOrders' bounds are whole
    seconds, so one more second than the settle window."""

    def __init__(
        self,
        name: str,
        token: str,
        schedule: str,
        call_timeout: float,
        *,
        notifications: bool | None = None,
    ) -> None:
        """`notifications`: hear orders by ORDER_CHANGE over SQS (whether moto is
        installed when None)."""
        self.name = name
        self.schedule = schedule
        self.call_timeout = call_timeout
        self.notifications = moto_installed() if notifications is None else notifications
        self.intake = "notifications" if self.notifications else "polling"
        self.notice = None if self.notifications else NOTIFICATIONS_OFF
        self.sqs: SqsServer | None = None
        self.queue_url = ""
        self.server = AmazonSimulator(
            token_credentials(token),
            name=name,
            rate_scale=RATE_SCALE,
            orders_lag=ORDERS_LAG,
            feed_delay=FEED_DELAY_S,
        )
        self.random = random.Random(token)  # noqa: S311 (simulation, not secrets)
        self.awaiting_payment: dict[str, float] = {}
        """Pending orders by id, with when they were placed (monotonic)."""

    def start(self) -> str:
        url = self.server.start()
        if self.notifications:
            try:
                self._subscribe()
            except BaseException:
                self.stop()
                raise
        return url

    def _subscribe(self) -> None:
        """moto's SQS on loopback, a queue of this seller's, the ORDER_CHANGE
        subscription to it."""
        from omnisync.sandbox.sqs import SqsServer  # moto: only when it is installed

        self.sqs = SqsServer()
        endpoint = self.sqs.start()
        # moto keeps its queues per process: a name no other demo market in it uses.
        queue = f"omnisync-demo-{self.name}-{uuid.uuid4().hex[:8]}"
        self.queue_url, arn = self.sqs.create_queue(queue, VISIBILITY_TIMEOUT_S)
        self.server.set_sqs_endpoint(endpoint)
        self.server.subscribe_queue(arn)

    def stop(self) -> None:
        self.server.stop()  # sends the notifications still queued, then stops
        if self.sqs is not None:
            self.sqs.stop()
            self.sqs = None

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

    def sale_time(self, order: Mapping[str, Any]) -> datetime:
        """When the buyer bought: the simulator's own stamp of the order, whose
        `PurchaseDate` shows it in whole seconds only."""
        return self.server.orders_book.order(str(order["id"])).purchased_at

    def cancel(self, order_id: str) -> None:
        self.awaiting_payment.pop(order_id, None)
        self.server.cancel_order(order_id)

    def order_ids(self) -> set[str]:
        return {str(order["AmazonOrderId"]) for order in self.server.orders()}

    def quantities(self) -> dict[str, int]:
        return self.server.quantities()

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)

    def send_webhooks_to(self, hub_url: str) -> None:
        return None  # Amazon's orders come by ORDER_CHANGE notifications or polling

    def channel_file(self, token_variable: str) -> str:
        token = f"${{{token_variable}}}"
        return self._channel_settings(token) + self._notifications_block(token)

    def _channel_settings(self, token: str) -> str:
        return signed_in_channel(self.server, token) + textwrap.dedent(
            f"""\
            orders_settle_seconds: {SETTLE_S}
            timeout_seconds: {self.call_timeout:g}
            feed_threshold: {FEED_THRESHOLD}
            feed_poll_seconds: 0.05
            schedule: {self.schedule}
            sync: {{lag: 5s, backfill: 1h}}
            """
        )

    def _notifications_block(self, token: str) -> str:
        """The queue the hub long-polls (a second a receive, so it stops quickly); moto
        takes any key, so the demo's token is both."""
        if self.sqs is None:
            return ""
        return queue_settings(self.queue_url, self.sqs, token, token, wait_seconds=1)
