"""ORDER_CHANGE notifications: the seller's SQS queue, long-polled with boto3.

Amazon sends an ORDER_CHANGE notification to the application's destination (an SQS
queue) whenever an order of the seller changes. The message names the order and when
it changed; it is not the order: the connector reads the order with getOrder. The
queue is the seller's, so a seller's marketplaces that are channels of the hub share
it; each message's `audience` (seller id / marketplace id) says which channel it is for.

A message that is not an ORDER_CHANGE notification Amazon's schema describes (not JSON,
another type, no order id) becomes an OrderEvent with `error` set: the hub quarantines
its body and acknowledges it. Only the fields the hub relies on are checked; the
schema's other fields may come or go.

Credentials: `access_key_id` and `secret_access_key` from the channel file when given,
else boto3's standard chain (environment, shared files, instance role). boto3's own
retries are on ("standard" mode); failures reach the hub as connector errors, with no
secret in their words.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from omnisync.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
    redacted,
)
from omnisync.core.dto import OrderEvent

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ORDER_CHANGE: Final = "ORDER_CHANGE"
MAX_MESSAGES: Final = 10
"""SQS hands out at most ten messages a receive, and deletes ten a batch."""
LONGEST_WAIT: Final = 20
"""SQS's longest long poll, in seconds."""
AUTH_CODES: Final = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "InvalidAccessKeyId",
    }
)
THROTTLE_CODES: Final = frozenset(
    {"Throttling", "ThrottlingException", "RequestThrottled", "OverLimit"}
)
MISSING_QUEUE_CODES: Final = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
)


class NotificationSettings(BaseModel):
    """`notifications:` of an Amazon channel file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue_url: AnyHttpUrl
    """The SQS queue the ORDER_CHANGE subscription delivers to."""
    region: str = Field(min_length=1)
    """The queue's AWS region (us-east-1, eu-west-1, ...)."""
    endpoint: AnyHttpUrl | None = None
    """An SQS endpoint other than AWS's regional one (a VPC endpoint, the demo's moto)."""
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    wait_seconds: int = Field(default=LONGEST_WAIT, ge=1, le=LONGEST_WAIT)
    """How long one receive waits for a message (SQS long polling)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a request may take beyond the long poll's wait."""
    late_after_seconds: float = Field(default=60.0, ge=0)
    """How late a notification may be: an order change older than this that polling
    takes in, and no notification brought, counts toward `order_events_missing`."""

    @model_validator(mode="after")
    def _both_keys_or_none(self) -> NotificationSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "access_key_id and secret_access_key go together (or leave both out to use "
                "the standard AWS credential chain)"
            )
        return self

    def secrets(self) -> list[str]:
        given = (self.access_key_id, self.secret_access_key)
        return [secret.get_secret_value() for secret in given if secret is not None]


class _Trigger(BaseModel):
    TimeOfOrderChange: AwareDatetime | None = None


class _Summary(BaseModel):
    MarketplaceId: str | None = None


class _OrderChange(BaseModel):
    SellerId: str = Field(min_length=1)
    AmazonOrderId: str = Field(min_length=1)
    OrderChangeTrigger: _Trigger | None = None
    Summary: _Summary | None = None


class _Payload(BaseModel):
    OrderChangeNotification: _OrderChange


class _Notification(BaseModel):
    """The fields of Amazon's OrderChangeNotification schema the hub relies on (the
    schema's required top-level fields, and the order's id and seller)."""

    NotificationVersion: str
    NotificationType: str
    PayloadVersion: str
    EventTime: AwareDatetime
    Payload: _Payload
    NotificationMetadata: dict[str, Any]


class OrderChange(BaseModel):
    """What an ORDER_CHANGE notification says: this order changed at that time."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    seller_id: str
    marketplace_id: str | None
    changed_at: datetime


def order_change(body: str) -> OrderChange:
    """Read one message body; ValueError with the reason when it is not an
    ORDER_CHANGE notification."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the message is not JSON") from None
    try:
        notification = _Notification.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the message"
        raise ValueError(f"not an ORDER_CHANGE notification: {where}: {first['msg']}") from None
    if notification.NotificationType != ORDER_CHANGE:
        raise ValueError(f"a {notification.NotificationType} notification, not {ORDER_CHANGE}")
    change = notification.Payload.OrderChangeNotification
    trigger = change.OrderChangeTrigger
    return OrderChange(
        order_id=change.AmazonOrderId,
        seller_id=change.SellerId,
        marketplace_id=change.Summary.MarketplaceId if change.Summary else None,
        changed_at=(trigger.TimeOfOrderChange if trigger else None) or notification.EventTime,
    )


