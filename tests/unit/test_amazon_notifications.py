"""ORDER_CHANGE notifications: reading a message (Amazon's own schema example, and the
ways a message can fail to be one), the channel file's `notifications:` settings, and
the seller's SQS queue through boto3 against moto's SQS server on loopback, from
`SqsQueue` up to the connector's receive_order_events / acknowledge_order_events.

moto's server runs in this process (a thread), once for the module; it keeps its
queues per process, so every test makes a queue of its own name."""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer
from pydantic import ValidationError

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.connectors.amazon.notifications import (
    NotificationSettings,
    SqsQueue,
    client_error,
    order_change,
    order_event,
)
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.core.dto import OrderEvent
from omnisync.sandbox.reference import amazon_schema
from tests.unit.test_amazon_connector import SELLER, US, settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REGION = "us-east-1"
KEY_ID = "test-key-id-not-a-credential"
SECRET_KEY = "unit/Secret+Access+Key/000000000000000001"
DEADLINE_S = 20.0
"""A bound on polling a queue until what is expected is there, not a speed expectation."""


def example() -> dict[str, Any]:
    """Amazon's own example of an ORDER_CHANGE notification (its schema's)."""
    given: dict[str, Any] = amazon_schema("OrderChangeNotification.json")["examples"][0]
    return copy.deepcopy(given)


def change_of(notice: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = notice["Payload"]["OrderChangeNotification"]
    return change


# order_change -------------------------------------------------------------------------


def test_amazons_example_is_read_as_the_change_of_its_order() -> None:
    change = order_change(json.dumps(example()))

    assert change.order_id == "903-8868176-2219830"
    assert change.seller_id == "A3TH9S8BH6GOGM"
    assert change.marketplace_id == "ATVPDKIKX0DER"
    # OrderChangeTrigger.TimeOfOrderChange, not the notification's EventTime
    assert change.changed_at == datetime(2022, 11, 29, 19, 42, 4, 284000, tzinfo=UTC)


@pytest.mark.parametrize("trigger", [None, {"ChangeReason": "Buyer Requested Cancel"}])
def test_without_a_time_of_change_the_event_time_is_when_it_changed(
    trigger: dict[str, Any] | None,
) -> None:
    notice = example()
    if trigger is None:
        del change_of(notice)["OrderChangeTrigger"]
    else:
        change_of(notice)["OrderChangeTrigger"] = trigger

    change = order_change(json.dumps(notice))

    assert change.changed_at == datetime(2020, 1, 11, 0, 9, 53, 109000, tzinfo=UTC)


def test_a_notification_without_a_summary_names_no_marketplace() -> None:
    notice = example()
    del change_of(notice)["Summary"]

    assert order_change(json.dumps(notice)).marketplace_id is None


def test_fields_the_hub_does_not_rely_on_may_come_and_go() -> None:
    notice = example()
    notice["SomethingNew"] = {"x": 1}
    change_of(notice)["Summary"] = {"MarketplaceId": "ATVPDKIKX0DER", "Brand": "new"}
    del change_of(notice)["OrderChangeType"]

    assert order_change(json.dumps(notice)).order_id == "903-8868176-2219830"


def refused(change: str) -> str:
    """A message body that is not an ORDER_CHANGE notification, as `change` names."""
    notice = example()
    if change == "not JSON":
        return '{"NotificationType": "ORDER_CHANGE", '
    if change == "a list":
        return json.dumps([notice])
    if change == "another type":
        notice["NotificationType"] = "ANY_OFFER_CHANGED"
    elif change == "no order id":
        del change_of(notice)["AmazonOrderId"]
    elif change == "an empty order id":
        change_of(notice)["AmazonOrderId"] = ""
    elif change == "no seller":
        del change_of(notice)["SellerId"]
    elif change == "bad event time":
        notice["EventTime"] = "last tuesday"
    elif change == "event time without offset":
        notice["EventTime"] = "2020-01-11T00:09:53"
    elif change == "no payload":
        del notice["Payload"]
    return json.dumps(notice)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("not JSON", "the message is not JSON"),
        ("a list", "not an ORDER_CHANGE notification: the message:"),
        ("another type", "a ANY_OFFER_CHANGED notification, not ORDER_CHANGE"),
        (
            "no order id",
            "not an ORDER_CHANGE notification: "
            "Payload.OrderChangeNotification.AmazonOrderId: Field required",
        ),
        ("an empty order id", "Payload.OrderChangeNotification.AmazonOrderId: String should"),
        ("no seller", "Payload.OrderChangeNotification.SellerId: Field required"),
        ("bad event time", "not an ORDER_CHANGE notification: EventTime:"),
        ("event time without offset", "not an ORDER_CHANGE notification: EventTime:"),
        ("no payload", "not an ORDER_CHANGE notification: Payload: Field required"),
    ],
)
def test_a_message_that_is_no_order_change_is_refused_in_clear_words(
    change: str, said: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        order_change(refused(change))


# order_event --------------------------------------------------------------------------


def sqs_message(body: str, **attributes: str) -> dict[str, Any]:
    """A message as boto3's receive_message gives it."""
    return {
        "MessageId": "5c5f3a1e-0000-4000-8000-000000000001",
        "ReceiptHandle": "receipt-0001",
        "MD5OfBody": "ignored",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", **attributes},
    }


def test_an_sqs_message_becomes_the_event_of_its_order() -> None:
    body = json.dumps(example())

    event = order_event(sqs_message(body, SentTimestamp="1700000000123"))

    assert event == OrderEvent(
        receipt="receipt-0001",
        message_id="5c5f3a1e-0000-4000-8000-000000000001",
        raw=body,
        external_id="903-8868176-2219830",
        changed_at=datetime(2022, 11, 29, 19, 42, 4, 284000, tzinfo=UTC),
        audience="A3TH9S8BH6GOGM/ATVPDKIKX0DER",
        sent_at=datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC),
        error=None,
    )


