"""The Notifications API v1 as the simulator keeps it: destinations and subscriptions.

Enough of the model (``notifications.json``) for an application to have ORDER_CHANGE
sent to its SQS queue, with Amazon's rules:

- a destination is an SQS queue, named by an ARN that matches the model's pattern
  (``arn:aws:sqs:REGION:ACCOUNT:NAME``); one destination per ARN (a second one is 409
  Conflict, "A destination with arn ... already exists"); EventBridge destinations are
  refused (400), the simulator has none;
- a subscription is per notification type: ``payloadVersion`` "1.0" to an existing
  destination, a second one for the same type is 409 Conflict; deleting it stops the
  notifications; its ``processingDirective.eventFilter`` (``marketplaceIds``,
  ``orderChangeTypes``) chooses which ORDER_CHANGE notifications it gets;
- a destination that a subscription still uses cannot be deleted (403, "Destination
  has subscriptions", as Amazon answers).

Which token each operation takes (grantless or the seller's) is the simulator's
business (:mod:`sandbox.amazon.notifier`); this module holds the state and raises
:class:`~sandbox.amazon.http.SpApiError` for a request the rules refuse.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from omnisync.sandbox.amazon.http import JSON, SpApiError, invalid_input, not_found
from omnisync.sandbox.reference import amazon_model

ORDER_CHANGE: Final = "ORDER_CHANGE"
PAYLOAD_VERSION: Final = "1.0"
NOTIFICATIONS_SCOPE: Final = "sellingpartnerapi::notifications"
"""The scope of the grantless token the destination operations want."""
CONFLICT: Final = "Conflict"
CONFLICT_MESSAGE: Final = "The requested resource conflict with a resource in the server."
_TYPE_NAME: Final = re.compile(r"^[A-Z][A-Z0-9_]*$")


@cache
def arn_pattern() -> re.Pattern[str]:
    """The model's pattern for an SQS destination's ARN."""
    model = amazon_model("notifications.json")
    return re.compile(model["definitions"]["SqsResource"]["properties"]["arn"]["pattern"])


@dataclass(frozen=True)
class QueueArn:
    """An SQS queue's ARN, in its parts."""

    arn: str
    region: str
    account: str
    name: str

    @classmethod
    def parse(cls, arn: str) -> QueueArn:
        """Raises ValueError for a text that is not ``arn:aws:sqs:REGION:ACCOUNT:NAME``."""
        parts = arn.split(":", 5)
        if not arn_pattern().match(arn) or len(parts) != 6 or not all(parts[3:]):
            raise ValueError(f"not an SQS queue ARN: {arn!r}")
        return cls(arn, region=parts[3], account=parts[4], name=parts[5])


@dataclass
class Destination:
    destination_id: str
    name: str
    queue: QueueArn

    def to_json(self) -> JSON:
        return {
            "destinationId": self.destination_id,
            "name": self.name,
            "resource": {"sqs": {"arn": self.queue.arn}},
        }


@dataclass
class Subscription:
    subscription_id: str
    notification_type: str
    payload_version: str
    destination_id: str
    processing_directive: JSON | None = field(default=None)

    def accepts(self, marketplace_id: str, change_type: str) -> bool:
        """Whether the subscription's ``processingDirective.eventFilter`` lets through an
        ORDER_CHANGE of that marketplace and ``OrderChangeType`` (no filter: all)."""
        directive = self.processing_directive or {}
        event_filter = directive.get("eventFilter")
        if not isinstance(event_filter, dict):
            return True
        marketplaces = event_filter.get("marketplaceIds")
        change_types = event_filter.get("orderChangeTypes")
        return (not isinstance(marketplaces, list) or marketplace_id in marketplaces) and (
            not isinstance(change_types, list) or change_type in change_types
        )

    def to_json(self) -> JSON:
        body: JSON = {
            "subscriptionId": self.subscription_id,
            "payloadVersion": self.payload_version,
            "destinationId": self.destination_id,
        }
        if self.processing_directive is not None:
            body["processingDirective"] = self.processing_directive
        return body


