"""The eBay simulator's notifications: the public key getPublicKey serves, signed
deliveries (checked here with `cryptography`, as eBay's SDKs check them), tampering,
redelivery, account deletion, and eBay's endpoint challenge."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.ebay import EbaySimulator, EbaySimulatorError
from omnisync.sandbox.ebay.notifications import challenge_response
from tests.support.alert_receivers import closed_port
from tests.support.ebay import (
    FULFILLMENT,
    NotificationReceiver,
    api,
    clock_of,
    signature_document,
    signature_verifies,
)

START = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
TOKEN = "verification-token-of-the-hub-0123456789abcdef"


@pytest.fixture(scope="module")
def served() -> Iterator[EbaySimulator]:
    with EbaySimulator(name="ebay-notifications", clock=ManualClock(START)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def served_receiver(served: EbaySimulator) -> Iterator[NotificationReceiver]:
    with NotificationReceiver(served.public_key_pem(), TOKEN) as receiver:
        yield receiver


@pytest.fixture
def receiver(served_receiver: NotificationReceiver) -> NotificationReceiver:
    served_receiver.received.clear()
    return served_receiver


@pytest.fixture
def ebay(served: EbaySimulator, receiver: NotificationReceiver) -> EbaySimulator:
    assert served.wait_for_notifications()
    served.reset()
    clock_of(served).set(START)
    served.seed_listing("MUG", 5)
    served.send_notifications_to(receiver.url)
    return served


def delivered(simulator: EbaySimulator, receiver: NotificationReceiver) -> list[dict[str, Any]]:
    assert simulator.wait_for_notifications(timeout=10)
    return [delivery.json() for delivery in receiver.deliveries()]


def test_get_public_key_serves_the_key_that_verifies_a_signed_order_confirmation(ebay, receiver):
    with api(ebay, ebay.application_token()) as client:
        served = client.get(f"/commerce/notification/v1/public_key/{ebay.public_key_id}")
        other = client.get(f"/commerce/notification/v1/public_key/{uuid.uuid4()}")
    assert served.status_code == 200
    key = served.json()
    assert (key["algorithm"], key["digest"]) == ("ECDSA", "SHA1")
    assert key["key"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert key["key"].endswith("\n-----END PUBLIC KEY-----")
    assert (other.status_code, other.json()["errors"][0]["errorId"]) == (404, 195001)

    order_id = ebay.buy("MUG", 2)["orderId"]
    assert ebay.wait_for_notifications(timeout=10)
    (delivery,) = receiver.deliveries()
    header = delivery.headers["x-ebay-signature"]
    document = signature_document(header)
    assert {name: document[name] for name in ("alg", "kid", "digest")} == {
        "alg": "ECDSA",
        "kid": ebay.public_key_id,
        "digest": "SHA1",
    }
    assert signature_verifies(header, delivery.body, key["key"])
    assert not signature_verifies(header, delivery.body + b" ", key["key"])
    body = delivery.json()
    assert body["metadata"] == {
        "topic": "ORDER_CONFIRMATION",
        "schemaVersion": "1.0",
        "deprecated": False,
    }
    notification = body["notification"]
    assert notification["data"] == {"orderId": order_id}
    assert notification["publishAttemptCount"] == 1
    assert notification["eventDate"] == notification["publishDate"] == "2026-07-01T08:30:00.000Z"
    uuid.UUID(notification["notificationId"])
    (record,) = ebay.notifications()
    assert (record["notification_id"], record["status_code"]) == (
        notification["notificationId"],
        204,
    )


def test_shipping_through_the_api_sends_item_marked_shipped(ebay, receiver):
    order = ebay.buy("MUG")
    line = order["lineItems"][0]["lineItemId"]
    with api(ebay) as client:
        created = client.post(
            f"{FULFILLMENT}/order/{order['orderId']}/shipping_fulfillment",
            json={"lineItems": [{"lineItemId": line, "quantity": 1}]},
        )
    assert created.status_code == 201
    bodies = delivered(ebay, receiver)
    assert [body["metadata"]["topic"] for body in bodies] == [
        "ORDER_CONFIRMATION",
        "ITEM_MARKED_SHIPPED",
    ]
    assert bodies[1]["notification"]["data"] == {"orderId": order["orderId"]}
    assert [record["status_code"] for record in ebay.notifications()] == [204, 204]


def test_a_tampered_delivery_fails_verification_and_its_412_is_recorded(ebay, receiver):
    ebay.tamper_next()
    ebay.buy("MUG")
    ebay.buy("MUG")
    assert ebay.wait_for_notifications(timeout=10)
    deliveries = receiver.deliveries()
    assert not signature_verifies(
        deliveries[0].headers["x-ebay-signature"], deliveries[0].body, ebay.public_key_pem()
    )
    assert signature_verifies(
        deliveries[1].headers["x-ebay-signature"], deliveries[1].body, ebay.public_key_pem()
    )
    records = ebay.notifications()
    assert [record["status_code"] for record in records] == [412, 204]
    assert records[0]["attempts"][0]["tampered"] is True


def test_a_redelivery_keeps_the_id_and_counts_the_attempt(ebay, receiver):
    ebay.buy("MUG")
    (first,) = delivered(ebay, receiver)
    notification_id = first["notification"]["notificationId"]
    clock_of(ebay).set(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    ebay.redeliver(notification_id)
    again = delivered(ebay, receiver)[1]["notification"]
    assert again["notificationId"] == notification_id
    assert again["publishAttemptCount"] == 2
    assert (again["eventDate"], again["publishDate"]) == (
        "2026-07-01T08:30:00.000Z",
        "2026-07-01T09:00:00.000Z",
    )
    assert signature_verifies(
        receiver.deliveries()[1].headers["x-ebay-signature"],
        receiver.deliveries()[1].body,
        ebay.public_key_pem(),
    )
    (record,) = ebay.notifications()
    assert [attempt["publish_attempt_count"] for attempt in record["attempts"]] == [1, 2]
    with pytest.raises(EbaySimulatorError):
        ebay.redeliver(str(uuid.uuid4()))


def test_an_account_deletion_is_announced(ebay, receiver):
    notification_id = ebay.delete_account("gone_buyer")
    (body,) = delivered(ebay, receiver)
    assert body["metadata"]["topic"] == "MARKETPLACE_ACCOUNT_DELETION"
    assert body["notification"]["notificationId"] == notification_id
    data = body["notification"]["data"]
    assert data["username"] == "gone_buyer"
    assert data["userId"]
    assert data["eiasToken"]
    assert ebay.delete_account("gone_buyer") != notification_id
    assert delivered(ebay, receiver)[1]["notification"]["data"] == data  # stable ids


def test_without_a_url_nothing_is_delivered_but_everything_is_recorded(ebay, receiver):
    ebay.send_notifications_to(None)
    ebay.buy("MUG")
    assert ebay.wait_for_notifications()
    assert receiver.deliveries() == []
    (record,) = ebay.notifications()
    assert (record["topic"], record["attempts"], record["status_code"]) == (
        "ORDER_CONFIRMATION",
        [],
        None,
    )
    with pytest.raises(EbaySimulatorError, match="URL"):
        ebay.redeliver(record["notification_id"])


def test_an_unreachable_receiver_is_recorded_as_an_error(ebay):
    ebay.send_notifications_to(f"http://127.0.0.1:{closed_port()}/ebay")
    ebay.buy("MUG")
    assert ebay.wait_for_notifications(timeout=10)
    (attempt,) = ebay.notifications()[0]["attempts"]
    assert attempt["status_code"] is None
    assert "ConnectError" in attempt["error"]


def test_the_endpoint_challenge(ebay, receiver):
    code = "a8628072-3d33-45ee-9004-bee86830a22d"
    expected = hashlib.sha256((code + TOKEN + receiver.url).encode()).hexdigest()
    assert challenge_response(code, TOKEN, receiver.url) == expected
    answer = httpx.get(receiver.url, params={"challenge_code": code}).json()
    assert answer == {"challengeResponse": expected}
    assert ebay.challenge(receiver.url, TOKEN, receiver.url)
    assert not ebay.challenge(receiver.url, TOKEN + "x", receiver.url)
    assert not ebay.challenge(receiver.url, TOKEN, receiver.url + "/elsewhere")
    assert not ebay.challenge(f"http://127.0.0.1:{closed_port()}/ebay", TOKEN, receiver.url)
