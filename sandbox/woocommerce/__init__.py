"""The ``woocommerce`` simulator: one WooCommerce shop's REST API v3, its webhooks and
the Shipment Tracking extension's routes, on loopback (:mod:`sandbox.woocommerce.simulator`).

Modules: :mod:`~sandbox.woocommerce.simulator` (routes, authentication, the request
pipeline), :mod:`~sandbox.woocommerce.api` (the operations), :mod:`~sandbox.woocommerce.batch`
(batch endpoints), :mod:`~sandbox.woocommerce.catalogue` and
:mod:`~sandbox.woocommerce.product_view` (products, variations, stock),
:mod:`~sandbox.woocommerce.orders`, :mod:`~sandbox.woocommerce.order_view` and
:mod:`~sandbox.woocommerce.order_query` (orders and notes), :mod:`~sandbox.woocommerce.paging`
(WordPress paging), :mod:`~sandbox.woocommerce.tracking` (Shipment Tracking),
:mod:`~sandbox.woocommerce.webhooks` (signed deliveries), :mod:`~sandbox.woocommerce.control`
and :mod:`~sandbox.woocommerce.desk` (control), :mod:`~sandbox.woocommerce.model` (vocabulary).
"""

from omnisync.sandbox.woocommerce.model import WooCommerceSimulatorError
from omnisync.sandbox.woocommerce.simulator import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_WEBHOOK_SECRET,
    WooCommerceSimulator,
)

__all__ = [
    "DEFAULT_CONSUMER_KEY",
    "DEFAULT_CONSUMER_SECRET",
    "DEFAULT_WEBHOOK_SECRET",
    "WooCommerceSimulator",
    "WooCommerceSimulatorError",
]
