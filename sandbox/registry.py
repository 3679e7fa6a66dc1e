"""Which channel types have a simulator: ``omnisync demo`` starts one of each."""

from __future__ import annotations

from typing import Final

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.base import SimulatedMarketplace
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.ebay import EbaySimulator
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sandbox.woocommerce import WooCommerceSimulator

SIMULATORS: Final[dict[str, type[SimulatedMarketplace]]] = {
    SandboxMarketplace.type: SandboxMarketplace,
    ShopifySimulator.type: ShopifySimulator,
    AmazonSimulator.type: AmazonSimulator,
    CarrierSimulator.type: CarrierSimulator,
    EbaySimulator.type: EbaySimulator,
    WooCommerceSimulator.type: WooCommerceSimulator,
}
"""Channel type (the YAML ``type:``) to its simulator class. Constructors differ per
type (credentials), so callers look the class up and pass what that type needs."""


def simulator_for(channel_type: str) -> type[SimulatedMarketplace] | None:
    return SIMULATORS.get(channel_type)