class NotificationDesk:
    """The application's destinations and subscriptions (one subscription per type)."""

    def __init__(self, application_id: str) -> None:
        self.application_id = application_id
        self.destinations: dict[str, Destination] = {}
        self.subscriptions: dict[str, Subscription] = {}

    # destinations ----------------------------------------------------------------------

    def create_destination(self, body: Any) -> Destination:
        if not isinstance(body, dict):
            raise invalid_input("Request body is missing or is not a JSON object.")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise invalid_input("'name' is required: a string of 1 to 256 characters.")
        specification = body.get("resourceSpecification")
        if not isinstance(specification, dict):
            raise invalid_input("Missing required parameter 'resourceSpecification'.")
        if "eventBridge" in specification:
            raise invalid_input("EventBridge destinations are not available here: use SQS.")
        sqs = specification.get("sqs")
        arn = sqs.get("arn") if isinstance(sqs, dict) else None
        if not isinstance(arn, str) or len(arn) > 1000:
            raise invalid_input("Missing required parameter 'resourceSpecification.sqs.arn'.")
        try:
            queue = QueueArn.parse(arn)
        except ValueError:
            raise invalid_input(f"Invalid SQS ARN: {arn!r}.") from None
        if any(kept.queue.arn == arn for kept in self.destinations.values()):
            raise SpApiError(
                409,
                CONFLICT,
                CONFLICT_MESSAGE,
                f"A destination with arn {arn} already exists for the application "
                f"{self.application_id}",
            )
        destination = Destination(str(uuid.uuid4()), name, queue)
        self.destinations[destination.destination_id] = destination
        return destination

    def destination(self, destination_id: str) -> Destination:
        try:
            return self.destinations[destination_id]
        except KeyError:
            raise not_found(f"Destination {destination_id} was not found.") from None

    def delete_destination(self, destination_id: str) -> None:
        self.destination(destination_id)
        if any(s.destination_id == destination_id for s in self.subscriptions.values()):
            raise SpApiError(
                403,
                "Unauthorized",
                "The requested action is forbidden.",
                "Destination has subscriptions",
            )
        del self.destinations[destination_id]

    # subscriptions ---------------------------------------------------------------------

    def create_subscription(self, notification_type: str, body: Any) -> Subscription:
        _check_type(notification_type)
        if not isinstance(body, dict):
            raise invalid_input("Request body is missing or is not a JSON object.")
        version, destination_id = body.get("payloadVersion"), body.get("destinationId")
        if version != PAYLOAD_VERSION:
            raise invalid_input(
                f"Invalid payloadVersion {version!r}: {notification_type} has version "
                f"{PAYLOAD_VERSION}."
            )
        if not isinstance(destination_id, str) or destination_id not in self.destinations:
            raise invalid_input(f"Destination {destination_id!r} does not exist.")
        directive = body.get("processingDirective")
        if directive is not None and not isinstance(directive, dict):
            raise invalid_input("'processingDirective' must be an object.")
        kept = self.subscriptions.get(notification_type)
        if kept is not None:
            raise SpApiError(
                409,
                CONFLICT,
                "The resource specified conflicts with the current state.",
                f"A subscription {kept.subscription_id} for {notification_type} already exists.",
            )
        subscription = Subscription(
            str(uuid.uuid4()), notification_type, version, destination_id, directive
        )
        self.subscriptions[notification_type] = subscription
        return subscription

    def subscription(self, notification_type: str) -> Subscription:
        _check_type(notification_type)
        kept = self.subscriptions.get(notification_type)
        if kept is None:
            raise not_found(f"No subscription for {notification_type}.")
        return kept

    def subscription_by_id(self, notification_type: str, subscription_id: str) -> Subscription:
        kept = self.subscriptions.get(notification_type)
        if kept is None or kept.subscription_id != subscription_id:
            raise not_found(f"Subscription {subscription_id} was not found.")
        return kept

    def delete_subscription(self, notification_type: str, subscription_id: str) -> None:
        self.subscription_by_id(notification_type, subscription_id)
        del self.subscriptions[notification_type]

    def target(self, notification_type: str) -> tuple[Subscription, Destination] | None:
        """The subscription for ``notification_type`` and where it delivers, if any."""
        kept = self.subscriptions.get(notification_type)
        if kept is None:
            return None
        return kept, self.destinations[kept.destination_id]

    def to_json(self) -> JSON:
        return {
            "destinations": [d.to_json() for d in self.destinations.values()],
            "subscriptions": [
                {"notificationType": kind, **s.to_json()} for kind, s in self.subscriptions.items()
            ],
        }


def _check_type(notification_type: str) -> None:
    if not _TYPE_NAME.match(notification_type):
        raise invalid_input(f"Invalid notificationType {notification_type!r}.")