def audience(seller_id: str, marketplace_id: str | None) -> str:
    return f"{seller_id}/{marketplace_id or '*'}"


def order_event(message: dict[str, Any]) -> OrderEvent:
    """An SQS message as an OrderEvent (with `error` when its body is not readable)."""
    body = str(message.get("Body") or "")
    sent = _sent_at(message.get("Attributes") or {})
    common = {
        "receipt": str(message["ReceiptHandle"]),
        "message_id": str(message.get("MessageId") or ""),
        "raw": body,
        "sent_at": sent,
    }
    try:
        change = order_change(body)
    except ValueError as error:
        return OrderEvent(**common, error=str(error))
    return OrderEvent(
        **common,
        external_id=change.order_id,
        changed_at=change.changed_at,
        audience=audience(change.seller_id, change.marketplace_id),
    )


def _sent_at(attributes: dict[str, Any]) -> datetime | None:
    try:
        millis = int(attributes["SentTimestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


class SqsQueue:
    """One SQS queue, through boto3."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self.url = str(settings.queue_url)
        self._secrets = settings.secrets()
        key_id, secret = settings.access_key_id, settings.secret_access_key
        config = Config(
            connect_timeout=min(5.0, settings.timeout_seconds),
            read_timeout=settings.wait_seconds + settings.timeout_seconds,
            retries={"mode": "standard", "max_attempts": 3},
        )
        self._client: SQSClient = boto3.session.Session().client(
            "sqs",
            region_name=settings.region,
            endpoint_url=str(settings.endpoint).rstrip("/") if settings.endpoint else None,
            config=config,
            aws_access_key_id=None if key_id is None else key_id.get_secret_value(),
            aws_secret_access_key=None if secret is None else secret.get_secret_value(),
        )

    def receive(self, wait_seconds: float) -> list[dict[str, Any]]:
        wait = max(0, min(round(wait_seconds), LONGEST_WAIT))
        answer = self._call(
            "ReceiveMessage",
            lambda: self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            ),
        )
        return [dict(message) for message in answer.get("Messages", [])]

    def arn(self) -> str:
        """The queue's ARN, read from SQS: proves the queue is there and readable."""
        answer = self._call(
            "GetQueueAttributes",
            lambda: self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"]
            ),
        )
        return str(answer.get("Attributes", {}).get("QueueArn", ""))

    def delete(self, receipts: Sequence[str]) -> None:
        """Delete the messages; raises TransientError naming how many stayed."""
        for start in range(0, len(receipts), MAX_MESSAGES):
            chunk = receipts[start : start + MAX_MESSAGES]
            answer = self._call(
                "DeleteMessageBatch",
                lambda chunk=chunk: self._client.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": receipt}
                        for index, receipt in enumerate(chunk)
                    ],
                ),
            )
            failed = answer.get("Failed") or []
            if failed:
                said = "; ".join(f"{item.get('Code')}: {item.get('Message')}" for item in failed)
                raise TransientError(f"DeleteMessageBatch: {len(failed)} not deleted ({said})")

    def close(self) -> None:
        self._client.close()

    def _call(self, operation: str, request: Any) -> Any:
        try:
            return request()
        except ClientError as error:
            raise self._scrubbed(client_error(operation, error)) from None
        except BotoCoreError as error:
            raise self._scrubbed(
                TransientError(f"SQS {operation}: {type(error).__name__}: {error}")
            ) from None

    def _scrubbed(self, error: ConnectorError) -> ConnectorError:
        return redacted(error, self._secrets)


def client_error(operation: str, error: ClientError) -> ConnectorError:
    """An SQS error answer as a connector error."""
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "")
    said = f"SQS {operation}: {code}: {details.get('Message') or 'no message'}"
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in AUTH_CODES or status in (401, 403):
        return AuthError(said)
    if code in THROTTLE_CODES or status == 429:
        return RateLimited(said, 1.0)
    if code in MISSING_QUEUE_CODES:
        return PermanentError(f"{said} (is queue_url right, and the queue still there?)")
    if status >= 500 or status == 0:
        return TransientError(said)
    return PermanentError(said)
