"""Subscribing a seller's ORDER_CHANGE notifications to an SQS queue (Notifications v1).

Two steps, as Amazon prescribes: a destination for the queue (createDestination, a
grantless call made with the app's own token), then the seller's ORDER_CHANGE
subscription to it (createSubscription, with the seller's token). Both are looked up
first, so running it again changes nothing: a destination for the same ARN is reused,
and an existing subscription is reported (to the same destination, or to another one,
which the operator must delete first; Amazon keeps one per type and app).

The subscription is the seller's, for every marketplace (Amazon keeps one per type and
application): a seller's marketplaces that are channels share it, and the hub leaves
alone the orders of a marketplace no channel sells in (sync/order_events.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from omnisync.connectors.amazon.client import SpApi
from omnisync.connectors.base import PermanentError

ORDER_CHANGE: Final = "ORDER_CHANGE"
PAYLOAD_VERSION: Final = "1.0"
QUEUE_ARN: Final = re.compile(r"^arn:aws:sqs:(?P<region>[^:]+):(?P<account>\d+):(?P<name>[^:]+)$")


@dataclass(frozen=True)
class QueueArn:
    region: str
    account: str
    name: str

    @classmethod
    def parse(cls, arn: str) -> QueueArn:
        match = QUEUE_ARN.match(arn.strip())
        if match is None:
            raise ValueError(
                f"{arn!r} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:QUEUE_NAME)"
            )
        return cls(match["region"], match["account"], match["name"])

    def __str__(self) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{self.name}"

    @property
    def queue_url(self) -> str:
        """The queue's URL on AWS (what the channel file's `notifications.queue_url` takes)."""
        return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.name}"


@dataclass(frozen=True)
class Subscribed:
    destination_id: str
    destination_created: bool
    subscription_id: str
    subscription_created: bool
    other_destination: str | None = None
    """The destination an existing subscription delivers to, when it is not this one."""


def subscribe_order_changes(api: SpApi, queue: QueueArn) -> Subscribed:
    destination_id, created = _destination(api, queue)
    existing = _subscription(api)
    if existing is not None:
        other = existing.get("destinationId")
        return Subscribed(
            destination_id,
            created,
            str(existing.get("subscriptionId")),
            False,
            other_destination=None if other == destination_id else str(other),
        )
    answer = api.call(
        "createSubscription",
        lambda: api.notifications.create_subscription(
            ORDER_CHANGE, destination_id, payload_version=PAYLOAD_VERSION
        ),
    )
    subscription = _payload(answer)
    return Subscribed(destination_id, created, str(subscription.get("subscriptionId")), True)


def _destination(api: SpApi, queue: QueueArn) -> tuple[str, bool]:
    answer = api.call("getDestinations", lambda: api.notifications.get_destinations())
    for destination in _payload_list(answer):
        sqs = (destination.get("resource") or {}).get("sqs") or {}
        if sqs.get("arn") == str(queue):
            return str(destination["destinationId"]), False
    answer = api.call(
        "createDestination",
        lambda: api.notifications.create_destination(
            name=f"omnisync-{queue.name}"[:256], arn=str(queue)
        ),
    )
    return str(_payload(answer)["destinationId"]), True


def _subscription(api: SpApi) -> dict[str, Any] | None:
    try:
        answer = api.call(
            "getSubscription", lambda: api.notifications.get_subscription(ORDER_CHANGE)
        )
    except PermanentError as error:
        if "404" in str(error) or "NotFound" in str(error):
            return None
        raise
    payload = _payload(answer)
    return payload or None


def _payload(answer: Any) -> dict[str, Any]:
    payload = getattr(answer, "payload", None)
    if isinstance(payload, dict) and isinstance(payload.get("payload"), dict):
        payload = payload["payload"]
    return payload if isinstance(payload, dict) else {}


def _payload_list(answer: Any) -> list[dict[str, Any]]:
    payload = getattr(answer, "payload", None)
    if isinstance(payload, dict):
        payload = payload.get("payload")
    return [item for item in payload or [] if isinstance(item, dict)]
