"""The ``sandbox`` marketplace's ``/_control`` desk (see :mod:`sandbox.control_api`).

Orders go through the marketplace's own control methods (``place_order``,
``cancel_order``, ``create_fulfilment``); a refusal keeps its status and code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from omnisync.sandbox.base import JSON
from omnisync.sandbox.control_api import ControlRefused, OrderView
from omnisync.sandbox.marketplace.model import SandboxError

if TYPE_CHECKING:
    from omnisync.sandbox.marketplace.simulator import SandboxMarketplace

T = TypeVar("T")


class MarketplaceDesk:
    kind = "marketplace"

    def __init__(self, market: SandboxMarketplace) -> None:
        self.market = market

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        return _view(_refusing(lambda: self.market.place_order(lines)))

    def cancel(self, order_id: str) -> OrderView:
        return _view(_refusing(lambda: self.market.cancel_order(order_id)))

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        order = _refusing(lambda: self.market.get_order(order_id))
        open_lines = [
            (line["id"], line["quantity"] - line["fulfilled_quantity"] - line["cancelled_quantity"])
            for line in order["line_items"]
        ]
        unshipped = [(line_id, left) for line_id, left in open_lines if left > 0]
        if not unshipped:
            raise ControlRefused(409, "nothing_to_ship", f"order {order_id} has nothing to ship")
        _refusing(
            lambda: self.market.create_fulfilment(
                order_id, unshipped, tracking_company=carrier, tracking_number=tracking_number
            )
        )
        shipped = _refusing(lambda: self.market.get_order(order_id))
        return _view(shipped, tracking_number)

    def orders(self) -> list[OrderView]:
        return [_view(order) for order in self.market.snapshot()["orders"]]

    def stock(self) -> dict[str, int]:
        listings = self.market.snapshot()["listings"]
        return {item["sku"]: item["quantity"] for item in listings if item["sku"] is not None}


def _refusing(action: Callable[[], T]) -> T:
    """The marketplace's refusal, with its own status and code."""
    try:
        return action()
    except SandboxError as error:
        raise ControlRefused(error.status, error.code, error.message) from None


def _view(order: JSON, tracking_number: str | None = None) -> OrderView:
    return OrderView(
        order_id=order["id"],
        status=order["status"],
        lines=[(line["sku"], line["quantity"]) for line in order["line_items"]],
        details=order,
        tracking_number=tracking_number,
    )
