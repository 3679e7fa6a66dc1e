"""What a simulated seller account's order book starts from, whatever the marketplace.

The eBay and Amazon simulators each keep their seller's orders by id, stamp every change
with the account's :class:`~sandbox.clock.MonotonicStamper` (so an order's times never
go back, even on a clock a test sets back), and place them in one marketplace and its
currency. Those fields and the lookup that refuses an unknown id are written once here,
in :class:`SellerOrderBook`; placing, changing and telling of orders stay each
marketplace's own.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from omnisync.sandbox.clock import MonotonicStamper

OrderT = TypeVar("OrderT")


class SellerOrderBook(Generic[OrderT]):
    """One seller's orders by id, in the order they were placed."""

    refusal: ClassVar[type[Exception]] = ValueError
    """What :meth:`order` raises for an unknown id (the simulator's control error)."""

    def __init__(self, stamper: MonotonicStamper, marketplace_id: str, currency: str) -> None:
        self.stamper = stamper
        self.marketplace_id = marketplace_id
        self.currency = currency
        self.orders: dict[str, OrderT] = {}

    def order(self, order_id: str) -> OrderT:
        found = self.orders.get(order_id)
        if found is None:
            raise self.refusal(f"no order {order_id!r}")
        return found
