"""The Shopify Admin GraphQL simulator (see :mod:`sandbox.shopify.simulator`)."""

from omnisync.sandbox.shopify.model import ShopifySimulatorError
from omnisync.sandbox.shopify.nodes import ALL_SCOPES
from omnisync.sandbox.shopify.simulator import ShopifySimulator

__all__ = ["ALL_SCOPES", "ShopifySimulator", "ShopifySimulatorError"]
