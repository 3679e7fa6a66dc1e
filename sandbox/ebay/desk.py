"""The eBay simulator's ``/_control`` desk (see :mod:`sandbox.control_api`).

Orders go through the seller's control methods (:class:`sandbox.ebay.control.EbayControls`):
a buyer's order is paid and confirmed (ORDER_CONFIRMATION); cancelling completes the
cancellation (the units come back); shipping fulfils every unit left, as
createShippingFulfillment does. Orders are named by their orderId; an order's status
is its orderFulfillmentStatus, or CANCELED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnisync.sandbox.control_api import ControlRefused, OrderView, refused_as
from omnisync.sandbox.ebay.control import DEFAULT_CARRIER
from omnisync.sandbox.ebay.model import JSON, EbaySimulatorError
from omnisync.sandbox.ebay.orders import CANCELED

if TYPE_CHECKING:
    from omnisync.sandbox.ebay.simulator import EbaySimulator


class EbayDesk:
    kind = "ebay"

    def __init__(self, seller: EbaySimulator) -> None:
        self.seller = seller

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        with refused_as(EbaySimulatorError, 409, "out_of_stock"):
            return self._view(self.seller.place_order(list(lines)))

    def cancel(self, order_id: str) -> OrderView:
        self._known(order_id)
        with refused_as(EbaySimulatorError, 409, "refused"):
            return self._view(self.seller.cancel_order(order_id))

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        self._known(order_id)
        with refused_as(EbaySimulatorError, 409, "refused"):
            order = self.seller.ship_order(order_id, tracking_number, carrier or DEFAULT_CARRIER)
        return self._view(order)

    def orders(self) -> list[OrderView]:
        return [self._view(order) for order in self.seller.orders()]

    def stock(self) -> dict[str, int]:
        return self.seller.stock()

    def _known(self, order_id: str) -> None:
        try:
            self.seller.order(order_id)
        except EbaySimulatorError:
            raise ControlRefused(404, "not_found", f"no order {order_id!r}") from None

    def _view(self, order: JSON) -> OrderView:
        cancelled = order["cancelStatus"]["cancelState"] == CANCELED
        shipped = self.seller.fulfillments(order["orderId"])
        return OrderView(
            order_id=order["orderId"],
            status=CANCELED if cancelled else order["orderFulfillmentStatus"],
            lines=[(line["sku"], line["quantity"]) for line in order["lineItems"]],
            details=order,
            tracking_number=shipped[-1].get("shipmentTrackingNumber") if shipped else None,
        )
