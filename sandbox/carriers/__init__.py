"""The carriers' tracking simulator: UPS, FedEx and DHL (see :mod:`sandbox.carriers.simulator`)."""

from sandbox.carriers.simulator import CarrierSimulator
from sandbox.carriers.state import CarrierSimulatorError

__all__ = ["CarrierSimulator", "CarrierSimulatorError"]
