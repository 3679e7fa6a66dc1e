"""The WooCommerce simulator's ``/_control`` desk (see :mod:`sandbox.control_api`).

Orders go through the shop's control methods (:class:`sandbox.woocommerce.control.WooControls`):
a buyer's order is placed ``processing`` (stock reduced, ``order.created``); cancelling
gives the units back; shipping completes the order with a customer note naming the
parcel (and a tracking item when the Shipment Tracking extension is on). Orders are
named by their id; an order's status is WooCommerce's (``processing``, ``completed``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from omnisync.sandbox.control_api import ControlRefused, OrderView, refused_as
from omnisync.sandbox.woocommerce.model import JSON, WooCommerceSimulatorError

if TYPE_CHECKING:
    from omnisync.sandbox.woocommerce.simulator import WooCommerceSimulator


class WooCommerceDesk:
    kind = "woocommerce"

    def __init__(self, shop: WooCommerceSimulator) -> None:
        self.shop = shop

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        with refused_as(WooCommerceSimulatorError, 409, "out_of_stock"):
            return self._view(self.shop.place_order(list(lines)))

    def cancel(self, order_id: str) -> OrderView:
        self._known(order_id)
        with refused_as(WooCommerceSimulatorError, 409, "refused"):
            return self._view(self.shop.cancel_order(order_id))

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        self._known(order_id)
        with refused_as(WooCommerceSimulatorError, 409, "refused"):
            return self._view(self.shop.ship_order(order_id, tracking_number, carrier))

    def orders(self) -> list[OrderView]:
        return [self._view(order) for order in self.shop.orders()]

    def stock(self) -> dict[str, int]:
        return self.shop.stock()

    def _known(self, order_id: str) -> None:
        try:
            self.shop.order(order_id)
        except WooCommerceSimulatorError:
            raise ControlRefused(404, "not_found", f"no order {order_id!r}") from None

    def _view(self, order: JSON) -> OrderView:
        trackings = self.shop.trackings(order["id"])
        shipped = _shipped_number(self.shop.notes(order["id"]))
        return OrderView(
            order_id=str(order["id"]),
            status=order["status"],
            lines=[(line["sku"], line["quantity"]) for line in order["line_items"]],
            details=order,
            tracking_number=trackings[-1]["tracking_number"] if trackings else shipped,
        )


def _shipped_number(notes: list[JSON]) -> str | None:
    """The tracking number the shipping note names (the newest), without the extension."""
    for note in notes:
        text = str(note["note"])
        if note["customer_note"] and "tracking number " in text:
            return text.rsplit("tracking number ", 1)[1].rstrip(".")
    return None
