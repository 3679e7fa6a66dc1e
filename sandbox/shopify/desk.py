"""The Shopify simulator's ``/_control`` desk (see :mod:`sandbox.control_api`).

Orders go through the shop's control methods (:class:`sandbox.shopify.control.ShopControls`),
so webhooks go out as for any other change. An order is named by its gid (what the
hub stores), its number or its name (``gid://shopify/Order/1001``, ``1001``, ``#1001``);
a line names its variant by SKU, or by the variant's gid when it has no SKU.

Returns, the Shopify simulator's own commands:

``POST /_control/returns`` ``{"order_id", "line", "quantity"?, "reason"?, "note"?}``
    the buyer asks to return units of a fulfilled line (by LineItem gid, SKU or variant
    gid; one unit by default; reason a ReturnReason or handle, UNWANTED by default):
    ``201 {"return": {...}}``, the return REQUESTED
``GET /_control/returns``
    ``{"returns": [...]}``: each with its status, lines (processed and refunded
    quantities, dispositions with their location), refunds and notices
``POST /_control/returns/ship`` ``{"return_id", "tracking_number", "carrier"?}``
    the buyer sends the parcel back (a reverse delivery with its tracking)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.routing import Route

from omnisync.sandbox.control_api import (
    Answer,
    ControlRefused,
    OrderView,
    control_route,
    optional_text,
    refused_as,
    required_text,
)
from omnisync.sandbox.shopify.model import JSON, ShopifySimulatorError

if TYPE_CHECKING:
    from omnisync.sandbox.shopify.simulator import ShopifySimulator


class ShopifyDesk:
    kind = "shopify"

    def __init__(self, shop: ShopifySimulator) -> None:
        self.shop = shop

    def place(self, lines: Sequence[tuple[str, int]]) -> OrderView:
        with refused_as(ShopifySimulatorError, 409, "refused"):
            order = self.shop.buy_many(lines)
        if order is None:
            raise ControlRefused(409, "out_of_stock", "no location has that many available")
        return _view(order)

    def cancel(self, order_id: str) -> OrderView:
        self._known(order_id)
        with refused_as(ShopifySimulatorError, 409, "refused"):
            return _view(self.shop.cancel_order(order_id))

    def ship(self, order_id: str, tracking_number: str | None, carrier: str | None) -> OrderView:
        self._known(order_id)
        with refused_as(ShopifySimulatorError, 409, "refused"):
            order = self.shop.ship_order(order_id, tracking_number, carrier)
        return _view(order, tracking_number)

    def orders(self) -> list[OrderView]:
        return [_view(order) for order in self.shop.orders()]

    def stock(self) -> dict[str, int]:
        return self.shop.quantities(without_sku=True)

    def _known(self, order_id: str) -> None:
        with refused_as(ShopifySimulatorError, 404, "not_found"):
            self.shop.get_order(order_id)


def return_control_routes(shop: ShopifySimulator) -> list[Route]:
    """``/_control/returns``: the buyer's returns, and what became of them."""

    def request(body: JSON) -> Answer:
        quantity = body.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ControlRefused(400, "invalid_request", "quantity must be 1 or more")
        order_id, line = required_text(body, "order_id"), required_text(body, "line")
        reason = optional_text(body, "reason") or "UNWANTED"
        note = optional_text(body, "note") or ""
        with refused_as(ShopifySimulatorError, 409, "refused"):
            made = shop.request_return(order_id, [(line, quantity)], reason, note)
        return 201, {"return": made}

    def listed(body: JSON) -> Answer:
        return 200, {"returns": shop.returns()}

    def ship(body: JSON) -> Answer:
        return_id = required_text(body, "return_id")
        number, carrier = required_text(body, "tracking_number"), optional_text(body, "carrier")
        with refused_as(ShopifySimulatorError, 409, "refused"):
            return 200, {"return": shop.ship_return(return_id, number, carrier)}

    return [
        control_route("/returns", "POST", request),
        control_route("/returns", "GET", listed),
        control_route("/returns/ship", "POST", ship),
    ]


def _view(order: JSON, tracking_number: str | None = None) -> OrderView:
    status = "CANCELLED" if order["cancelled_at"] else order["fulfillment_status"]
    return OrderView(
        order_id=order["id"],
        status=status,
        # A line of a variant without SKU is named as it is bought: by the variant's gid.
        lines=[
            (line["sku"] or line["variant_id"], line["quantity"]) for line in order["line_items"]
        ],
        details=order,
        tracking_number=tracking_number,
    )