def test_a_notification_without_a_marketplace_is_for_any_of_the_sellers() -> None:
    notice = example()
    del change_of(notice)["Summary"]

    assert order_event(sqs_message(json.dumps(notice))).audience == "A3TH9S8BH6GOGM/*"


@pytest.mark.parametrize("sent", [None, "", "soon"])
def test_a_message_without_a_readable_sent_time_has_none(sent: str | None) -> None:
    message = sqs_message(json.dumps(example()))
    if sent is not None:
        message["Attributes"]["SentTimestamp"] = sent

    assert order_event(message).sent_at is None


def test_a_bad_body_becomes_an_event_with_its_error_and_its_body_kept() -> None:
    body = refused("another type")

    event = order_event(sqs_message(body, SentTimestamp="1700000000123"))

    assert event.error == "a ANY_OFFER_CHANGED notification, not ORDER_CHANGE"
    assert (event.external_id, event.audience, event.changed_at) == (None, None, None)
    assert event.raw == body
    assert event.receipt == "receipt-0001"
    assert event.sent_at is not None


def test_a_message_without_a_body_is_an_event_with_an_error() -> None:
    message = sqs_message("")
    del message["Body"]

    event = order_event(message)

    assert event.error == "the message is not JSON"
    assert event.raw == ""


# settings -----------------------------------------------------------------------------


def notification_settings(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        "region": REGION,
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    "keys",
    [{"access_key_id": KEY_ID}, {"secret_access_key": SECRET_KEY}],
    ids=["key id alone", "secret alone"],
)
def test_one_access_key_without_the_other_is_refused_naming_both(keys: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as raised:
        NotificationSettings.model_validate(notification_settings(**keys))

    # As the hub reports a channel file's errors (hub/settings.py): without the input.
    (error,) = raised.value.errors(include_input=False, include_url=False)
    assert "access_key_id and secret_access_key go together" in error["msg"]
    for secret in (KEY_ID, SECRET_KEY):
        assert secret not in str(error)


def test_both_keys_or_neither_are_taken_and_kept_hidden() -> None:
    chain = NotificationSettings.model_validate(notification_settings())
    assert chain.secrets() == []
    assert chain.wait_seconds == 20

    given = NotificationSettings.model_validate(
        notification_settings(access_key_id=KEY_ID, secret_access_key=SECRET_KEY)
    )
    assert given.secrets() == [KEY_ID, SECRET_KEY]
    for secret in (KEY_ID, SECRET_KEY):
        assert secret not in repr(given)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wait_seconds", 0),
        ("wait_seconds", 21),
        ("region", ""),
        ("queue_url", "orders"),
        ("extra", "no"),
    ],
)
def test_bad_notification_settings_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        NotificationSettings.model_validate(notification_settings(**{field: value}))

    assert [error["loc"] for error in raised.value.errors()] == [(field,)]


# client_error -------------------------------------------------------------------------


