"""eBay's signed notifications, as the simulator sends them, and the endpoint challenge.

The simulator has its own EC P-256 key pair, made when it starts; getPublicKey
(``/commerce/notification/v1/public_key/{kid}``) serves the public half. Each
notification is POSTed as JSON to the configured URL::

    {"metadata": {"topic", "schemaVersion": "1.0", "deprecated": false},
     "notification": {"notificationId", "eventDate", "publishDate",
                      "publishAttemptCount", "data"}}

with ``X-EBAY-SIGNATURE``: base64 of the JSON ``{"alg": "ECDSA", "kid", "signature",
"digest": "SHA1"}``, ``signature`` being base64 of the DER ECDSA signature (SHA-1) of
the exact body bytes. Deliveries go out from one background thread, one at a time, in
order, with a short timeout and no automatic retry
(:class:`sandbox.delivery.DeliveryQueue`); each attempt's HTTP status is kept
(a receiver answers 204, or 412 when the signature does not verify).
:meth:`NotificationSender.redeliver` sends a notification again (same id,
``publishAttemptCount`` one more) and :meth:`NotificationSender.tamper_next` signs the
next delivery over other bytes, so its signature fails.

:func:`challenge` plays eBay checking a notification endpoint: ``GET
URL?challenge_code=C`` must answer ``{"challengeResponse": hex(SHA-256(C +
verificationToken + endpointURL))}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from omnisync.sandbox.clock import Clock
from omnisync.sandbox.delivery import DeliveryQueue, post_attempt
from omnisync.sandbox.ebay.model import JSON, EbaySimulatorError, ebay_time

SIGNATURE_HEADER: Final = "X-EBAY-SIGNATURE"
SCHEMA_VERSION: Final = "1.0"
DELIVERY_TIMEOUT_S: Final = 2.0
CHALLENGE_TIMEOUT_S: Final = 5.0
MARKETPLACE_ACCOUNT_DELETION: Final = "MARKETPLACE_ACCOUNT_DELETION"


class SigningKey:
    """The simulator's notification key pair and its key id."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        self.key_id = str(uuid.uuid4())

    def public_pem(self) -> str:
        return (
            self._private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
            .strip()
        )

    def signature_header(self, body: bytes) -> str:
        """``X-EBAY-SIGNATURE`` for ``body``."""
        signature = self._private.sign(body, ec.ECDSA(hashes.SHA1()))  # noqa: S303 (eBay's digest)
        document = {
            "alg": "ECDSA",
            "kid": self.key_id,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        return base64.b64encode(json.dumps(document).encode()).decode()


@dataclass
class Notification:
    notification_id: str
    topic: str
    data: JSON
    event_date: datetime
    published: int = 0
    """Delivery attempts so far (the next one's publishAttemptCount is this plus one)."""
    attempts: list[JSON] = field(default_factory=list)

    def record(self) -> JSON:
        return {
            "notification_id": self.notification_id,
            "topic": self.topic,
            "data": dict(self.data),
            "event_date": ebay_time(self.event_date),
            "attempts": [dict(attempt) for attempt in self.attempts],
            "status_code": self.attempts[-1]["status_code"] if self.attempts else None,
        }


@dataclass(frozen=True)
class _Queued:
    notification: Notification
    url: str
    tampered: bool


class NotificationSender(DeliveryQueue[_Queued]):
    """Records every notification; delivers each to ``url`` (when set) from one thread."""

    def __init__(
        self,
        key: SigningKey,
        clock: Clock,
        url: str | None = None,
        *,
        timeout_s: float = DELIVERY_TIMEOUT_S,
    ) -> None:
        super().__init__(thread_name="ebay-notifications", timeout_s=timeout_s)
        self.key = key
        self.clock = clock
        self.url = url
        self._notifications: dict[str, Notification] = {}
        self._tamper = False

    def publish(self, topic: str, data: JSON) -> str:
        """A new notification (delivered when a URL is set); its notificationId."""
        notification = Notification(str(uuid.uuid4()), topic, dict(data), self.clock.now())
        with self._lock:
            self._notifications[notification.notification_id] = notification
        self._deliver(notification)
        return notification.notification_id

    def redeliver(self, notification_id: str) -> None:
        """Send a notification again: same id, ``publishAttemptCount`` one more."""
        with self._lock:
            notification = self._notifications.get(notification_id)
        if notification is None:
            raise EbaySimulatorError(f"no notification {notification_id!r}")
        if self.url is None:
            raise EbaySimulatorError("no notification URL is set")
        self._deliver(notification)

    def tamper_next(self) -> None:
        """The next delivery carries a signature that does not match its body."""
        with self._lock:
            self._tamper = True

    def notifications(self) -> list[JSON]:
        """Every notification, oldest first: topic, data, attempts and their statuses."""
        with self._lock:
            return [notification.record() for notification in self._notifications.values()]

    def clear(self) -> None:
        with self._lock:
            self._notifications.clear()
            self._tamper = False

    def _deliver(self, notification: Notification) -> None:
        url = self.url
        if url is None:
            return
        with self._lock:
            tampered, self._tamper = self._tamper, False
        self._enqueue(_Queued(notification, url, tampered))

    def _send(self, client: httpx.Client, queued: _Queued) -> None:
        notification = queued.notification
        with self._lock:
            notification.published += 1
            count = notification.published
        body = json.dumps(
            {
                "metadata": {
                    "topic": notification.topic,
                    "schemaVersion": SCHEMA_VERSION,
                    "deprecated": False,
                },
                "notification": {
                    "notificationId": notification.notification_id,
                    "eventDate": ebay_time(notification.event_date),
                    "publishDate": ebay_time(self.clock.now()),
                    "publishAttemptCount": count,
                    "data": notification.data,
                },
            },
            separators=(",", ":"),
        ).encode()
        signed = body + b" tampered" if queued.tampered else body
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: self.key.signature_header(signed),
        }
        attempt: JSON = {
            "url": queued.url,
            "publish_attempt_count": count,
            "tampered": queued.tampered,
            **post_attempt(client, queued.url, body, headers),
        }
        with self._lock:
            notification.attempts.append(attempt)


def account_deletion_data(username: str) -> JSON:
    """MARKETPLACE_ACCOUNT_DELETION's data: the user's name and made-up stable ids."""
    digest = hashlib.sha256(username.encode()).digest()
    return {
        "username": username,
        "userId": base64.urlsafe_b64encode(digest[:8]).decode().rstrip("="),
        "eiasToken": base64.b64encode(digest).decode(),
    }


def challenge_response(challenge_code: str, verification_token: str, endpoint_url: str) -> str:
    """What an endpoint must answer eBay's challenge with: hex SHA-256 of the three."""
    material = (challenge_code + verification_token + endpoint_url).encode()
    return hashlib.sha256(material).hexdigest()


def challenge(url: str, verification_token: str, endpoint_url: str) -> bool:
    """Play eBay checking an endpoint: True when ``url`` answers the challenge right."""
    code = secrets.token_hex(32)
    try:
        answer = httpx.get(url, params={"challenge_code": code}, timeout=CHALLENGE_TIMEOUT_S)
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return False
    if answer.status_code != 200 or not isinstance(body, dict):
        return False
    given = body.get("challengeResponse")
    expected = challenge_response(code, verification_token, endpoint_url)
    return isinstance(given, str) and hmac.compare_digest(given, expected)
