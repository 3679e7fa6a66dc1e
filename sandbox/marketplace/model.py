"""The ``sandbox`` marketplace's vocabulary: endpoint names, limits, its error and pages.

Shared by the state (:mod:`sandbox.marketplace.simulator`) and its HTTP API
(:mod:`sandbox.marketplace.api`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from omnisync.sandbox.base import JSON

ORDERS: Final = "orders"
LISTINGS: Final = "listings"
INVENTORY: Final = "inventory"
FULFILMENTS: Final = "fulfilments"
CANCELLATIONS: Final = "cancellations"
ENDPOINTS: Final = (ORDERS, LISTINGS, INVENTORY, FULFILMENTS, CANCELLATIONS)

ORDER_STATUSES: Final = frozenset({"open", "partially_fulfilled", "fulfilled", "cancelled"})
MAX_INVENTORY_UPDATES: Final = 100
DEFAULT_PRICE: Final = Decimal("10.00")
CENT: Final = Decimal("0.01")
DEFAULT_TOKEN: Final = "sandbox-token"  # noqa: S105 (a loopback test server's default)


class SandboxError(Exception):
    """A refused operation: the HTTP status, an error code and a message.

    The HTTP API answers ``{"error": code, "message": message, **extra}``.
    """

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> JSON:
        return {"error": self.code, "message": self.message, **self.extra}


@dataclass(frozen=True)
class OrdersPage:
    """One page of the orders listing, before it is encoded as JSON."""

    orders: list[JSON]
    next_key: tuple[datetime, str] | None


@dataclass(frozen=True)
class ListingsPage:
    listings: list[JSON]
    next_after: int | None
