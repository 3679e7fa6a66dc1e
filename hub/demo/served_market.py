"""What the demo's marketplaces served by one sandbox simulator (eBay, WooCommerce) do
alike: serve it on loopback, stop it, show its stock and fail its calls on demand.

Each such market keeps its own simulator, orders and channel file; this base holds the
parts that only pass through to the simulator, so the markets say only what differs.
It imports no market, so hub/demo/markets.py may import the markets built on it.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from omnisync.sandbox.faults import ANY_ENDPOINT


class ServedSimulator(Protocol):
    """The part of a sandbox simulator a served market passes through."""

    def start(self) -> str: ...
    def stop(self) -> None: ...
    def stock(self) -> dict[str, int]: ...
    def inject(
        self, endpoint: str, kind: str | int, count: int = 1, seconds: float | None = None
    ) -> None: ...


S = TypeVar("S", bound=ServedSimulator)


class ServedMarket(Generic[S]):
    """A demo market served by one simulator (`server`); the hub polls its orders until
    the market is told where to send them (`intake` becomes "webhook")."""

    settle_seconds = 0.0
    notice: str | None = None

    def __init__(self, name: str, schedule: str, timeout_s: float, server: S) -> None:
        self.name = name
        self.schedule = schedule
        self.timeout_s = timeout_s
        self.server = server
        self.intake = "polling"

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def quantities(self) -> dict[str, int]:
        return self.server.stock()

    def fail_every_call(self, kind: str, count: int) -> None:
        self.server.inject(ANY_ENDPOINT, kind, count)