def sqs_refusal(code: str, status: int, message: str = "refused") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "HostId": "",
                "RequestId": "request-0001",
                "RetryAttempts": 0,
            },
        },
        "ReceiveMessage",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InvalidClientTokenId", 403, AuthError),
        ("SignatureDoesNotMatch", 403, AuthError),
        ("AccessDenied", 400, AuthError),
        ("SomethingNew", 401, AuthError),
        ("ThrottlingException", 400, RateLimited),
        ("RequestThrottled", 400, RateLimited),
        ("RequestThrottled", 403, AuthError),  # a refusal first: the key is wrong
        ("OverLimit", 400, RateLimited),
        ("SomethingNew", 429, RateLimited),
        ("AWS.SimpleQueueService.NonExistentQueue", 400, PermanentError),
        ("QueueDoesNotExist", 400, PermanentError),
        ("InternalError", 500, TransientError),
        ("ServiceUnavailable", 503, TransientError),
        ("InvalidParameterValue", 400, PermanentError),
    ],
)
def test_sqs_refusals_become_the_right_errors(
    code: str, status: int, expected: type[ConnectorError]
) -> None:
    error = client_error("ReceiveMessage", sqs_refusal(code, status))

    assert type(error) is expected
    assert str(error).startswith(f"SQS ReceiveMessage: {code}: refused")


# SqsQueue against moto ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    """moto's SQS served on loopback for this module's tests."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # it logs every request at INFO
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture(scope="module")
def sqs(sqs_endpoint: str) -> Iterator[SQSClient]:
    """A boto3 client of moto's SQS for setting queues up and looking into them."""
    client: SQSClient = boto3.session.Session().client(
        "sqs",
        region_name=REGION,
        endpoint_url=sqs_endpoint,
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )
    yield client
    client.close()


def fresh_queue(sqs: SQSClient, visibility_timeout: int = 30) -> str:
    """The URL of a new, empty queue no other test uses."""
    name = f"orders-{uuid.uuid4().hex[:12]}"
    answer = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": str(visibility_timeout)}
    )
    return answer["QueueUrl"]


def queue_fields(endpoint: str, url: str) -> dict[str, Any]:
    """A channel file's `notifications:` for the queue at `url` on moto's `endpoint`."""
    return {
        "queue_url": url,
        "region": REGION,
        "endpoint": endpoint,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET_KEY,
        "wait_seconds": 1,
    }


def queue_settings(endpoint: str, url: str, **more: Any) -> NotificationSettings:
    return NotificationSettings.model_validate({**queue_fields(endpoint, url), **more})


@pytest.fixture
def open_queue(sqs_endpoint: str, sqs: SQSClient) -> Iterator[SqsQueue]:
    """An SqsQueue on a fresh queue whose messages stay hidden for 30 s once received."""
    queue = SqsQueue(queue_settings(sqs_endpoint, fresh_queue(sqs)))
    yield queue
    queue.close()


def waiting(sqs: SQSClient, url: str) -> int:
    """How many messages the queue holds, visible or received and not deleted."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def receive_until(queue: SqsQueue, count: int) -> list[dict[str, Any]]:
    """Receive until `count` messages came (or the deadline passed)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(received) < count and time.monotonic() < deadline:
        received += queue.receive(1)
    return received


def test_a_waiting_receive_returns_a_message_sent_meanwhile(
    open_queue: SqsQueue, sqs: SQSClient
) -> None:
    received: list[list[dict[str, Any]]] = []
    receiver = threading.Thread(target=lambda: received.append(open_queue.receive(10)))
    receiver.start()
    sqs.send_message(QueueUrl=open_queue.url, MessageBody="an order changed")
    receiver.join(timeout=DEADLINE_S)

    assert not receiver.is_alive()
    ((message,),) = received
    assert message["Body"] == "an order changed"
    assert message["ReceiptHandle"]
    assert int(message["Attributes"]["SentTimestamp"]) > 0


def test_a_receive_on_an_empty_queue_comes_back_with_nothing(open_queue: SqsQueue) -> None:
    assert open_queue.receive(1) == []


def test_received_messages_come_with_their_bodies_and_delete_removes_them(
    open_queue: SqsQueue, sqs: SQSClient
) -> None:
    bodies = {f"message {number}" for number in range(12)}
    for body in bodies:
        sqs.send_message(QueueUrl=open_queue.url, MessageBody=body)

    received = receive_until(open_queue, len(bodies))
    open_queue.delete([message["ReceiptHandle"] for message in received])

    assert {message["Body"] for message in received} == bodies
    assert waiting(sqs, open_queue.url) == 0


