"""eBay's notifications: the endpoint challenge, the signature every delivery carries, and
reading a delivery's envelope.

Challenge: before eBay sends anything to an endpoint it asks `GET ...?challenge_code=C`
and expects `{"challengeResponse": hex(SHA-256(C + verification token + endpoint URL))}`,
the URL exactly as it was registered with eBay.

Signature: the `X-EBAY-SIGNATURE` header is base64 of a JSON object naming the
algorithm (`alg`, ECDSA), the key (`kid`), the signature (`signature`, base64 of DER)
and the digest (`digest`, SHA1). The key is eBay's, read with getPublicKey (an
application token) as a PEM, which eBay sends with or without line breaks inside; eBay
asks for keys to be kept about an hour rather than fetched per delivery, so each is kept
an hour on the connector's clock. A delivery without the header, with one that does not
decode, naming a key eBay does not know, or whose signature does not verify over the raw
body is an InvalidSignature: answered 412, nothing kept.

Envelope: `{"metadata": {"topic", ...}, "notification": {"notificationId", "data",
...}}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from omnisync.connectors.base import InvalidSignature, MonotonicClock, PayloadError

SIGNATURE_HEADER = "X-EBAY-SIGNATURE"
KEY_LIFETIME = 3600.0
"""Seconds a public key is kept (eBay recommends about an hour)."""
ORDER_TOPICS = frozenset({"ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"})
"""Topics whose `data.orderId` names an order that changed."""
ACCOUNT_DELETION = "MARKETPLACE_ACCOUNT_DELETION"
"""A user asked eBay, and every app, to erase their personal data (`data.username`)."""
DIGESTS: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
}
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(?P<body>.*?)-----END PUBLIC KEY-----", re.S)


def challenge_response(challenge_code: str, verification_token: str, endpoint_url: str) -> str:
    """eBay's expected answer to its endpoint check."""
    joined = (challenge_code + verification_token + endpoint_url).encode()
    return hashlib.sha256(joined).hexdigest()


@dataclass(frozen=True)
class Signature:
    algorithm: str
    key_id: str
    signature: bytes
    digest: str


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def read_signature(headers: Mapping[str, str]) -> Signature:
    """The delivery's X-EBAY-SIGNATURE; InvalidSignature when it is missing or unreadable."""
    given = header(headers, SIGNATURE_HEADER)
    if not given:
        raise InvalidSignature(f"the delivery has no {SIGNATURE_HEADER} header")
    try:
        fields = json.loads(base64.b64decode(given.strip(), validate=True))
        signature = Signature(
            algorithm=str(fields["alg"]),
            key_id=str(fields["kid"]),
            signature=base64.b64decode(str(fields["signature"]), validate=True),
            digest=str(fields.get("digest") or "SHA1"),
        )
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header does not decode") from None
    if signature.algorithm.upper() != "ECDSA" or not signature.key_id:
        raise InvalidSignature(f"{SIGNATURE_HEADER} names no ECDSA key")
    return signature


@dataclass(frozen=True)
class PublicKey:
    key: ec.EllipticCurvePublicKey
    digest: str


def public_key_from(answer: Mapping[str, Any]) -> PublicKey:
    """getPublicKey's answer as a key; InvalidSignature when it is not an EC key."""
    match = _PEM.search(str(answer.get("key") or ""))
    try:
        if match is None:
            raise ValueError("no PEM public key")
        der = base64.b64decode("".join(match["body"].split()), validate=True)
        key = load_der_public_key(der)
    except (ValueError, binascii.Error, TypeError):
        raise InvalidSignature("eBay's public key does not decode") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidSignature("eBay's public key is not an elliptic-curve key")
    return PublicKey(key, str(answer.get("digest") or "SHA1"))


class PublicKeys:
    """eBay's public keys by id, each kept KEY_LIFETIME seconds (thread-safe).

    `fetch(kid)` is getPublicKey's answer, None when eBay does not know the key."""

    def __init__(
        self, fetch: Callable[[str], Mapping[str, Any] | None], clock: MonotonicClock
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, PublicKey]] = {}

    def get(self, key_id: str) -> PublicKey:
        with self._lock:
            kept = self._kept.get(key_id)
            if kept is not None and self._clock() < kept[0]:
                return kept[1]
            answer = self._fetch(key_id)
            if answer is None:
                self._kept.pop(key_id, None)
                raise InvalidSignature("the delivery is signed with a key eBay does not know")
            key = public_key_from(answer)
            self._kept[key_id] = (self._clock() + KEY_LIFETIME, key)
            return key


def verify(key: PublicKey, signature: Signature, body: bytes) -> None:
    """InvalidSignature unless `signature` is eBay's over exactly `body`."""
    digest = DIGESTS.get(key.digest.upper()) or DIGESTS.get(signature.digest.upper())
    if digest is None:
        raise InvalidSignature(f"unknown signature digest {key.digest!r}")
    try:
        key.key.verify(signature.signature, body, ec.ECDSA(digest()))
    except BadSignature:
        raise InvalidSignature("the delivery's signature does not verify") from None


@dataclass(frozen=True)
class Notification:
    topic: str
    notification_id: str | None
    data: Mapping[str, Any]


def read_notification(payload: Any, raw: str) -> Notification:
    """The envelope of a delivery's JSON; PayloadError (keeping `raw`) when it is not one."""
    if not isinstance(payload, dict):
        raise PayloadError("the notification is not a JSON object", raw)
    metadata = payload.get("metadata")
    notification = payload.get("notification")
    if not isinstance(metadata, dict) or not isinstance(notification, dict):
        raise PayloadError("the notification has no metadata or notification object", raw)
    topic = metadata.get("topic")
    if not isinstance(topic, str) or not topic:
        raise PayloadError("the notification names no topic", raw)
    data = notification.get("data")
    identifier = notification.get("notificationId")
    return Notification(
        topic=topic,
        notification_id=str(identifier) if identifier else None,
        data=data if isinstance(data, dict) else {},
    )


def parse_body(body: bytes) -> tuple[Any, str]:
    """(the body's JSON, its text); PayloadError with the text when it is not JSON."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(body), text
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PayloadError(f"the notification is not JSON: {error}", text) from None


def delivery_of(body: bytes) -> tuple[str | None, str]:
    """(notificationId, topic) of a delivery; (None, "") when the body does not say."""
    try:
        payload, text = parse_body(body)
        notification = read_notification(payload, text)
    except PayloadError:
        return None, ""
    return notification.notification_id, notification.topic
