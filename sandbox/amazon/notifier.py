"""The Amazon simulator's Notifications API and its ORDER_CHANGE notifications to SQS.

A mixin of :class:`sandbox.amazon.AmazonSimulator`:

- the SP-API operations of ``notifications.json`` over the application's destinations
  and subscriptions (:mod:`sandbox.amazon.notifications`), each taking the token Amazon
  wants (:data:`ACCESS`): the destinations a grantless token of scope
  ``sellingpartnerapi::notifications`` (the seller's token is refused, 403); creating
  and reading subscriptions the seller's; getting or deleting one by id either (Amazon
  calls those grantless, python-amazon-sp-api sends the seller's token);
- ORDER_CHANGE: once the application has an ORDER_CHANGE subscription and the
  simulator an ``sqs_endpoint`` (moto's base URL), every new order and every change
  (:class:`~sandbox.amazon.orders.OrderBook` tells each one) that the subscription's
  event filter lets through is published to its queue as one message
  (:mod:`sandbox.amazon.order_change`). The body is made under the lock, after the
  change; the message is sent by :class:`~sandbox.amazon.sqs_publisher.SqsPublisher`'s
  thread, outside it. Failures are logged and counted (``snapshot()["notifications"]``),
  never raised;
- controls for tests and the demo: :meth:`NotifierControls.subscribe_queue` (the
  destination and subscription without the API), :meth:`pause_notifications` /
  :meth:`resume_notifications` (a broken subscription: changes while paused are not
  sent, only counted as ``suppressed``), :meth:`publish_raw_notification` (any body,
  malformed included, to the subscribed queue), :meth:`wait_for_notifications`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from omnisync.sandbox.amazon.auth import SELLER
from omnisync.sandbox.amazon.http import JSON, AmazonSimulatorError, SpApiError, invalid_input
from omnisync.sandbox.amazon.notifications import (
    NOTIFICATIONS_SCOPE,
    ORDER_CHANGE,
    PAYLOAD_VERSION,
    NotificationDesk,
    QueueArn,
)
from omnisync.sandbox.amazon.order_change import order_change_notification
from omnisync.sandbox.amazon.orders import AmazonOrder, OrderChange
from omnisync.sandbox.amazon.sqs_publisher import Delivery, SqsPublisher
from omnisync.sandbox.clock import Clock

if TYPE_CHECKING:
    from omnisync.sandbox.amazon.operations import Answer

DEFAULT_APPLICATION_ID: Final = "amzn1.sp.solution.omnisync-simulator"
DEFAULT_DESTINATION_NAME: Final = "omnisync"
GRANTLESS: Final = frozenset({NOTIFICATIONS_SCOPE})
SELLER_ONLY: Final = frozenset({SELLER})
EITHER: Final = frozenset({SELLER, NOTIFICATIONS_SCOPE})
ACCESS: Final[Mapping[str, frozenset[str]]] = {
    "createDestination": GRANTLESS,
    "getDestinations": GRANTLESS,
    "getDestination": GRANTLESS,
    "deleteDestination": GRANTLESS,
    "createSubscription": SELLER_ONLY,
    "getSubscription": SELLER_ONLY,
    "getSubscriptions": SELLER_ONLY,
    "getSubscriptionById": EITHER,
    "deleteSubscriptionById": EITHER,
}
"""The kinds of token (:data:`~sandbox.amazon.auth.SELLER` or a grantless scope) each
Notifications operation takes."""
WAIT_S: Final = 10.0


class NotifierControls:
    """Destinations, subscriptions and ORDER_CHANGE publishing of one application."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        clock: Clock
        seller_id: str

    sqs_endpoint: str | None
    """moto's (or any SQS's) base URL; None: nothing is published."""
    application_id: str
    notification_desk: NotificationDesk
    publisher: SqsPublisher
    _notifications_paused: bool
    _suppressed: int

    def _new_notifications(self) -> None:
        """Forget destinations, subscriptions, the pause and the counts (under the lock).
        Messages already queued are sent first (within a bound), so none is counted
        after the reset."""
        self.publisher.wait_idle(WAIT_S)
        self.notification_desk = NotificationDesk(self.application_id)
        self._notifications_paused = False
        self._suppressed = 0
        self.publisher.reset_counts()

    # SP-API operations (under the lock) ------------------------------------------------

    def _create_destination(self, params: dict[str, Any]) -> Answer:
        return 200, {
            "payload": self.notification_desk.create_destination(params.get("body")).to_json()
        }

    def _get_destinations(self, params: dict[str, Any]) -> Answer:
        kept = self.notification_desk.destinations.values()
        return 200, {"payload": [destination.to_json() for destination in kept]}

    def _get_destination(self, params: dict[str, Any]) -> Answer:
        destination = self.notification_desk.destination(params["destinationId"])
        return 200, {"payload": destination.to_json()}

    def _delete_destination(self, params: dict[str, Any]) -> Answer:
        self.notification_desk.delete_destination(params["destinationId"])
        return 200, {}

    def _create_subscription(self, params: dict[str, Any]) -> Answer:
        subscription = self.notification_desk.create_subscription(
            params["notificationType"], params.get("body")
        )
        return 200, {"payload": subscription.to_json()}

    def _get_subscription(self, params: dict[str, Any]) -> Answer:
        subscription = self.notification_desk.subscription(params["notificationType"])
        return 200, {"payload": subscription.to_json()}

    def _get_subscriptions(self, params: dict[str, Any]) -> Answer:
        kinds = params.get("notificationTypes")
        if not isinstance(kinds, list) or len(kinds) != 1:
            raise invalid_input("'notificationTypes' must name exactly one notification type.")
        kept = self.notification_desk.subscriptions.get(kinds[0])
        listed = [] if kept is None else [kept.to_json()]
        return 200, {"payload": {"subscriptions": listed}}

    def _get_subscription_by_id(self, params: dict[str, Any]) -> Answer:
        subscription = self.notification_desk.subscription_by_id(
            params["notificationType"], params["subscriptionId"]
        )
        return 200, {"payload": subscription.to_json()}

    def _delete_subscription_by_id(self, params: dict[str, Any]) -> Answer:
        self.notification_desk.delete_subscription(
            params["notificationType"], params["subscriptionId"]
        )
        return 200, {}

    # ORDER_CHANGE ----------------------------------------------------------------------

    def _order_changed(self, order: AmazonOrder, change: OrderChange) -> None:
        """The order book's ``on_change`` (under the lock): queue the notification."""
        target = self.notification_desk.target(ORDER_CHANGE)
        if target is None or self.sqs_endpoint is None:
            return
        subscription, destination = target
        if not subscription.accepts(order.marketplace_id, change.change_type):
            return
        if self._notifications_paused:
            self._suppressed += 1
            return
        body = order_change_notification(
            order,
            change,
            seller_id=self.seller_id,
            application_id=self.application_id,
            subscription_id=subscription.subscription_id,
            now=self.clock.now(),
        )
        self.publisher.submit(self.sqs_endpoint, destination.queue, json.dumps(body))

    # controls --------------------------------------------------------------------------

    def subscribe_queue(self, arn: str, name: str = DEFAULT_DESTINATION_NAME) -> JSON:
        """Make the application's destination for the queue ``arn`` and its ORDER_CHANGE
        subscription, as createDestination and createSubscription would (the ones that
        exist already are kept). Returns ``{"destinationId", "subscriptionId"}``."""
        try:
            QueueArn.parse(arn)
        except ValueError as error:
            raise AmazonSimulatorError(str(error)) from None
        with self._lock:
            desk = self.notification_desk
            destination = next(
                (kept for kept in desk.destinations.values() if kept.queue.arn == arn), None
            )
            try:
                if destination is None:
                    destination = desk.create_destination(
                        {"name": name, "resourceSpecification": {"sqs": {"arn": arn}}}
                    )
                target = desk.target(ORDER_CHANGE)
                if target is None:
                    body = {
                        "payloadVersion": PAYLOAD_VERSION,
                        "destinationId": destination.destination_id,
                    }
                    subscription = desk.create_subscription(ORDER_CHANGE, body)
                elif target[1].destination_id == destination.destination_id:
                    subscription = target[0]
                else:
                    raise AmazonSimulatorError(
                        f"ORDER_CHANGE already goes to {target[1].queue.arn}: delete that "
                        "subscription first"
                    )
            except SpApiError as error:
                raise AmazonSimulatorError(error.message) from None
            return {
                "destinationId": destination.destination_id,
                "subscriptionId": subscription.subscription_id,
            }

    def set_sqs_endpoint(self, endpoint: str | None) -> None:
        """Where the subscribed queues are served (None: publish nothing)."""
        with self._lock:
            self.sqs_endpoint = endpoint

    def pause_notifications(self) -> None:
        """A broken subscription: changes from now on are not published (only counted)."""
        with self._lock:
            self._notifications_paused = True

    def resume_notifications(self) -> None:
        """Publish again (the changes made while paused stay unpublished)."""
        with self._lock:
            self._notifications_paused = False

    def publish_raw_notification(self, body: str) -> Delivery:
        """Send ``body`` as it is (malformed or not) to the ORDER_CHANGE subscription's
        queue, paused or not; :meth:`Delivery.done` is set once it is sent or failed."""
        with self._lock:
            target = self.notification_desk.target(ORDER_CHANGE)
            if target is None:
                raise AmazonSimulatorError("no ORDER_CHANGE subscription to publish to")
            if self.sqs_endpoint is None:
                raise AmazonSimulatorError("the simulator has no sqs_endpoint")
            return self.publisher.submit(self.sqs_endpoint, target[1].queue, body)

    def wait_for_notifications(self, timeout: float = WAIT_S) -> bool:
        """Wait until every notification queued so far is sent (or failed); False on
        timeout."""
        return self.publisher.wait_idle(timeout)

    def notifications_state(self) -> JSON:
        """Destinations, subscriptions, whether publishing is paused, and the counts:
        ``sent``, ``failed`` (``last_error``), ``pending``, ``suppressed``."""
        with self._lock:
            return {
                **self.notification_desk.to_json(),
                "sqs_endpoint": self.sqs_endpoint,
                "paused": self._notifications_paused,
                "suppressed": self._suppressed,
                **self.publisher.counts(),
            }