@pytest.mark.slow
def test_a_received_message_not_deleted_comes_back_after_the_visibility_timeout(
    sqs_endpoint: str, sqs: SQSClient
) -> None:
    url = fresh_queue(sqs, visibility_timeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    sqs.send_message(QueueUrl=url, MessageBody="deleted")
    queue = SqsQueue(queue_settings(sqs_endpoint, url))
    try:
        first = {message["Body"]: message for message in receive_until(queue, 2)}
        queue.delete([first["deleted"]["ReceiptHandle"]])

        (again,) = receive_until(queue, 1)  # waits out the one second it stays hidden
        assert again["Body"] == "kept"
        assert again["MessageId"] == first["kept"]["MessageId"]
        assert again["Attributes"]["ApproximateReceiveCount"] == "2"
        queue.delete([again["ReceiptHandle"]])
    finally:
        queue.close()
    assert waiting(sqs, url) == 0


def test_a_missing_queue_is_a_permanent_error_that_says_what_to_check(
    sqs_endpoint: str,
) -> None:
    gone = f"{sqs_endpoint}/123456789012/no-such-queue-{uuid.uuid4().hex[:8]}"
    queue = SqsQueue(queue_settings(sqs_endpoint, gone))
    try:
        with pytest.raises(PermanentError) as receiving:
            queue.receive(1)
        with pytest.raises(PermanentError) as deleting:
            queue.delete(["receipt-0001"])
    finally:
        queue.close()

    for raised in (receiving, deleting):
        said = str(raised.value)
        assert "NonExistentQueue" in said or "QueueDoesNotExist" in said
        assert "is queue_url right" in said
        assert KEY_ID not in said
        assert SECRET_KEY not in said


def test_no_access_key_reaches_an_error_message(open_queue: SqsQueue) -> None:
    # SQS does not echo keys itself; a proxy or a future message might: the queue masks them.
    stub = Stubber(open_queue._client)
    stub.add_client_error(
        "receive_message",
        service_error_code="InvalidClientTokenId",
        service_message=f"The key {KEY_ID} with secret {SECRET_KEY} is not valid",
        http_status_code=403,
    )
    stub.add_client_error(
        "delete_message_batch",
        service_error_code="InternalError",
        service_message=f"signed with {SECRET_KEY}",
        http_status_code=500,
    )
    with stub:
        with pytest.raises(AuthError) as refused_key:
            open_queue.receive(1)
        with pytest.raises(TransientError) as failed:
            open_queue.delete(["receipt-0001"])

    for raised in (refused_key, failed):
        said = str(raised.value)
        assert "***" in said
        assert KEY_ID not in said
        assert SECRET_KEY not in said


def test_a_batch_of_receipts_is_deleted_ten_at_a_time(open_queue: SqsQueue, sqs: SQSClient) -> None:
    for number in range(23):
        sqs.send_message(QueueUrl=open_queue.url, MessageBody=f"message {number}")
    received = receive_until(open_queue, 23)

    open_queue.delete([message["ReceiptHandle"] for message in received])

    assert len(received) == 23
    assert waiting(sqs, open_queue.url) == 0


def test_receipts_sqs_refuses_are_a_transient_error_naming_how_many(
    open_queue: SqsQueue,
) -> None:
    with pytest.raises(TransientError, match=r"DeleteMessageBatch: 2 not deleted"):
        open_queue.delete(["not-a-receipt-1", "not-a-receipt-2"])


# the connector ------------------------------------------------------------------------


def amazon_with_queue(endpoint: str, url: str) -> AmazonConnector:
    notifications = queue_fields(endpoint, url)
    return AmazonConnector(AmazonSettings.model_validate(settings(notifications=notifications)))


def test_the_connector_receives_order_events_and_acknowledges_them(
    sqs_endpoint: str, sqs: SQSClient
) -> None:
    url = fresh_queue(sqs)
    notice = example()
    change_of(notice)["SellerId"] = SELLER
    readable, unreadable = json.dumps(notice), "<html>not a notification</html>"
    sqs.send_message(QueueUrl=url, MessageBody=readable)
    sqs.send_message(QueueUrl=url, MessageBody=unreadable)
    connector = amazon_with_queue(sqs_endpoint, url)
    try:
        assert connector.event_queue() == url
        assert connector.event_wait_seconds() == 1.0
        assert connector.event_audience() == f"{SELLER}/{US}"
        events: list[OrderEvent] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(events) < 2 and time.monotonic() < deadline:
            events += connector.receive_order_events(connector.event_wait_seconds())

        by_body = {event.raw: event for event in events}
        order = by_body[readable]
        assert order.external_id == "903-8868176-2219830"
        assert order.audience == connector.event_audience()
        assert order.error is None
        assert order.sent_at is not None
        assert by_body[unreadable].error == "the message is not JSON"

        connector.acknowledge_order_events([event.receipt for event in events])
        connector.acknowledge_order_events([])
    finally:
        connector.close()
    assert waiting(sqs, url) == 0


def test_a_connector_without_a_queue_has_no_order_events() -> None:
    connector = AmazonConnector(AmazonSettings.model_validate(settings()))
    try:
        assert connector.event_queue() is None
        with pytest.raises(PermanentError, match="names no notifications queue"):
            connector.receive_order_events(1)
        connector.acknowledge_order_events(["receipt-0001"])  # nothing to acknowledge on
    finally:
        connector.close()
