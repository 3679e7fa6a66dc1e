"""derive_order_status (core/order_status.py): the precedence, case by case, and the
promise the hub's own paths rely on: re-deriving from the stored status after the
hub's facts moved forward gives what the channel's last report gives."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnisync.core.order_status import derive_order_status
from omnisync.core.types import OrderStatus, ShipmentStatus

Status = OrderStatus
Parcel = ShipmentStatus


@dataclass(frozen=True)
class Line:
    quantity: int
    quantity_shipped: int = 0
    quantity_cancelled: int = 0

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.quantity_shipped - self.quantity_cancelled


ALL_LEFT = (Line(2, 2), Line(1, 1))
SOME_LEFT = (Line(2, 2), Line(1, 0))
NONE_LEFT = (Line(2), Line(1))


@pytest.mark.parametrize(
    ("reported", "lines", "parcels", "recorded", "expected"),
    [
        # Nothing has left: the channel's word.
        (Status.PENDING, NONE_LEFT, [], None, Status.PENDING),
        (Status.ACCEPTED, NONE_LEFT, [], None, Status.ACCEPTED),
        (Status.CANCELLED, NONE_LEFT, [], None, Status.CANCELLED),
        # Delivered by our parcels: no channel report lagging behind undoes it.
        (
            Status.PARTIALLY_SHIPPED,
            ALL_LEFT,
            [Parcel.DELIVERED, Parcel.DELIVERED],
            None,
            Status.DELIVERED,
        ),
        (Status.ACCEPTED, ALL_LEFT, [Parcel.DELIVERED], None, Status.DELIVERED),
        (Status.SHIPPED, ALL_LEFT, [Parcel.DELIVERED], None, Status.DELIVERED),
        (
            Status.SHIPPED,
            SOME_LEFT,
            [Parcel.DELIVERED],
            None,
            Status.DELIVERED,
        ),  # the channel: all left
        (
            Status.CANCELLED,
            ALL_LEFT,
            [Parcel.DELIVERED],
            None,
            Status.DELIVERED,
        ),  # the goods arrived
        # Not every parcel delivered, or not all of the order left: not delivered.
        (
            Status.PARTIALLY_SHIPPED,
            ALL_LEFT,
            [Parcel.DELIVERED, Parcel.IN_TRANSIT],
            None,
            Status.SHIPPED,
        ),
        (
            Status.SHIPPED,
            ALL_LEFT,
            [Parcel.DELIVERED, Parcel.RETURNED_TO_SENDER],
            None,
            Status.SHIPPED,
        ),
        (Status.ACCEPTED, SOME_LEFT, [Parcel.DELIVERED], None, Status.PARTIALLY_SHIPPED),
        (Status.ACCEPTED, ALL_LEFT, [], None, Status.SHIPPED),  # the channel shipped it all itself
        # A cancellation releases what has not left, unless the order was delivered.
        (Status.CANCELLED, SOME_LEFT, [Parcel.LABEL_CREATED], None, Status.CANCELLED),
        (Status.CANCELLED, ALL_LEFT, [Parcel.IN_TRANSIT], None, Status.CANCELLED),
        # The channel knows of a delivery before our parcels do.
        (Status.DELIVERED, SOME_LEFT, [], None, Status.DELIVERED),
        (Status.DELIVERED, ALL_LEFT, [Parcel.LABEL_CREATED], None, Status.DELIVERED),
        # A return is final.
        (Status.RETURNED, ALL_LEFT, [Parcel.DELIVERED], None, Status.RETURNED),
        (Status.SHIPPED, ALL_LEFT, [Parcel.DELIVERED], Status.RETURNED, Status.RETURNED),
        (Status.ACCEPTED, NONE_LEFT, [], Status.RETURNED, Status.RETURNED),
        # What shipped, shipped: a re-read that has not heard of our parcels.
        (
            Status.ACCEPTED,
            SOME_LEFT,
            [Parcel.LABEL_CREATED],
            Status.PARTIALLY_SHIPPED,
            Status.PARTIALLY_SHIPPED,
        ),
        (Status.PENDING, ALL_LEFT, [Parcel.IN_TRANSIT], Status.SHIPPED, Status.SHIPPED),
        # Cancelled units count as gone.
        (
            Status.PARTIALLY_SHIPPED,
            (Line(2, 1, 1), Line(1, 0, 1)),
            [Parcel.DELIVERED],
            None,
            Status.DELIVERED,
        ),
    ],
)
def test_the_precedence(
    reported: OrderStatus,
    lines: tuple[Line, ...],
    parcels: list[ShipmentStatus],
    recorded: OrderStatus | None,
    expected: OrderStatus,
) -> None:
    assert derive_order_status(reported, lines, parcels, recorded=recorded) == expected


# -- the hub's paths: the stored status stands for the channel's report ----------------

_PROGRESS = [
    Parcel.IN_TRANSIT,
    Parcel.OUT_FOR_DELIVERY,
    Parcel.EXCEPTION,
    Parcel.DELIVERED,
    Parcel.RETURNED_TO_SENDER,
]
_REPORTS = [
    Status.PENDING,
    Status.ACCEPTED,
    Status.PARTIALLY_SHIPPED,
    Status.SHIPPED,
    Status.CANCELLED,
    Status.DELIVERED,
]


@st.composite
def reported_orders(draw: st.DrawFn) -> tuple[OrderStatus, tuple[Line, ...]]:
    """A report the channel could make, with its lines (shipped ones if it says shipped)."""
    reported = draw(st.sampled_from(_REPORTS))
    lines = []
    for quantity in draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)):
        cancelled = draw(st.integers(0, quantity))
        shipped = draw(st.integers(0, quantity - cancelled))
        if reported == Status.SHIPPED:
            shipped = quantity - cancelled
        lines.append(Line(quantity, shipped, cancelled))
    return reported, tuple(lines)


@dataclass(frozen=True)
class HubStep:
    ship: bool
    line: int
    parcel: int
    to: ShipmentStatus


hub_steps = st.lists(
    st.builds(
        HubStep, st.booleans(), st.integers(0, 2), st.integers(0, 5), st.sampled_from(_PROGRESS)
    ),
    max_size=10,
)


def _forward(
    lines: tuple[Line, ...], parcels: list[ShipmentStatus], step: HubStep, stored: OrderStatus
) -> tuple[tuple[Line, ...], list[ShipmentStatus]]:
    """What the hub may do next: ship open units (not of a cancelled or returned order:
    record_shipment refuses), or move a parcel on (delivered and returned are final)."""
    if step.ship:
        index = step.line % len(lines)
        line = lines[index]
        if not line.open_quantity or stored in (Status.CANCELLED, Status.RETURNED):
            return lines, parcels
        shipped = replace(line, quantity_shipped=line.quantity_shipped + 1)
        return (*lines[:index], shipped, *lines[index + 1 :]), [*parcels, Parcel.LABEL_CREATED]
    if not parcels:
        return lines, parcels
    index = step.parcel % len(parcels)
    if parcels[index] in (Parcel.DELIVERED, Parcel.RETURNED_TO_SENDER):
        return lines, parcels
    return lines, [*parcels[:index], step.to, *parcels[index + 1 :]]


@given(report=reported_orders(), steps=hub_steps)
def test_rederiving_from_the_stored_status_gives_what_the_report_gives(
    report: tuple[OrderStatus, tuple[Line, ...]], steps: list[HubStep]
) -> None:
    reported, lines = report
    parcels: list[ShipmentStatus] = []
    stored = derive_order_status(reported, lines, parcels)
    for step in steps:
        lines, parcels = _forward(lines, parcels, step, stored)
        stored = derive_order_status(stored, lines, parcels)
        assert stored == derive_order_status(reported, lines, parcels), (step, lines, parcels)
        all_left = all(line.open_quantity == 0 for line in lines)
        if all_left and parcels and all(parcel == Parcel.DELIVERED for parcel in parcels):
            assert stored == Status.DELIVERED
