"""The Amazon simulator's ``/_control`` desk (see :mod:`sandbox.control_api`).

Orders go through the seller's control methods
(:class:`sandbox.amazon.control.SellerControls`): a buyer's order is merchant-fulfilled
(MFN) and paid (Unshipped); shipping confirms every unshipped unit as confirmShipment
does. Orders are named by their AmazonOrderId.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnisync.sandbox.amazon.http import JSON, AmazonSimulatorError
from omnisync.sandbox.control_api import OrderView, refused_as

if TYPE_CHECKING:
    from omnisync.sandbox.amazon.simulator import AmazonSimulator

DEFAULT_CARRIER = "UPS"


class AmazonDesk:
    kind = "amazon"

    def __init__(self, seller: AmazonSimulator) -> None:
        self.seller = seller

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        with refused_as(AmazonSimulatorError, 409, "out_of_stock"):
            return _view(self.seller.place_order(list(lines)))

    def cancel(self, order_id: str) -> OrderView:
        self._known(order_id)
        with refused_as(AmazonSimulatorError, 409, "refused"):
            return _view(self.seller.cancel_order(order_id))

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        self._known(order_id)
        with refused_as(AmazonSimulatorError, 409, "refused"):
            order = self.seller.ship_order(order_id, tracking_number, carrier or DEFAULT_CARRIER)
        shipments = order["Shipments"]
        return _view(order, shipments[-1]["packageDetail"]["trackingNumber"])

    def orders(self) -> list[OrderView]:
        return [_view(order) for order in self.seller.orders()]

    def stock(self) -> dict[str, int]:
        return self.seller.quantities()

    def _known(self, order_id: str) -> None:
        with refused_as(AmazonSimulatorError, 404, "not_found"):
            self.seller.get_order(order_id)


def _view(order: JSON, tracking_number: str | None = None) -> OrderView:
    return OrderView(
        order_id=order["AmazonOrderId"],
        status=order["OrderStatus"],
        lines=[(item["SellerSKU"], item["QuantityOrdered"]) for item in order["OrderItems"]],
        details=order,
        tracking_number=tracking_number,
    )
