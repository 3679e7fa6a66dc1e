"""Simulated marketplaces: real HTTP servers on loopback, stateful, throttled, faulty.

The framework (:mod:`hub.http_server`, which serves every simulator, :mod:`sandbox.ratelimit`,
:mod:`sandbox.faults`, :mod:`sandbox.clock`, :mod:`sandbox.base`) knows no
channel; each simulator (:class:`SandboxMarketplace` for the ``sandbox`` type)
plugs into it by subclassing :class:`SimulatedMarketplace`.
"""

from omnisync.sandbox.base import SimulatedMarketplace
from omnisync.sandbox.clock import Clock, ManualClock, MonotonicStamper, SystemClock
from omnisync.sandbox.faults import FAULT_KINDS, Fault, FaultKind, FaultQueue
from omnisync.sandbox.marketplace import SandboxError, SandboxMarketplace
from omnisync.sandbox.ratelimit import TokenBucket

__all__ = [
    "FAULT_KINDS",
    "Clock",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "ManualClock",
    "MonotonicStamper",
    "SandboxError",
    "SandboxMarketplace",
    "SimulatedMarketplace",
    "SystemClock",
    "TokenBucket",
]
