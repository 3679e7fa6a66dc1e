"""hub/demo/amazon.py: the demo's Amazon seller hears its orders by ORDER_CHANGE
notifications on moto's SQS when moto is installed, and polls, saying so, when not.

The market runs in-process (the simulator and moto on loopback threads); a buyer's
order is read back from the queue the channel file names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml

from omnisync.hub.demo.amazon import NOTIFICATIONS_OFF, AmazonMarket, moto_installed
from omnisync.hub.demo.markets import SCHEDULE
from tests.support.sqs import Queue, receive_bodies

TOKEN = "demo-unit-0123456789abcdef"
TOKEN_VARIABLE = "OMNISYNC_DEMO_TOKEN"


def started(notifications: bool) -> Iterator[AmazonMarket]:
    market = AmazonMarket("amazon-b", TOKEN, SCHEDULE, 10, notifications=notifications)
    market.start()
    try:
        market.offer(["DEMO-001"])
        market.server.set_listings([{"sku": "DEMO-001", "title": "DEMO-001", "quantity": 5}])
        yield market
    finally:
        market.stop()


@pytest.fixture
def notified() -> Iterator[AmazonMarket]:
    yield from started(notifications=True)


@pytest.fixture
def polled() -> Iterator[AmazonMarket]:
    yield from started(notifications=False)


def channel_file(market: AmazonMarket) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(market.channel_file(TOKEN_VARIABLE))
    return parsed


def test_with_moto_a_buyers_order_is_notified_on_the_queue_the_channel_file_names(
    notified: AmazonMarket,
) -> None:
    block = channel_file(notified)["notifications"]
    assert notified.sqs is not None
    assert block == {
        "queue_url": notified.queue_url,
        "region": "us-east-1",
        "endpoint": notified.sqs.endpoint,
        "access_key_id": f"${{{TOKEN_VARIABLE}}}",
        "secret_access_key": f"${{{TOKEN_VARIABLE}}}",
        "wait_seconds": 1,
    }
    assert (notified.intake, notified.notice) == ("notifications", None)
    order = notified.buy("DEMO-001", 1)
    assert order is not None
    queue = Queue(name="demo", url=notified.queue_url, arn="")
    (body,) = receive_bodies(notified.sqs, queue, 1)
    change = json.loads(body)["Payload"]["OrderChangeNotification"]
    assert change["AmazonOrderId"] == order["id"]


def test_the_sale_time_is_the_simulators_stamp_that_purchase_date_shows_in_seconds(
    notified: AmazonMarket,
) -> None:
    order = notified.buy("DEMO-001", 1)
    assert order is not None
    sold_at = notified.sale_time(order)
    shown = sold_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shown == order["PurchaseDate"]
    assert sold_at.utcoffset() == timedelta(0)


def test_the_sqs_server_stops_with_the_market() -> None:
    market = AmazonMarket("amazon-b", TOKEN, SCHEDULE, 10, notifications=True)
    market.start()
    server = market.sqs
    assert server is not None
    market.stop()
    assert market.sqs is None
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint


def test_without_notifications_the_channel_is_polled_and_the_market_says_why(
    polled: AmazonMarket,
) -> None:
    assert "notifications" not in channel_file(polled)
    assert polled.sqs is None
    assert polled.intake == "polling"
    assert polled.notice == NOTIFICATIONS_OFF
    assert "moto is not installed" in NOTIFICATIONS_OFF


def test_moto_missing_turns_notifications_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert moto_installed()  # the dev install has it
    monkeypatch.setitem(sys.modules, "moto", None)  # as if it were not installed
    assert not moto_installed()
    market = AmazonMarket("amazon-b", TOKEN, SCHEDULE, 10)
    assert (market.notifications, market.intake) == (False, "polling")
