"""Returns of the simulated seller's merchant-fulfilled orders, as Seller Central's Manage
Returns keeps them, and the controls that make and move them.

A buyer asks to return units of an order's lines: never more of a line than was shipped
and not asked back already (a Closed return gives its units back: nothing came of it).
Amazon names the request by an RMA id. Its status takes the values Seller Central's
Manage Returns help names (Pending Authorization while the seller has to authorise it
by hand, Pending Refund, Completed once refunded, Closed when nothing came of it) and
Approved, which Amazon's reports show for an authorised request (in-policy returns are
approved by Amazon at once: the default here).
:meth:`ReturnControls.advance_return` moves a return one step along
:data:`NEXT_STATUS`; reaching Completed, its parcel is delivered (``Return delivery
date``) and, when its resolution is a refund, the units' price is refunded (``Refunded
Amount``).

The returns report (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE) is built from these
(:mod:`sandbox.amazon.returns_report`), by request date.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from omnisync.sandbox.amazon.http import JSON, AmazonSimulatorError
from omnisync.sandbox.amazon.orders import AmazonOrder, OrderBook
from omnisync.sandbox.clock import Clock, isoformat

PENDING_AUTHORIZATION: Final = "Pending Authorization"
APPROVED: Final = "Approved"
PENDING_REFUND: Final = "Pending Refund"
COMPLETED: Final = "Completed"
CLOSED: Final = "Closed"
RETURN_STATUSES: Final = (PENDING_AUTHORIZATION, APPROVED, PENDING_REFUND, COMPLETED, CLOSED)
NEXT_STATUS: Final[Mapping[str, str]] = {
    PENDING_AUTHORIZATION: APPROVED,
    APPROVED: COMPLETED,
    PENDING_REFUND: COMPLETED,
}
ENDED: Final = frozenset({COMPLETED, CLOSED})
STANDARD_REFUND: Final = "StandardRefund"
REFUND_AT_FIRST_SCAN: Final = "RefundAtFirstScan"
REFUND_RESOLUTIONS: Final = frozenset({STANDARD_REFUND, REFUND_AT_FIRST_SCAN})
DEFAULT_REASON: Final = "CR-UNWANTED_ITEM"
DEFAULT_CARRIER: Final = "UPS"


@dataclass
class ReturnItem:
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    ordered: int
    """The order line's quantity (the report's ``Order quantity``)."""


@dataclass
class AmazonReturn:
    rma_id: str
    order_id: str
    ordered_at: datetime
    requested_at: datetime
    status: str
    reason: str
    resolution: str
    carrier: str
    tracking_id: str
    items: list[ReturnItem]
    updated_at: datetime
    delivered_at: datetime | None = None
    refunded: Decimal | None = None
    merchant_rma_id: str = ""
    history: list[JSON] = field(default_factory=list)

    def quantity_of(self, sku: str) -> int:
        return sum(item.quantity for item in self.items if item.sku == sku)


class ReturnBook:
    """Every return of the seller's orders, by RMA id, in the order they were asked."""

    def __init__(self) -> None:
        self.returns: dict[str, AmazonReturn] = {}
        self._numbers = itertools.count(1)

    def get(self, rma_id: str) -> AmazonReturn:
        found = self.returns.get(rma_id)
        if found is None:
            raise AmazonSimulatorError(f"no return {rma_id!r}")
        return found

    def open(
        self,
        order: AmazonOrder,
        lines: Sequence[tuple[str, int]],
        *,
        reason: str,
        status: str,
        resolution: str,
        carrier: str,
        tracking_id: str | None,
        now: datetime,
    ) -> AmazonReturn:
        """A buyer's request to return ``lines`` (``(sku, quantity)``) of ``order``."""
        if order.fulfillment_channel != "MFN":
            raise AmazonSimulatorError(f"order {order.order_id} is fulfilled by Amazon")
        _known_status(status)
        if not lines:
            raise AmazonSimulatorError("a return needs at least one line")
        skus = [sku for sku, _ in lines]
        if len(set(skus)) != len(skus):
            raise AmazonSimulatorError("a return names each SKU once")
        items: list[ReturnItem] = []
        for sku, quantity in lines:
            line = next((each for each in order.lines if each.sku == sku), None)
            if line is None:
                raise AmazonSimulatorError(f"order {order.order_id} has no SKU {sku!r}")
            if quantity < 1:
                raise AmazonSimulatorError(f"{sku}: a return takes 1 unit or more")
            asked = self._asked_back(order.order_id, sku)
            if asked + quantity > line.shipped:
                raise AmazonSimulatorError(
                    f"{sku}: {line.shipped} shipped, {asked} asked back, not {quantity} more"
                )
            items.append(
                ReturnItem(sku, line.asin, line.title, quantity, line.unit_price, line.quantity)
            )
        number = next(self._numbers)
        ret = AmazonReturn(
            rma_id=f"DSIM{number:07d}RMA",
            order_id=order.order_id,
            ordered_at=order.purchased_at,
            requested_at=now,
            status=status,
            reason=reason,
            resolution=resolution,
            carrier=carrier,
            tracking_id=tracking_id or f"1ZSIMRETURN{number:07d}",
            items=items,
            updated_at=now,
        )
        self.returns[ret.rma_id] = ret
        self.set_status(ret, status, now)
        return ret

    def _asked_back(self, order_id: str, sku: str) -> int:
        return sum(
            ret.quantity_of(sku)
            for ret in self.returns.values()
            if ret.order_id == order_id and ret.status != CLOSED
        )

    def set_status(self, ret: AmazonReturn, status: str, now: datetime) -> AmazonReturn:
        """Move ``ret`` to ``status``; Completed delivers it and refunds a refund."""
        _known_status(status)
        if ret.status in ENDED and status != ret.status:
            raise AmazonSimulatorError(f"return {ret.rma_id} is {ret.status}: it moves no more")
        ret.status = status
        if status == COMPLETED:
            ret.delivered_at = ret.delivered_at or now
            if ret.resolution in REFUND_RESOLUTIONS and ret.refunded is None:
                ret.refunded = sum(
                    (item.unit_price * item.quantity for item in ret.items), Decimal(0)
                )
        ret.updated_at = now
        ret.history.append({"status": status, "at": isoformat(now)})
        return ret

    def advance(self, ret: AmazonReturn, now: datetime) -> AmazonReturn:
        following = NEXT_STATUS.get(ret.status)
        if following is None:
            raise AmazonSimulatorError(f"return {ret.rma_id} is {ret.status}: it moves no more")
        return self.set_status(ret, following, now)

    def requested_between(self, start: datetime, end: datetime) -> list[AmazonReturn]:
        """The returns asked for in [start, end] (the report's span), oldest first."""
        chosen = [ret for ret in self.returns.values() if start <= ret.requested_at <= end]
        return sorted(chosen, key=lambda ret: (ret.requested_at, ret.rma_id))


