"""The ``sandbox`` marketplace: a simple JSON channel (see :mod:`sandbox.marketplace.simulator`)."""

from sandbox.marketplace.model import SandboxError
from sandbox.marketplace.simulator import SandboxMarketplace

__all__ = ["SandboxError", "SandboxMarketplace"]
