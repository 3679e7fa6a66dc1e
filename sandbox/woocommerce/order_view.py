"""Orders and order notes as WooCommerce's REST API v3 shows them.

An order has the keys and JSON types of the documented example
(``orders--retrieve-an-order--1``): totals as two-decimal strings, a line item's
``price`` as a number, no tax, shipping, fees or coupons (empty lists), no refunds.
A variation's line carries its attribute as line meta (``{"id", "key", "value"}``), as
WooCommerce stores it. A note is ``{"id", "author", "date_created",
"date_created_gmt", "note", "customer_note"}`` (WooCommerce's v3 notes controller).
"""

from __future__ import annotations

from typing import Final

from omnisync.sandbox.woocommerce.model import JSON, SiteClock, money, php_number
from omnisync.sandbox.woocommerce.orders import LineItem, Note, Order
from omnisync.sandbox.woocommerce.product_view import API_PREFIX, ATTRIBUTE_NAME, links

WOOCOMMERCE_VERSION: Final = "9.8.5"
SHIPPING_KEYS: Final = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)
ZERO: Final = "0.00"


def order_json(order: Order, site: SiteClock, base: str) -> JSON:
    total = money(order.total)
    return {
        "id": order.id,
        "parent_id": 0,
        "number": str(order.id),
        "order_key": order.order_key,
        "created_via": "checkout",
        "version": WOOCOMMERCE_VERSION,
        "status": order.status,
        "currency": order.currency,
        **site.pair("date_created", order.created),
        **site.pair("date_modified", order.modified),
        "discount_total": ZERO,
        "discount_tax": ZERO,
        "shipping_total": ZERO,
        "shipping_tax": ZERO,
        "cart_tax": ZERO,
        "total": total,
        "total_tax": ZERO,
        "prices_include_tax": False,
        "customer_id": 0,
        "customer_ip_address": "127.0.0.1",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": dict(order.billing),
        "shipping": {key: order.billing[key] for key in SHIPPING_KEYS},
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "transaction_id": "",
        **site.pair("date_paid", order.date_paid),
        **site.pair("date_completed", order.date_completed),
        "cart_hash": "",
        "meta_data": [],
        "line_items": [_line_json(line) for line in order.lines],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "_links": links(f"{base}{API_PREFIX}/orders/{order.id}", f"{base}{API_PREFIX}/orders"),
    }


def note_json(note: Note, site: SiteClock) -> JSON:
    return {
        "id": note.id,
        "author": note.author,
        **site.pair("date_created", note.created),
        "note": note.note,
        "customer_note": note.customer_note,
    }


def _line_json(line: LineItem) -> JSON:
    total = money(line.total)
    meta = [{"id": line.id * 10, "key": ATTRIBUTE_NAME.lower(), "value": line.option}]
    return {
        "id": line.id,
        "name": line.name,
        "product_id": line.product_id,
        "variation_id": line.variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": ZERO,
        "total": total,
        "total_tax": ZERO,
        "taxes": [],
        "meta_data": meta if line.variation_id else [],
        "sku": line.sku,
        "price": php_number(line.price),
    }
