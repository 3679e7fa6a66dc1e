"""The shop's webhooks, and their deliveries, signed as WooCommerce signs them.

A webhook has a topic (``order.created``, ``order.updated``, ``order.deleted``,
``product.updated``, ...), a delivery URL and a secret. Creating one (through the API
or :meth:`WooCommerceSimulator.send_webhooks_to`) first POSTs WooCommerce's ping to the
URL: the form body ``webhook_id=<id>`` (``application/x-www-form-urlencoded``), no
signature. Each event then POSTs the resource's JSON, as the REST API shows it, with:

``X-WC-Webhook-Source`` (the site URL, with a trailing ``/``), ``-Topic``,
``-Resource``, ``-Event``, ``-Signature`` (base64 of HMAC-SHA256 of the exact body
bytes, keyed with the webhook's secret), ``-ID`` (the webhook's id), ``-Delivery-ID``
(new for each delivery), ``Content-Type: application/json`` and WooCommerce's
``User-Agent`` (``WooCommerce/<version> Hookshot (WordPress/<version>)``). The body is
encoded as PHP's ``json_encode`` encodes it (``\\/`` for ``/``, non-ASCII as
``\\uXXXX``), so a receiver must verify the raw bytes, not a re-encoding.

Deliveries go out from one background thread, in order, once each, with a short
timeout (:class:`sandbox.delivery.DeliveryQueue`); WooCommerce's own retries are not
modelled. What the simulator plays of WooCommerce's known misbehaviour:
:meth:`WebhookSender.redeliver_last` (the same payload again with new delivery ids, what
woocommerce/woocommerce#28329 "order.created webhook fires multiple times" reports) and
the simulator's ``duplicate_deliveries``; :meth:`WebhookSender.tamper_next` signs the
next event delivery over other bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import httpx

from omnisync.sandbox.delivery import DeliveryQueue, post_attempt
from omnisync.sandbox.woocommerce.model import JSON, IdSequence, SiteClock
from omnisync.sandbox.woocommerce.order_view import WOOCOMMERCE_VERSION
from omnisync.sandbox.woocommerce.product_view import API_PREFIX, links

WORDPRESS_VERSION: Final = "6.8.1"
USER_AGENT: Final = f"WooCommerce/{WOOCOMMERCE_VERSION} Hookshot (WordPress/{WORDPRESS_VERSION})"
DELIVERY_TIMEOUT_S: Final = 2.0
PING: Final = "ping"
"""The ``topic`` of a ping in :meth:`WebhookSender.deliveries` (not a WooCommerce topic)."""
TOPIC_HOOKS: Final[dict[str, list[str]]] = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}
SHOP_TOPICS: Final = ("order.created", "order.updated", "order.deleted", "product.updated")
"""The webhooks :meth:`WooCommerceSimulator.send_webhooks_to` creates."""
WEBHOOK_STATUSES: Final = frozenset({"active", "paused", "disabled"})


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str = field(repr=False)
    created: datetime
    modified: datetime
    status: str = "active"

    def to_json(self, site: SiteClock, base: str) -> JSON:
        resource, _, event = self.topic.partition(".")
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": list(TOPIC_HOOKS.get(self.topic, [])),
            "delivery_url": self.delivery_url,
            **site.pair("date_created", self.created),
            **site.pair("date_modified", self.modified),
            "_links": links(
                f"{base}{API_PREFIX}/webhooks/{self.id}", f"{base}{API_PREFIX}/webhooks"
            ),
        }


@dataclass
class Delivery:
    topic: str
    webhook_id: int
    delivery_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    tampered: bool = False
    attempt: JSON = field(default_factory=dict)

    def record(self) -> JSON:
        text = self.body.decode()
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = text  # a ping's form body
        return {
            "topic": self.topic,
            "webhook_id": self.webhook_id,
            "delivery_id": self.delivery_id,
            "url": self.url,
            "status_code": self.attempt.get("status_code"),
            "error": self.attempt.get("error"),
            "body": payload,
            "raw_body": text,
            "tampered": self.tampered,
        }


class WebhookSender(DeliveryQueue[Delivery]):
    """The shop's webhooks and every delivery made for them."""

    def __init__(self, source: str) -> None:
        super().__init__(thread_name="woocommerce-webhooks", timeout_s=DELIVERY_TIMEOUT_S)
        self.source = source
        """``X-WC-Webhook-Source``: the site URL with a trailing ``/``."""
        self.ids = IdSequence(1)
        self.webhooks: dict[int, Webhook] = {}
        self._deliveries: list[Delivery] = []
        self._last_event: list[Delivery] = []
        self._tamper = False

    # webhooks -----------------------------------------------------------------------

    def create(self, webhook: Webhook) -> Webhook:
        """Keep ``webhook`` and ping its URL (an active one), as WooCommerce does."""
        with self._lock:
            self.webhooks[webhook.id] = webhook
        if webhook.status == "active":
            body = f"webhook_id={webhook.id}".encode()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
            }
            self._queue_delivery(
                Delivery(PING, webhook.id, "", webhook.delivery_url, body, headers)
            )
        return webhook

    def remove_all(self) -> None:
        with self._lock:
            self.webhooks.clear()

    def listening(self, topic: str) -> list[Webhook]:
        with self._lock:
            return [
                hook
                for hook in self.webhooks.values()
                if hook.topic == topic and hook.status == "active"
            ]

    # events -------------------------------------------------------------------------

    def publish(self, topic: str, payload: JSON, extra_topics: tuple[str, ...] = ()) -> None:
        """Deliver ``payload`` to every active webhook of ``topic``; then once more for
        each of ``extra_topics`` (duplicates: the same body, new delivery ids)."""
        body = php_json(payload)
        primary = [self._event(hook, body) for hook in self.listening(topic)]
        for extra in extra_topics:
            for hook in self.listening(extra) or self.listening(topic):
                self._event(hook, body)
        if primary:
            with self._lock:
                self._last_event = primary

    def redeliver_last(self, times: int = 1) -> int:
        """The last event's deliveries again, ``times`` times (new delivery ids); how
        many deliveries that queued."""
        with self._lock:
            last = list(self._last_event)
        count = 0
        for _ in range(times):
            for delivery in last:
                hook = self.webhooks.get(delivery.webhook_id)
                if hook is not None:
                    self._event(hook, delivery.body)
                    count += 1
        return count

    def tamper_next(self) -> None:
        with self._lock:
            self._tamper = True

    def deliveries(self) -> list[JSON]:
        """Every delivery, pings included (topic ``ping``), oldest first."""
        with self._lock:
            return [delivery.record() for delivery in self._deliveries]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._last_event = []
            self._tamper = False

    def _event(self, hook: Webhook, body: bytes) -> Delivery:
        with self._lock:
            tampered, self._tamper = self._tamper, False
        resource, _, event = hook.topic.partition(".")
        delivery_id = secrets.token_hex(16)
        signed = body + b" tampered" if tampered else body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self.source,
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": sign(hook.secret, signed),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }
        delivery = Delivery(
            hook.topic, hook.id, delivery_id, hook.delivery_url, body, headers, tampered
        )
        self._queue_delivery(delivery)
        return delivery

    def _queue_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)
        self._enqueue(delivery)

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        attempt = post_attempt(client, delivery.url, delivery.body, delivery.headers)
        with self._lock:
            delivery.attempt = attempt


def sign(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 of HMAC-SHA256 of the body bytes."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def php_json(payload: Any) -> bytes:
    """JSON as PHP's ``json_encode`` writes it by default: compact, ``\\/``, ``\\uXXXX``."""
    return (
        json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    )
