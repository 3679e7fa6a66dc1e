"""The ``ebay`` simulator: eBay's Sell Inventory, Sell Fulfillment and Commerce
Notification APIs and OAuth, on loopback (:mod:`sandbox.ebay.simulator`).

Modules: :mod:`~sandbox.ebay.simulator` (routes and the request pipeline),
:mod:`~sandbox.ebay.api` (the operations), :mod:`~sandbox.ebay.auth` (OAuth),
:mod:`~sandbox.ebay.inventory` and :mod:`~sandbox.ebay.bulk_update` (listings, the
daily revision cap), :mod:`~sandbox.ebay.orders`, :mod:`~sandbox.ebay.order_view`,
:mod:`~sandbox.ebay.order_query` and :mod:`~sandbox.ebay.shipping` (orders),
:mod:`~sandbox.ebay.notifications` (signed deliveries, the public key, the endpoint
challenge), :mod:`~sandbox.ebay.control` and :mod:`~sandbox.ebay.desk` (control),
:mod:`~sandbox.ebay.exchanges` (what was served), :mod:`~sandbox.ebay.errors` and
:mod:`~sandbox.ebay.model` (vocabulary).
"""

from omnisync.sandbox.ebay.auth import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_RU_NAME,
    EbayCredentials,
)
from omnisync.sandbox.ebay.exchanges import Exchange
from omnisync.sandbox.ebay.model import EbaySimulatorError
from omnisync.sandbox.ebay.simulator import EbaySimulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_RU_NAME",
    "EbayCredentials",
    "EbaySimulator",
    "EbaySimulatorError",
    "Exchange",
]
