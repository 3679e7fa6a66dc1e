"""The warehouse and the carrier of `omnisync demo`: accepted orders leave with UPS.

While the buyers buy, a shipper takes a few accepted orders now and then, asks the
carrier simulator for a label and records the parcel with `ship_order` (what
`omnisync orders ship` does): the stock leaves, the fulfilment is queued for the
marketplace. The hub's scheduler pushes the fulfilments and polls UPS for tracking.
Parcels move one stage per `seconds_per_step`; at the end the demo waits for the
last parcel to arrive, and the last tracking run delivers them all.
"""

from __future__ import annotations

import random
import textwrap
import threading
import time
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.models import Channel, Order, Shipment, SyncRun, TrackingEvent
from omnisync.core.types import OrderStatus, PushState, ShipmentStatus, SyncRunStatus
from omnisync.hub.bootstrap import Hub
from omnisync.hub.shipping import ShipRequest, ship_order
from omnisync.sandbox.carriers import CarrierSimulator

CARRIER_CHANNEL: Final = "ups"
PROVIDER: Final = "ups"
SHIP_EVERY_S: Final = 0.5
SHIPPED_PER_ROUND: Final = 2
STAGES: Final = 3
"""Steps from a label to delivery: in transit, out for delivery, delivered."""


class DemoCarrier:
    """UPS on the carrier simulator, and the shipper that hands it parcels."""

    def __init__(self, seconds_per_step: float) -> None:
        self.seconds_per_step = seconds_per_step
        self.server = CarrierSimulator(
            name="carriers", seconds_per_step=seconds_per_step, rate=500, burst=500
        )
        self.refused = 0
        """Orders the shipper picked that could no longer ship (cancelled meanwhile)."""
        self.last_label = 0.0
        """When the last label was made (monotonic)."""

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def channel_file(self) -> str:
        credentials = "".join(
            f"  {field}: {value}\n" for field, value in self.server.credentials(PROVIDER).items()
        )
        return (
            textwrap.dedent(
                f"""\
            type: carrier
            provider: {PROVIDER}
            endpoint: {self.server.url}
            timeout_seconds: 5
            schedule: {{tracking: 1s}}
            credentials:
            """
            )
            + credentials
        )

    def ship_until(self, hub: Hub, stop: threading.Event, rnd: random.Random) -> None:
        while not stop.wait(SHIP_EVERY_S):
            self.ship_some(hub, rnd)

    def ship_some(self, hub: Hub, rnd: random.Random) -> None:
        with transaction(hub.engine, read_only=True) as session:
            accepted = list(
                session.exec(
                    select(Order.id).where(
                        Order.status == OrderStatus.ACCEPTED,
                        col(Order.fulfilled_by_channel).is_(False),
                    )
                )
            )
        for order_id in rnd.sample(accepted, min(SHIPPED_PER_ROUND, len(accepted))):
            number = self.server.create_shipment(provider=PROVIDER)
            self.last_label = time.monotonic()
            request = ShipRequest(
                order=str(order_id), carrier=CARRIER_CHANNEL, tracking_number=number
            )
            try:
                with transaction(hub.engine) as session:
                    ship_order(session, hub.settings, request)
            except DomainError:
                self.refused += 1  # cancelled or changed since it was read: not ours to ship

    def wait_for_deliveries(self, limit: float) -> None:
        """Until the last parcel has arrived (a few steps of the carrier's clock), at most
        `limit` seconds (a parcel still in transit then shows in the report)."""
        arrival = self.last_label + self.seconds_per_step * (STAGES + 0.5)
        time.sleep(min(max(arrival - time.monotonic(), 0.0), limit))


def shipping_per_channel(session: Session) -> dict[str, tuple[int, int]]:
    """Per marketplace channel: parcels shipped, parcels delivered."""
    rows = session.exec(
        select(Channel.name, Shipment.status, func.count(col(Shipment.id)))
        .join(Order, col(Order.id) == Shipment.order_id)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .group_by(col(Channel.name), col(Shipment.status))
    ).all()
    counts: dict[str, tuple[int, int]] = {}
    for name, status, count in rows:
        shipped, delivered = counts.get(name, (0, 0))
        delivered_now = count if status == ShipmentStatus.DELIVERED else 0
        counts[name] = (shipped + count, delivered + delivered_now)
    return counts


def shipping_report(session: Session, carrier: DemoCarrier) -> dict[str, Any]:
    def count(query: Any) -> int:
        return int(session.exec(query).one())

    parcels = select(func.count(col(Shipment.id)))
    return {
        "carrier": CARRIER_CHANNEL,
        "parcels": count(parcels),
        "delivered": count(parcels.where(Shipment.status == ShipmentStatus.DELIVERED)),
        "fulfilments_pushed": count(parcels.where(Shipment.push_state == PushState.PUSHED)),
        "fulfilments_failed": count(parcels.where(Shipment.push_state == PushState.FAILED)),
        "orders_shipped": count(select(func.count(func.distinct(col(Shipment.order_id))))),
        "orders_delivered": count(
            select(func.count(col(Order.id))).where(Order.status == OrderStatus.DELIVERED)
        ),
        "tracking_events": count(select(func.count(col(TrackingEvent.id)))),
        "tracking_errors": count(
            select(func.count(col(SyncRun.id))).where(
                SyncRun.job == "tracking", SyncRun.status == SyncRunStatus.FAILED
            )
        ),
        "refused": carrier.refused,
    }
