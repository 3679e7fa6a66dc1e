"""Signed webhooks from the simulated shop, delivered from a background thread.

Each delivery is an HTTP POST of Shopify's REST-shaped JSON with the headers
Shopify sends (https://shopify.dev/docs/apps/build/webhooks/delivery-structure):
``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body
keyed with the app's client secret), ``X-Shopify-Shop-Domain``,
``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id`` (one per delivery),
``X-Shopify-Event-Id`` (shared by the deliveries one action produces) and
``X-Shopify-Triggered-At``. Deliveries go out one at a time, in order, with a short
timeout and no automatic retry (:class:`sandbox.delivery.DeliveryQueue`);
:meth:`WebhookSender.redeliver` sends one again with the same webhook id (what
Shopify's retries look like to a receiver).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import httpx

from omnisync.sandbox.delivery import DeliveryQueue, post_attempt
from omnisync.sandbox.shopify.model import (
    JSON,
    Customer,
    Fulfillment,
    InventoryItem,
    Order,
    ShopifySimulatorError,
    money,
    rest_time,
)
from omnisync.sandbox.shopify.return_records import ReturnRecord

API_VERSION: Final = "2026-10"
DELIVERY_TIMEOUT_S: Final = 5.0
"""Shopify waits five seconds for the receiver's answer before it counts a delivery as
failed (HTTPS webhook delivery: one second to connect, five in all)."""

_FULFILLMENT_STATUS: Final = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}


@dataclass
class Delivery:
    url: str
    webhook_id: str
    event_id: str
    topic: str
    triggered_at: str
    body: bytes
    headers: dict[str, str]
    attempts: list[JSON] = field(default_factory=list)

    def record(self) -> JSON:
        return {
            "url": self.url,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "triggered_at": self.triggered_at,
            "attempts": [dict(attempt) for attempt in self.attempts],
            "status_code": self.attempts[-1]["status_code"] if self.attempts else None,
        }


class WebhookSender(DeliveryQueue[Delivery]):
    """Queues deliveries and posts them from one daemon thread."""

    def __init__(self, url: str | None, secret: str, domain: str) -> None:
        super().__init__(thread_name="shopify-webhooks", timeout_s=DELIVERY_TIMEOUT_S)
        self.url = url
        self.secret = secret
        self.domain = domain
        self._deliveries: dict[str, Delivery] = {}

    def send(self, topic: str, payload: JSON, event_id: str, triggered_at: datetime) -> str | None:
        """Sign and queue one delivery; its webhook id (None when no URL is set)."""
        if self.url is None:
            return None
        body = json.dumps(payload, separators=(",", ":")).encode()
        webhook_id = str(uuid.uuid4())
        when = rest_time(triggered_at) or ""
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.secret, body),
            "X-Shopify-Shop-Domain": self.domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": when,
        }
        delivery = Delivery(self.url, webhook_id, event_id, topic, when, body, headers)
        with self._lock:
            self._deliveries[webhook_id] = delivery
        self._enqueue(delivery)
        return webhook_id

    def redeliver(self, webhook_id: str) -> None:
        """Send a delivery again: same body, same signature, same webhook id."""
        with self._lock:
            delivery = self._deliveries.get(webhook_id)
        if delivery is None:
            raise ShopifySimulatorError(f"no webhook delivery {webhook_id!r}")
        self._enqueue(delivery)

    def deliveries(self) -> list[JSON]:
        with self._lock:
            return [delivery.record() for delivery in self._deliveries.values()]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        attempt = post_attempt(client, delivery.url, delivery.body, delivery.headers)
        with self._lock:
            delivery.attempts.append(attempt)


def sign(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# payloads (the REST Admin API's shapes) -----------------------------------------------


def order_payload(order: Order, domain: str) -> JSON:
    """An order as the ``orders/*`` webhooks deliver it."""
    total = money(order.total())
    current = money(order.current_total())
    fulfillment_status = _FULFILLMENT_STATUS.get(order.fulfillment_status)
    return {
        "id": order.number,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "order_number": order.number,
        "email": order.customer.email,
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(order.updated_at),
        "processed_at": rest_time(order.created_at),
        "cancelled_at": rest_time(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": None,
        "currency": order.currency,
        "presentment_currency": order.currency,
        "total_price": total,
        "subtotal_price": total,
        "current_total_price": current,
        "current_subtotal_price": current,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": fulfillment_status,
        "customer": _customer(order.customer),
        "shipping_address": _address(order.shipping_address),
        "line_items": [
            {
                "id": line.number,
                "admin_graphql_api_id": line.gid,
                "sku": line.sku,
                "title": line.title,
                "name": line.title,
                "quantity": line.quantity,
                "current_quantity": line.current_quantity,
                "fulfillable_quantity": line.unfulfilled_quantity,
                "fulfillment_status": _line_status(line.fulfilled, line.current_quantity),
                "price": money(line.price),
                "variant_id": line.variant.number if line.variant else None,
                "product_id": line.variant.product_number if line.variant else None,
                "requires_shipping": True,
            }
            for line in order.lines
        ],
        "fulfillments": [fulfillment_payload(f) for f in order.fulfillments],
        "order_status_url": f"https://{domain}/orders/{order.number}",
    }


def fulfillment_payload(fulfillment: Fulfillment) -> JSON:
    return {
        "id": fulfillment.number,
        "admin_graphql_api_id": fulfillment.gid,
        "order_id": fulfillment.order_number,
        "status": fulfillment.status.lower(),
        "created_at": rest_time(fulfillment.created_at),
        "location_id": fulfillment.location.number,
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
        "tracking_numbers": [fulfillment.tracking_number] if fulfillment.tracking_number else [],
        "tracking_url": fulfillment.tracking_url,
        "tracking_urls": [fulfillment.tracking_url] if fulfillment.tracking_url else [],
        "line_items": [
            {"id": entry.line.number, "sku": entry.line.sku, "quantity": quantity}
            for entry, quantity in fulfillment.lines
        ],
    }


def level_payload(item: InventoryItem, location: int) -> JSON:
    """``inventory_levels/update``."""
    return {
        "inventory_item_id": item.number,
        "location_id": location,
        "available": item.levels.get(location, 0),
        "updated_at": rest_time(item.level_updated_at.get(location, item.updated_at)),
        "admin_graphql_api_id": (
            f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item.number}"
        ),
    }


def return_payload(topic: str, record: ReturnRecord, order: Order) -> JSON:
    """A return as its ``returns/*`` topic delivers it: ``returns/request`` and
    ``returns/approve`` with the return line items (their fulfillment line item and its
    order line), ``returns/decline`` with the decline, the others the return's ids and
    status only (``returns/process`` its ids only), and
    ``reverse_deliveries/attach_deliverable`` the delivery with the return it is for."""
    ids = {"id": record.number, "admin_graphql_api_id": record.gid}
    if topic == "returns/process":
        return ids
    if topic == "reverse_deliveries/attach_deliverable":
        delivery = record.reverse.deliveries[-1] if record.reverse else None
        return {
            "id": delivery.number if delivery else None,
            "admin_graphql_api_id": delivery.gid if delivery else None,
            "return": ids,
            "shipping_deliverable": {
                "tracking": {
                    "carrier_name": delivery.carrier if delivery else None,
                    "tracking_number": delivery.tracking_number if delivery else None,
                    "tracking_url": None,
                },
                "label": None,
            },
        }
    status = {**ids, "status": record.status.lower()}
    owner = {"id": order.number, "admin_graphql_api_id": order.gid}
    if topic == "returns/decline":
        reason, note = record.decline or ("other", None)
        return {**status, "order": owner, "decline": {"reason": reason.lower(), "note": note}}
    if topic not in ("returns/request", "returns/approve"):
        return {**status, "order_id": order.number}
    return {
        **status,
        "name": record.name,
        "order": owner,
        "total_return_line_items": len(record.lines),
        "return_line_items": [
            {
                "id": line.number,
                "admin_graphql_api_id": line.gid,
                "fulfillment_line_item": {
                    "id": line.fulfillment.line_numbers[line.position],
                    "admin_graphql_api_id": line.fulfillment_line_gid,
                    "line_item": {
                        "id": line.line_item.number,
                        "admin_graphql_api_id": line.line_item.gid,
                    },
                },
                "quantity": line.quantity,
                "return_reason": line.reason.lower(),
                "return_reason_note": line.reason_note,
                "customer_note": line.customer_note,
            }
            for line in record.lines
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def _customer(customer: Customer) -> JSON:
    return {
        "id": customer.number,
        "admin_graphql_api_id": customer.gid,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
    }


def _address(address: JSON) -> JSON:
    return {
        "first_name": address.get("firstName"),
        "last_name": address.get("lastName"),
        "name": address.get("name"),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": address.get("city"),
        "zip": address.get("zip"),
        "province": address.get("province"),
        "province_code": address.get("provinceCode"),
        "country": address.get("country"),
        "country_code": address.get("countryCodeV2"),
        "phone": address.get("phone"),
    }


def _line_status(fulfilled: int, current: int) -> str | None:
    if fulfilled == 0:
        return None
    return "fulfilled" if fulfilled >= current else "partial"