def _known_status(status: str) -> None:
    if status not in RETURN_STATUSES:
        raise AmazonSimulatorError(
            f"unknown return status {status!r}; one of {', '.join(RETURN_STATUSES)}"
        )


def return_json(ret: AmazonReturn, currency: str) -> JSON:
    """A return as the control API and the state show it."""
    return {
        "rma_id": ret.rma_id,
        "order_id": ret.order_id,
        "status": ret.status,
        "requested_at": isoformat(ret.requested_at),
        "updated_at": isoformat(ret.updated_at),
        "delivered_at": None if ret.delivered_at is None else isoformat(ret.delivered_at),
        "reason": ret.reason,
        "resolution": ret.resolution,
        "carrier": ret.carrier,
        "tracking_id": ret.tracking_id,
        "refunded": None
        if ret.refunded is None
        else {"amount": str(ret.refunded), "currency": currency},
        "lines": [{"sku": item.sku, "quantity": item.quantity} for item in ret.items],
        "history": list(ret.history),
    }


class ReturnControls:
    """What a test or the demo does with the seller's returns (a mixin of the simulator)."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        clock: Clock
        currency: str
        orders_book: OrderBook
        returns_book: ReturnBook

    def create_return(
        self,
        order_id: str,
        lines: Sequence[tuple[str, int]],
        *,
        reason: str = DEFAULT_REASON,
        status: str = APPROVED,
        resolution: str = STANDARD_REFUND,
        carrier: str = DEFAULT_CARRIER,
        tracking_id: str | None = None,
        requested_at: datetime | None = None,
    ) -> JSON:
        """The buyer asks to return ``lines`` (``(sku, quantity)``) of a shipped order; the
        RMA id is made up. ``requested_at`` defaults to now on the simulator's clock."""
        with self._lock:
            order = self.orders_book.order(order_id)
            ret = self.returns_book.open(
                order,
                list(lines),
                reason=reason,
                status=status,
                resolution=resolution,
                carrier=carrier,
                tracking_id=tracking_id,
                now=requested_at or self.clock.now(),
            )
            return return_json(ret, self.currency)

    def set_return_status(self, rma_id: str, status: str) -> JSON:
        """The seller (or Amazon) moves the return to ``status`` (one of RETURN_STATUSES)."""
        with self._lock:
            ret = self.returns_book.get(rma_id)
            return return_json(
                self.returns_book.set_status(ret, status, self.clock.now()), self.currency
            )

    def advance_return(self, rma_id: str) -> JSON:
        """One step along NEXT_STATUS (Pending Authorization, Approved, Completed)."""
        with self._lock:
            ret = self.returns_book.get(rma_id)
            return return_json(self.returns_book.advance(ret, self.clock.now()), self.currency)

    def returns(self) -> list[JSON]:
        with self._lock:
            return [return_json(ret, self.currency) for ret in self.returns_book.returns.values()]

    def return_of(self, rma_id: str) -> JSON:
        with self._lock:
            return return_json(self.returns_book.get(rma_id), self.currency)
