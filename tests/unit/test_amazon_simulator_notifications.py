"""The Amazon simulator's Notifications API v1 over real HTTP (grantless destinations,
seller subscriptions, Amazon's conflicts) and its ORDER_CHANGE notifications, published
to queues on moto's SQS: one message per new or changed order, valid against Amazon's
schema; paused publishing; raw bodies; failures counted, never raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from sp_api.api import Notifications

from omnisync.sandbox.__main__ import build_parser
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.limits import usage_plan
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.sqs import SqsServer
from tests.support.amazon_sp_api import seller_api_fixture, sp_api_client
from tests.support.reference import REFERENCE_DIR
from tests.support.sqs import (
    Queue,
    fresh_queue,
    receive_bodies,
    sqs_server_fixture,
    waiting_messages,
)

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
DESTINATIONS = "/notifications/v1/destinations"
SUBSCRIPTIONS = "/notifications/v1/subscriptions"
SCOPE = "sellingpartnerapi::notifications"
ORDER_CHANGE_SCHEMA = Draft7Validator(
    json.loads((REFERENCE_DIR / "amazon" / "schemas" / "OrderChangeNotification.json").read_text())
)

sqs_server = sqs_server_fixture()


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
def running(clock: ManualClock, sqs_server: SqsServer) -> Iterator[AmazonSimulator]:
    with AmazonSimulator(
        name="amazon-notifications", rate_scale=1000, clock=clock, sqs_endpoint=sqs_server.endpoint
    ) as sim:
        yield sim


@pytest.fixture
def sim(running: AmazonSimulator, sqs_server: SqsServer) -> AmazonSimulator:
    running.reset()
    running.set_sqs_endpoint(sqs_server.endpoint)
    running.add_listings(
        [{"sku": "A", "quantity": 50, "price": "12.50"}, {"sku": "B", "quantity": 50}]
    )
    return running


@pytest.fixture
def queue(sqs_server: SqsServer) -> Queue:
    return fresh_queue(sqs_server)


seller = seller_api_fixture("seller")


@pytest.fixture
def grantless(sim: AmazonSimulator) -> Iterator[httpx.Client]:
    """The SP-API with a grantless token of the notifications scope, fetched from LWA."""
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": sim.credentials.client_id,
        "client_secret": sim.credentials.client_secret,
    }
    token = httpx.post(sim.lwa_url, data=form).json()["access_token"]
    with httpx.Client(
        base_url=sim.url, headers={"x-amz-access-token": token}, timeout=10
    ) as client:
        yield client


def destination_body(arn: str, name: str = "hub") -> dict[str, Any]:
    return {"name": name, "resourceSpecification": {"sqs": {"arn": arn}}}


def errors_of(answer: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert answer.status_code == status, answer.text
    errors: list[dict[str, Any]] = answer.json()["errors"]
    return errors


def notifications(sqs: SqsServer, queue: Queue, sim: AmazonSimulator, count: int) -> list[Any]:
    """The next `count` messages on `queue`, parsed, once the simulator has sent them all."""
    assert sim.wait_for_notifications()
    return [json.loads(body) for body in receive_bodies(sqs, queue, count)]


def change_of(notification: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = notification["Payload"]["OrderChangeNotification"]
    return change


# the Notifications API ----------------------------------------------------------------------


def test_destinations_need_a_grantless_token_of_the_notifications_scope(
    sim, seller, grantless, queue
):
    refused = seller.post(DESTINATIONS, json=destination_body(queue.arn))
    assert errors_of(refused, 403)[0]["code"] == "Unauthorized"
    made = grantless.post(DESTINATIONS, json=destination_body(queue.arn))
    assert made.status_code == 200, made.text
    destination = made.json()["payload"]
    assert destination["name"] == "hub"
    assert destination["resource"] == {"sqs": {"arn": queue.arn}}
    assert destination["destinationId"]
    assert grantless.get(DESTINATIONS).json() == {"payload": [destination]}
    one = grantless.get(f"{DESTINATIONS}/{destination['destinationId']}")
    assert one.json() == {"payload": destination}
    assert seller.get(DESTINATIONS).status_code == 403
    other_scope = sim.grantless_token("sellingpartnerapi::migration")
    assert (
        httpx.get(sim.url + DESTINATIONS, headers={"x-amz-access-token": other_scope}).status_code
        == 403
    )


def test_destination_refusals_are_amazons(grantless, queue, clock):
    first = grantless.post(DESTINATIONS, json=destination_body(queue.arn))
    assert first.status_code == 200
    [conflict] = errors_of(grantless.post(DESTINATIONS, json=destination_body(queue.arn)), 409)
    assert conflict["code"] == "Conflict"
    assert queue.arn in conflict["details"]
    for bad in ("arn:aws:sns:us-east-1:123456789012:topic", "queue-name", ""):
        clock.advance(timedelta(seconds=0.01))  # createDestination's burst is 5
        assert errors_of(grantless.post(DESTINATIONS, json=destination_body(bad)), 400)
    event_bridge = {
        "name": "bus",
        "resourceSpecification": {"eventBridge": {"region": "us-east-1", "accountId": "1"}},
    }
    clock.advance(timedelta(seconds=0.01))
    assert errors_of(grantless.post(DESTINATIONS, json=event_bridge), 400)
    assert errors_of(grantless.get(f"{DESTINATIONS}/nope"), 404)[0]["code"] == "NotFound"


def test_the_subscription_flow_with_amazons_conflicts(sim, seller, grantless, queue):
    destination_id = grantless.post(DESTINATIONS, json=destination_body(queue.arn)).json()[
        "payload"
    ]["destinationId"]
    url = f"{SUBSCRIPTIONS}/ORDER_CHANGE"
    body = {"payloadVersion": "1.0", "destinationId": destination_id}
    assert errors_of(grantless.post(url, json=body), 403)  # a seller's operation
    assert errors_of(seller.get(url), 404)[0]["code"] == "NotFound"
    made = seller.post(url, json=body)
    assert made.status_code == 200, made.text
    subscription = made.json()["payload"]
    assert subscription["destinationId"] == destination_id
    assert subscription["payloadVersion"] == "1.0"
    assert seller.get(url).json() == {"payload": subscription}
    [conflict] = errors_of(seller.post(url, json=body), 409)
    assert conflict["code"] == "Conflict"
    listed = seller.get(SUBSCRIPTIONS, params={"notificationTypes": "ORDER_CHANGE"})
    assert listed.json() == {"payload": {"subscriptions": [subscription]}}
    by_id = f"{url}/{subscription['subscriptionId']}"
    assert grantless.get(by_id).json() == {"payload": subscription}
    in_use = grantless.delete(f"{DESTINATIONS}/{destination_id}")
    assert errors_of(in_use, 403)[0]["details"] == "Destination has subscriptions"
    assert grantless.delete(by_id).status_code == 200
    assert errors_of(seller.get(url), 404)
    assert grantless.delete(f"{DESTINATIONS}/{destination_id}").status_code == 200
    assert grantless.get(DESTINATIONS).json() == {"payload": []}


def test_subscription_refusals(seller, grantless, queue):
    destination_id = grantless.post(DESTINATIONS, json=destination_body(queue.arn)).json()[
        "payload"
    ]["destinationId"]
    url = f"{SUBSCRIPTIONS}/ORDER_CHANGE"
    assert errors_of(seller.post(url, json={"payloadVersion": "1.0", "destinationId": "nope"}), 400)
    wrong_version = {"payloadVersion": "2.0", "destinationId": destination_id}
    assert errors_of(seller.post(url, json=wrong_version), 400)
    assert errors_of(seller.post(url, json={"destinationId": destination_id}), 400)
    assert errors_of(seller.post(f"{SUBSCRIPTIONS}/order-change", json=wrong_version), 400)
    assert errors_of(seller.delete(f"{url}/not-a-subscription"), 404)


def test_usage_plans_and_throttling(sim, grantless):
    for operation in (
        "createDestination",
        "createSubscription",
        "getSubscription",
        "deleteSubscriptionById",
    ):
        assert usage_plan(operation) == (1.0, 5)
    answer = grantless.get(DESTINATIONS)
    assert answer.headers["x-amzn-RateLimit-Limit"] == "1000.0"  # 1/s, scaled by 1000
    sim.drain("getDestinations")
    assert errors_of(grantless.get(DESTINATIONS), 429)[0]["code"] == "QuotaExceeded"


def test_the_librarys_notifications_client_subscribes_and_unsubscribes(sim, queue):
    client = sp_api_client(sim, Notifications)
    destination = client.create_destination(name="hub", arn=queue.arn).payload
    subscription = client.create_subscription(
        "ORDER_CHANGE", destination_id=destination["destinationId"]
    ).payload
    assert client.get_subscription("ORDER_CHANGE").payload == subscription
    assert [d["destinationId"] for d in client.get_destinations().payload] == [
        destination["destinationId"]
    ]
    client.delete_notification_subscription("ORDER_CHANGE", subscription["subscriptionId"])
    client.delete_destination(destination["destinationId"])
    assert sim.notifications_state()["subscriptions"] == []
    assert sim.notifications_state()["destinations"] == []


# ORDER_CHANGE to SQS ---------------------------------------------------------------------------


def test_a_new_order_publishes_one_valid_order_change(sim, sqs_server, queue, clock):
    subscribed = sim.subscribe_queue(queue.arn)
    order = sim.place_order([("A", 2)])
    [notification] = notifications(sqs_server, queue, sim, 1)
    errors = list(ORDER_CHANGE_SCHEMA.iter_errors(notification))
    assert not errors, [error.message for error in errors]
    assert notification["NotificationType"] == "ORDER_CHANGE"
    assert notification["NotificationVersion"] == notification["PayloadVersion"] == "1.0"
    now = clock.now()
    assert notification["EventTime"] == now.strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{now.microsecond // 1000:03d}Z"
    )
    metadata = notification["NotificationMetadata"]
    assert metadata["SubscriptionId"] == subscribed["subscriptionId"]
    assert metadata["ApplicationId"] == sim.application_id
    change = change_of(notification)
    assert change["SellerId"] == sim.seller_id
    assert change["AmazonOrderId"] == order["AmazonOrderId"]
    assert change["OrderChangeType"] == "OrderStatusChange"
    # The instant the order's lastUpdatedTime (whole seconds) shows, with milliseconds.
    trigger = change["OrderChangeTrigger"]
    assert trigger["TimeOfOrderChange"] == order["LastUpdateDate"][:-1] + ".000Z"
    summary = change["Summary"]
    assert summary["MarketplaceId"] == US
    assert summary["OrderStatus"] == "Unshipped"
    assert summary["FulfillmentType"] == "MFN"
    assert summary["NumberOfItemsUnshipped"] == 2
    [item] = summary["OrderItems"]
    assert item["SellerSKU"] == "A"
    assert item["Quantity"] == 2
    assert item["IsBuyerRequestedCancel"] is False
    assert waiting_messages(sqs_server, queue) == 0
    assert sim.notifications_state()["sent"] == 1


def test_status_changes_cancel_requests_and_shipments_publish_one_each(
    sim, sqs_server, queue, seller, clock
):
    sim.subscribe_queue(queue.arn)
    order_id = sim.place_order([("A", 1), ("B", 1)], status="Pending")["AmazonOrderId"]
    clock.advance(timedelta(seconds=1))
    sim.authorise_payment(order_id)
    clock.advance(timedelta(seconds=1))
    sim.request_cancel(order_id, "B", "Ordered by mistake")
    clock.advance(timedelta(seconds=1))
    order = sim.get_order(order_id)
    package = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": "1Z1",
        "shipDate": "2026-11-22T10:00:03Z",
        "orderItems": [{"orderItemId": order["OrderItems"][0]["OrderItemId"], "quantity": 1}],
    }
    confirmed = seller.post(
        f"/orders/v0/orders/{order_id}/shipmentConfirmation",
        json={"marketplaceId": US, "packageDetail": package},
    )
    assert confirmed.status_code == 204
    published = notifications(sqs_server, queue, sim, 4)
    assert all(not list(ORDER_CHANGE_SCHEMA.iter_errors(n)) for n in published)
    changes = [change_of(n) for n in published]
    assert [c["Summary"]["OrderStatus"] for c in changes] == [
        "Pending",
        "Unshipped",
        "Unshipped",
        "PartiallyShipped",
    ]
    assert [c["OrderChangeType"] for c in changes] == [
        "OrderStatusChange",
        "OrderStatusChange",
        "BuyerRequestedChange",
        "OrderStatusChange",
    ]
    assert [item["IsBuyerRequestedCancel"] for item in changes[2]["Summary"]["OrderItems"]] == [
        False,
        True,
    ]
    times = [c["OrderChangeTrigger"]["TimeOfOrderChange"] for c in changes]
    assert times == sorted(times)
    assert len(set(times)) == 4
    assert changes[3]["Summary"]["NumberOfItemsShipped"] == 1
    assert waiting_messages(sqs_server, queue) == 0


def test_a_cancellation_publishes_canceled(sim, sqs_server, queue):
    sim.subscribe_queue(queue.arn)
    order_id = sim.place_order([("A", 1)])["AmazonOrderId"]
    sim.cancel_order(order_id)
    _placed, second = notifications(sqs_server, queue, sim, 2)
    assert change_of(second)["Summary"]["OrderStatus"] == "Canceled"
    assert change_of(second)["Summary"]["NumberOfItemsUnshipped"] == 0


def test_paused_publishing_sends_nothing_until_resumed(sim, sqs_server, queue):
    sim.subscribe_queue(queue.arn)
    sim.pause_notifications()
    sim.place_order([("A", 1)])
    assert sim.wait_for_notifications()
    assert waiting_messages(sqs_server, queue) == 0
    assert sim.notifications_state()["suppressed"] == 1
    assert httpx.post(sim.url + "/_control/notifications/resume").json() == {"paused": False}
    later = sim.place_order([("A", 1)])["AmazonOrderId"]
    [notification] = notifications(sqs_server, queue, sim, 1)
    assert change_of(notification)["AmazonOrderId"] == later
    assert httpx.post(sim.url + "/_control/notifications/pause").json() == {"paused": True}
    sim.place_order([("A", 1)])
    assert sim.wait_for_notifications()
    assert waiting_messages(sqs_server, queue) == 0
    assert httpx.get(sim.url + "/_control/notifications").json()["paused"] is True


def test_the_raw_control_route_delivers_the_body_as_it_is(sim, sqs_server, queue):
    refused = httpx.post(sim.url + "/_control/notifications/raw", content=b"{}")
    assert refused.status_code == 409
    assert refused.json()["error"] == "no_subscription"
    sim.subscribe_queue(queue.arn)
    raw = b'{"NotificationType": "ORDER_CHANGE", "Payload": {'
    answer = httpx.post(sim.url + "/_control/notifications/raw", content=raw)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"delivered": True, "queue_arn": queue.arn}
    assert receive_bodies(sqs_server, queue, 1) == [raw.decode()]


def test_nothing_is_published_without_a_subscription_or_an_endpoint(sim, sqs_server, queue):
    sim.place_order([("A", 1)])  # no subscription yet
    sim.subscribe_queue(queue.arn)
    sim.set_sqs_endpoint(None)
    sim.place_order([("A", 1)])
    assert sim.wait_for_notifications()
    assert waiting_messages(sqs_server, queue) == 0
    assert sim.notifications_state()["sent"] == 0


def test_a_queue_that_is_not_there_is_counted_as_a_failure_not_raised(sim):
    sim.subscribe_queue("arn:aws:sqs:us-east-1:123456789012:no-such-queue-here")
    order = sim.place_order([("A", 1)])
    assert order["OrderStatus"] == "Unshipped"
    assert sim.wait_for_notifications()
    state = sim.snapshot()["notifications"]
    assert state["failed"] == 1
    assert state["sent"] == 0
    assert "NonExistentQueue" in state["last_error"] or "QueueDoesNotExist" in state["last_error"]


def test_subscribe_queue_keeps_what_exists_and_refuses_a_second_queue(sim, sqs_server, queue):
    first = sim.subscribe_queue(queue.arn)
    assert sim.subscribe_queue(queue.arn) == first
    other = fresh_queue(sqs_server)
    with pytest.raises(ValueError, match="already goes to"):
        sim.subscribe_queue(other.arn)
    with pytest.raises(ValueError, match="ARN"):
        sim.subscribe_queue("not-an-arn")


def test_the_standalone_amazon_simulator_takes_an_sqs_endpoint(sqs_server):
    args = build_parser().parse_args(["amazon", "--sqs-endpoint", sqs_server.endpoint])
    standalone = args.kind.build(args)
    assert standalone.sqs_endpoint == sqs_server.endpoint
    assert build_parser().parse_args(["amazon"]).sqs_endpoint is None


def test_the_subscriptions_event_filter_chooses_what_is_published(sim, sqs_server, queue, seller):
    destination = sim.subscribe_queue(queue.arn)["destinationId"]
    unsubscribed = sim.notifications_state()["subscriptions"][0]["subscriptionId"]
    grantless_token = {"x-amz-access-token": sim.grantless_token()}
    url = f"{sim.url}{SUBSCRIPTIONS}/ORDER_CHANGE"
    assert httpx.delete(f"{url}/{unsubscribed}", headers=grantless_token).status_code == 200
    only_cancel_requests = {
        "eventFilter": {
            "eventFilterType": "ORDER_CHANGE",
            "marketplaceIds": [US],
            "orderChangeTypes": ["BuyerRequestedChange"],
        }
    }
    body = {
        "payloadVersion": "1.0",
        "destinationId": destination,
        "processingDirective": only_cancel_requests,
    }
    made = seller.post(f"{SUBSCRIPTIONS}/ORDER_CHANGE", json=body)
    assert made.json()["payload"]["processingDirective"] == only_cancel_requests
    order_id = sim.place_order([("A", 1)])["AmazonOrderId"]
    sim.request_cancel(order_id)
    [notification] = notifications(sqs_server, queue, sim, 1)
    assert change_of(notification)["OrderChangeType"] == "BuyerRequestedChange"
    assert waiting_messages(sqs_server, queue) == 0
