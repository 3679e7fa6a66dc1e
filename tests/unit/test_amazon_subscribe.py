"""Subscribing a seller's ORDER_CHANGE notifications to an SQS queue through the
Notifications API, on mocked HTTP: the destination (a grantless call, made with the
app's own token) and the subscription (the seller's token, for every marketplace);
found again rather than made twice; a subscription to another destination
reported. And the queue ARN the operator gives."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from jsonschema import Draft4Validator

from omnisync.connectors.amazon.subscribe import QueueArn, Subscribed, subscribe_order_changes
from omnisync.connectors.base import PermanentError, TransientError
from omnisync.sandbox.reference import amazon_model
from tests.unit.test_amazon_connector import (
    APP_ID,
    CLIENT_SECRET,
    LWA,
    REFRESH_TOKEN,
    SP,
    RecordingCalls,
    make_connector,
)

SELLER_TOKEN = "Atza|unit-seller-token"
GRANTLESS_TOKEN = "Atza|unit-grantless-token"
GRANTLESS_SCOPE = "sellingpartnerapi::notifications"
DESTINATIONS = f"{SP}/notifications/v1/destinations"
SUBSCRIPTION = f"{SP}/notifications/v1/subscriptions/ORDER_CHANGE"
ARN = "arn:aws:sqs:us-east-1:123456789012:omnisync-orders"


def lwa(request: httpx.Request) -> httpx.Response:
    """Login with Amazon: the seller's token for the refresh grant, the app's own for the
    client_credentials grant of the notifications scope."""
    form = parse_qs(request.content.decode())
    grant = form["grant_type"]
    if grant == ["refresh_token"] and form["refresh_token"] == [REFRESH_TOKEN]:
        token = SELLER_TOKEN
    elif grant == ["client_credentials"] and form["scope"] == [GRANTLESS_SCOPE]:
        token = GRANTLESS_TOKEN
    else:
        return httpx.Response(400, json={"error": "unsupported_grant_type"})
    return httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": 3600}
    )


class Notifications:
    """Amazon's Notifications API as far as subscribing goes: the app's destinations and
    the seller's ORDER_CHANGE subscription, in memory, with the requests it was sent."""

    def __init__(self) -> None:
        self.destinations: list[dict[str, Any]] = []
        self.subscription: dict[str, Any] | None = None
        self.bodies: dict[str, list[dict[str, Any]]] = {"destination": [], "subscription": []}

    def destination_for(self, arn: str, destination_id: str) -> None:
        self.destinations.append(
            {
                "destinationId": destination_id,
                "name": "made-before",
                "resource": {"sqs": {"arn": arn}},
            }
        )

    def get_destinations(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"payload": self.destinations})

    def create_destination(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies["destination"].append(body)
        destination_id = f"dest-{len(self.destinations) + 1}"
        self.destination_for(body["resourceSpecification"]["sqs"]["arn"], destination_id)
        self.destinations[-1]["name"] = body["name"]
        return httpx.Response(200, json={"payload": self.destinations[-1]})

    def get_subscription(self, request: httpx.Request) -> httpx.Response:
        if self.subscription is None:
            return httpx.Response(
                404,
                json={
                    "errors": [
                        {"code": "NotFound", "message": "The resource specified does not exist."}
                    ]
                },
            )
        return httpx.Response(200, json={"payload": self.subscription})

    def create_subscription(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies["subscription"].append(body)
        self.subscription = {
            "subscriptionId": "sub-1",
            "payloadVersion": body["payloadVersion"],
            "destinationId": body["destinationId"],
            "processingDirective": body.get("processingDirective"),
        }
        return httpx.Response(200, json={"payload": self.subscription})


@pytest.fixture
def notifications() -> Notifications:
    return Notifications()


@pytest.fixture
def amazon(notifications: Notifications) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(LWA, name="lwa").mock(side_effect=lwa)
        router.get(DESTINATIONS, name="getDestinations").mock(
            side_effect=notifications.get_destinations
        )
        router.post(DESTINATIONS, name="createDestination").mock(
            side_effect=notifications.create_destination
        )
        router.get(SUBSCRIPTION, name="getSubscription").mock(
            side_effect=notifications.get_subscription
        )
        router.post(SUBSCRIPTION, name="createSubscription").mock(
            side_effect=notifications.create_subscription
        )
        yield router


def token_of(router: respx.MockRouter, operation: str) -> list[str]:
    """The access token each `operation` request carried."""
    return [call.request.headers["x-amz-access-token"] for call in router[operation].calls]


def model_errors(definition: str, payload: Any) -> list[str]:
    """Why `payload` is not a `definition` of Amazon's Notifications model."""
    model = amazon_model("notifications.json")
    validator = Draft4Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]}
    )
    return [error.message for error in validator.iter_errors(payload)]


