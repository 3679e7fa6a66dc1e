"""The Shopify Admin GraphQL simulator (see :mod:`sandbox.shopify.simulator`)."""

from sandbox.shopify.model import ShopifySimulatorError
from sandbox.shopify.nodes import ALL_SCOPES
from sandbox.shopify.simulator import ShopifySimulator

__all__ = ["ALL_SCOPES", "ShopifySimulator", "ShopifySimulatorError"]
