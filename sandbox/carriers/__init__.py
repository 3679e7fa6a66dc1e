"""The carriers' tracking simulator: UPS, FedEx and DHL (see :mod:`sandbox.carriers.simulator`)."""

from omnisync.sandbox.carriers.simulator import CarrierSimulator
from omnisync.sandbox.carriers.state import CarrierSimulatorError

__all__ = ["CarrierSimulator", "CarrierSimulatorError"]