def test_the_destination_and_the_subscription_are_made_with_the_right_tokens(
    amazon: respx.MockRouter, notifications: Notifications
) -> None:
    calls = RecordingCalls()
    connector = make_connector(calls)

    done = subscribe_order_changes(connector.api, QueueArn.parse(ARN))

    assert done == Subscribed("dest-1", True, "sub-1", True)
    assert calls.operations == [
        "getDestinations",
        "createDestination",
        "getSubscription",
        "createSubscription",
    ]
    # Destinations are the app's (grantless); the subscription is the seller's.
    assert token_of(amazon, "getDestinations") == [GRANTLESS_TOKEN]
    assert token_of(amazon, "createDestination") == [GRANTLESS_TOKEN]
    assert token_of(amazon, "getSubscription") == [SELLER_TOKEN]
    assert token_of(amazon, "createSubscription") == [SELLER_TOKEN]
    grants = [parse_qs(call.request.content.decode()) for call in amazon["lwa"].calls]
    assert sorted(form["grant_type"][0] for form in grants) == [
        "client_credentials",
        "refresh_token",
    ]
    (grantless,) = [form for form in grants if form["grant_type"] == ["client_credentials"]]
    assert grantless == {
        "grant_type": ["client_credentials"],
        "scope": [GRANTLESS_SCOPE],
        "client_id": [APP_ID],
        "client_secret": [CLIENT_SECRET],
    }

    (destination,) = notifications.bodies["destination"]
    assert model_errors("CreateDestinationRequest", destination) == []
    assert destination["resourceSpecification"] == {"sqs": {"arn": ARN}}
    assert destination["name"] == "omnisync-omnisync-orders"
    (subscription,) = notifications.bodies["subscription"]
    assert model_errors("CreateSubscriptionRequest", subscription) == []
    assert subscription["destinationId"] == "dest-1"
    assert subscription["payloadVersion"] == "1.0"
    # The seller's one ORDER_CHANGE subscription serves every marketplace: no filter.
    assert "processingDirective" not in subscription


def test_running_it_again_finds_both_and_makes_nothing(
    amazon: respx.MockRouter, notifications: Notifications
) -> None:
    first = subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))
    again = subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))

    assert first == Subscribed("dest-1", True, "sub-1", True)
    assert again == Subscribed("dest-1", False, "sub-1", False)
    assert amazon["createDestination"].call_count == 1
    assert amazon["createSubscription"].call_count == 1
    assert len(notifications.destinations) == 1


def test_a_destination_made_before_for_the_queue_is_used(
    amazon: respx.MockRouter, notifications: Notifications
) -> None:
    notifications.destination_for("arn:aws:sqs:us-east-1:123456789012:other-queue", "dest-other")
    notifications.destination_for(ARN, "dest-ours")

    done = subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))

    assert done == Subscribed("dest-ours", False, "sub-1", True)
    assert amazon["createDestination"].call_count == 0
    (subscription,) = notifications.bodies["subscription"]
    assert subscription["destinationId"] == "dest-ours"


def test_a_subscription_to_another_destination_is_reported_and_left_alone(
    amazon: respx.MockRouter, notifications: Notifications
) -> None:
    notifications.subscription = {
        "subscriptionId": "sub-old",
        "payloadVersion": "1.0",
        "destinationId": "dest-elsewhere",
    }

    done = subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))

    assert done == Subscribed("dest-1", True, "sub-old", False, other_destination="dest-elsewhere")
    assert amazon["createSubscription"].call_count == 0


def test_amazons_refusal_of_the_destination_keeps_its_words(amazon: respx.MockRouter) -> None:
    amazon["createDestination"].mock(
        return_value=httpx.Response(
            400,
            json={
                "errors": [{"code": "InvalidInput", "message": "Amazon cannot send to this queue"}]
            },
        )
    )

    with pytest.raises(PermanentError) as raised:
        subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))

    assert str(raised.value) == (
        "createDestination: InvalidInput: Amazon cannot send to this queue (HTTP 400)"
    )
    assert amazon["createSubscription"].call_count == 0


def test_a_failure_to_read_the_subscription_is_not_taken_for_none(
    amazon: respx.MockRouter,
) -> None:
    amazon["getSubscription"].mock(return_value=httpx.Response(503))

    with pytest.raises(TransientError, match="getSubscription: HTTP 503"):
        subscribe_order_changes(make_connector().api, QueueArn.parse(ARN))

    assert amazon["createSubscription"].call_count == 0


# the queue ARN ------------------------------------------------------------------------


def test_an_sqs_arn_is_read_into_its_parts_and_its_queue_url() -> None:
    queue = QueueArn.parse("  arn:aws:sqs:eu-west-1:210987654321:hub-orders\n")

    assert queue == QueueArn("eu-west-1", "210987654321", "hub-orders")
    assert str(queue) == "arn:aws:sqs:eu-west-1:210987654321:hub-orders"
    assert queue.queue_url == "https://sqs.eu-west-1.amazonaws.com/210987654321/hub-orders"


@pytest.mark.parametrize(
    "given",
    [
        "",
        "hub-orders",
        "https://sqs.eu-west-1.amazonaws.com/210987654321/hub-orders",
        "arn:aws:sns:eu-west-1:210987654321:hub-orders",
        "arn:aws:events:eu-west-1:210987654321:event-bus/default",
        "arn:aws:sqs:eu-west-1:account:hub-orders",
        "arn:aws:sqs:eu-west-1:210987654321",
        "arn:aws:sqs:eu-west-1:210987654321:hub:orders",
    ],
)
def test_anything_but_an_sqs_arn_is_refused_in_words(given: str) -> None:
    said = f"{given!r} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:QUEUE_NAME)"
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        QueueArn.parse(given)
