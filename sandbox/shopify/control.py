"""Control operations of the Shopify simulator: the merchant and the buyers.

A mixin of :class:`sandbox.shopify.ShopifySimulator`: each operation runs on the
shop's state under the simulator's lock, then the webhooks it triggered go out.
Orders are named by gid, number or name (``gid://shopify/Order/1001``, ``1001``,
``"#1001"``), returns by gid or number; refusals raise
:class:`~sandbox.shopify.model.ShopifySimulatorError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from omnisync.sandbox.shopify.model import (
    JSON,
    OPEN_FULFILLMENT_ORDER,
    Order,
    ShopifySimulatorError,
)
from omnisync.sandbox.shopify.state import ShopState
from omnisync.sandbox.shopify.state_orders import fulfillment_json

T = TypeVar("T")


class ShopControls:
    """What a test or the demo does to the shop from outside the API."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        state: ShopState

        def _change(self, action: Callable[[ShopState], T]) -> T: ...

    # control: shop --------------------------------------------------------------------

    def add_location(self, name: str, active: bool = True) -> str:
        """A new location; its gid."""
        return self._change(lambda state: state.add_location(name, active).gid)

    def set_location_active(self, location: str, active: bool) -> None:
        def act(state: ShopState) -> None:
            state.location(location).active = active

        self._change(act)

    def set_catalogue(self, items: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Replace the products: ``[{sku, title, quantity or {location name: qty},
        barcode?, price?, tracked?}]``; one product, variant and inventory item each. An int
        quantity stocks the first location; named locations are created when missing.
        ``sku`` may be ``""`` or None (a variant without SKU, as Shopify has them): such a
        variant is named by its ``variant_id`` (gid) wherever a SKU is taken below."""
        return self._change(lambda state: state.set_catalogue(items))

    def lock_inventory_item(self, item: str, locked: bool = True) -> None:
        """A locked item (by SKU or gid) refuses updates with NON_MUTABLE_INVENTORY_ITEM."""

        def act(state: ShopState) -> None:
            state.item(item).locked = locked

        self._change(act)

    def set_available(self, sku: str, quantity: int, location: str | None = None) -> None:
        """The merchant sets a level in the Shopify admin (first location by default);
        ``sku``: a SKU, or a variant gid."""
        self._change(lambda state: state.set_available(sku, quantity, location))

    def available(self, sku: str, location: str | None = None) -> int:
        """ "available" of ``sku`` (a SKU or a variant gid) at ``location`` (name or gid),
        or summed over locations."""
        with self._lock:
            return self.state.available(sku, location)

    def quantities(self, *, without_sku: bool = False) -> dict[str, int]:
        """ "available" of every SKU, summed over locations; with ``without_sku``, of every
        variant without SKU too, under its gid (the name it is bought by)."""
        with self._lock:
            found = {sku: self.state.available(sku) for sku in self.state.variant_by_sku}
            if without_sku:
                for variant in self.state.variants.values():
                    if not variant.sku:
                        found[variant.gid] = self.state.available(variant.gid)
            return found

    # control: buyers and orders -------------------------------------------------------

    def buy(
        self,
        sku: str,
        quantity: int = 1,
        *,
        customer: Mapping[str, str] | None = None,
        financial_status: str = "PAID",
    ) -> JSON | None:
        """A buyer orders ``quantity`` of ``sku`` (a SKU, or the gid of a variant without
        one): the order, or None when no location has that many available."""
        return self.buy_many(
            [(sku, quantity)], customer=customer, financial_status=financial_status
        )

    def buy_many(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        customer: Mapping[str, str] | None = None,
        financial_status: str = "PAID",
    ) -> JSON | None:
        """One order with a line item per ``(sku or variant gid, quantity)``, all or nothing."""

        def act(state: ShopState) -> JSON | None:
            order = state.place_order(list(lines), customer, financial_status)
            return None if order is None else state.order_json(order)

        return self._change(act)

    def cancel_order(
        self, order_id: str | int, reason: str = "CUSTOMER", restock: bool = True
    ) -> JSON:
        return self._order_change(lambda state: state.cancel_order(order_id, reason, restock))

    def refund(
        self, order_id: str | int, sku: str, quantity: int = 1, restock: bool = True
    ) -> JSON:
        """Refund unfulfilled units of a line (by SKU or variant gid): its
        ``currentQuantity`` drops."""
        return self._order_change(lambda state: state.refund(order_id, sku, quantity, restock))

    def set_financial_status(self, order_id: str | int, status: str) -> JSON:
        return self._order_change(lambda state: state.set_financial_status(order_id, status))

    def touch_order(self, order_id: str | int, updated_at: datetime | None = None) -> JSON:
        """Mark the order updated now, or at ``updated_at`` (a late update)."""
        return self._order_change(lambda state: state.touch_order(order_id, updated_at))

    def ship_order(
        self,
        order_id: str | int,
        tracking_number: str | None = None,
        tracking_company: str | None = None,
    ) -> JSON:
        """The merchant fulfils all that is left of the order: one fulfilment per open
        fulfillment order (as ``fulfillmentCreate`` takes them, location by location)."""

        def act(state: ShopState) -> Order:
            order = state.order(order_id)
            if order.cancelled_at is not None:
                raise ShopifySimulatorError(f"order {order.name} is cancelled")
            still_open = [
                fulfillment_order
                for fulfillment_order in order.fulfillment_orders
                if fulfillment_order.status in OPEN_FULFILLMENT_ORDER
                and any(entry.remaining for entry in fulfillment_order.lines)
            ]
            if not still_open:
                raise ShopifySimulatorError(f"order {order.name} has nothing left to fulfil")
            tracking = {"number": tracking_number, "company": tracking_company}
            for fulfillment_order in still_open:
                _, errors = state.create_fulfillment(
                    {
                        "lineItemsByFulfillmentOrder": [
                            {"fulfillmentOrderId": fulfillment_order.gid}
                        ],
                        "trackingInfo": {key: value for key, value in tracking.items() if value},
                    }
                )
                if errors:
                    raise ShopifySimulatorError("; ".join(error["message"] for error in errors))
            return order

        return self._order_change(act)

    def _order_change(self, action: Callable[[ShopState], Order]) -> JSON:
        return self._change(lambda state: state.order_json(action(state)))

    def get_order(self, order_id: str | int) -> JSON:
        with self._lock:
            return self.state.order_json(self.state.order(order_id))

    def orders(self) -> list[JSON]:
        with self._lock:
            return [self.state.order_json(self.state.orders[n]) for n in sorted(self.state.orders)]

    def fulfillments(self, order_id: str | int | None = None) -> list[JSON]:
        with self._lock:
            if order_id is None:
                chosen = list(self.state.fulfillments.values())
            else:
                chosen = list(self.state.order(order_id).fulfillments)
            return [fulfillment_json(fulfillment) for fulfillment in chosen]

    # control: returns -----------------------------------------------------------------

    def request_return(
        self,
        order_id: str | int,
        lines: Sequence[tuple[str, int]],
        reason: str = "UNWANTED",
        note: str = "",
        customer_note: str | None = None,
    ) -> JSON:
        """The buyer asks to return ``(line, quantity)`` pairs of a fulfilled order (a line
        by its LineItem gid, SKU or variant gid), for ``reason`` (a ReturnReason or a
        reason handle): the return, REQUESTED, and ``returns/request`` goes out."""
        return self._change(
            lambda state: state.return_json(
                state.request_return(order_id, lines, reason, note, customer_note)
            )
        )

    def ship_return(
        self, return_id: str | int, tracking_number: str, carrier: str | None = None
    ) -> JSON:
        """The buyer sends the parcel back: a reverse delivery with this tracking number."""
        return self._change(
            lambda state: state.return_json(state.ship_return(return_id, tracking_number, carrier))
        )

    def cancel_return(self, return_id: str | int) -> JSON:
        """The buyer withdraws a return nothing of which was processed."""
        return self._change(lambda state: state.return_json(state.cancel_return(return_id)))

    def get_return(self, return_id: str | int) -> JSON:
        """A return's state: status, lines with their dispositions (type, quantity,
        location), refunds and what the buyer was to be told of each action."""
        with self._lock:
            return self.state.return_json(self.state.return_record(return_id))

    def returns(self, order_id: str | int | None = None) -> list[JSON]:
        with self._lock:
            records = list(self.state.returns.values())
            if order_id is not None:
                records = self.state.returns_of(self.state.order(order_id))
            return [self.state.return_json(record) for record in records]
