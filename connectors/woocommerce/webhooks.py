"""WooCommerce's webhook deliveries: the ping, the signature, the headers.

When a webhook is created (or its URL changed) WooCommerce posts `webhook_id=<id>`,
form encoded and unsigned, to check the URL answers: the hub answers it and stores
nothing. Every other delivery carries `X-WC-Webhook-Signature`: base64 of the
HMAC-SHA256 of the raw body with the webhook's secret; one that does not verify is
refused (401) and nothing is kept. The topic (`order.updated`, ...) is in
`X-WC-Webhook-Topic`, the delivery's id in `X-WC-Webhook-Delivery-ID`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Final

from omnisync.connectors.base import InvalidSignature

SIGNATURE: Final = "X-WC-Webhook-Signature"
TOPIC: Final = "X-WC-Webhook-Topic"
DELIVERY_ID: Final = "X-WC-Webhook-Delivery-ID"
ORDER_UPDATED: Final = "order.updated"
ORDER_TOPICS: Final = frozenset({"order.created", ORDER_UPDATED, "order.restored"})
ORDER_DELETED: Final = "order.deleted"
PRODUCT_TOPICS: Final = frozenset({"product.created", "product.updated"})
_PING: Final = re.compile(rb"webhook_id=\d+")


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def is_ping(body: bytes) -> bool:
    """Whether the body is WooCommerce's check of a new webhook's URL."""
    return _PING.fullmatch(body.strip()) is not None


def signature(secret: str, body: bytes) -> str:
    """The signature WooCommerce sends with `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> None:
    """InvalidSignature unless the delivery's signature is the body's under `secret`."""
    given = header(headers, SIGNATURE)
    if secret is None:
        raise InvalidSignature("no webhook_secret is set for this channel: webhooks are off")
    if not given:
        raise InvalidSignature(f"the delivery has no {SIGNATURE} header")
    if not hmac.compare_digest(signature(secret, body).encode(), given.strip().encode()):
        raise InvalidSignature("the webhook signature does not match")
