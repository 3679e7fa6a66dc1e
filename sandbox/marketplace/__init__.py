"""The ``sandbox`` marketplace: a simple JSON channel (see :mod:`sandbox.marketplace.simulator`)."""

from omnisync.sandbox.marketplace.model import SandboxError
from omnisync.sandbox.marketplace.simulator import SandboxMarketplace

__all__ = ["SandboxError", "SandboxMarketplace"]
