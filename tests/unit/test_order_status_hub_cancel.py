"""derive_order_status with an operator's cancellation in the hub (rule 3 of
core/order_status.py): no later report of the channel undoes it."""

from __future__ import annotations

import pytest

from omnisync.core.order_status import derive_order_status
from omnisync.core.types import OrderStatus, ShipmentStatus
from tests.unit.test_order_status import Line

Status = OrderStatus
CANCELLED_BEFORE_SHIPPING = (Line(2, 0, 2), Line(1, 0, 1))
CANCELLED_AFTER_ONE_LEFT = (Line(2, 1, 1), Line(1, 0, 1))


@pytest.mark.parametrize(
    ("reported", "lines", "parcels", "expected"),
    [
        # The channel was not told: it still says open; nothing had left.
        (Status.ACCEPTED, CANCELLED_BEFORE_SHIPPING, [], Status.CANCELLED),
        (Status.PENDING, CANCELLED_BEFORE_SHIPPING, [], Status.CANCELLED),
        (Status.CANCELLED, CANCELLED_BEFORE_SHIPPING, [], Status.CANCELLED),
        # A late report of delivery does not undo it either.
        (Status.DELIVERED, CANCELLED_BEFORE_SHIPPING, [], Status.CANCELLED),
        # Some units had left: what left is all that leaves.
        (
            Status.PARTIALLY_SHIPPED,
            CANCELLED_AFTER_ONE_LEFT,
            [ShipmentStatus.IN_TRANSIT],
            Status.SHIPPED,
        ),
        (Status.ACCEPTED, CANCELLED_AFTER_ONE_LEFT, [ShipmentStatus.IN_TRANSIT], Status.SHIPPED),
        (
            Status.ACCEPTED,
            CANCELLED_AFTER_ONE_LEFT,
            [ShipmentStatus.DELIVERED],
            Status.DELIVERED,
        ),
        # A return stays a return.
        (Status.RETURNED, CANCELLED_AFTER_ONE_LEFT, [], Status.RETURNED),
    ],
)
def test_a_hub_cancellation_stands_whatever_the_channel_reports(
    reported: OrderStatus,
    lines: tuple[Line, ...],
    parcels: list[ShipmentStatus],
    expected: OrderStatus,
) -> None:
    assert derive_order_status(reported, lines, parcels, cancelled_by_hub=True) == expected
