"""push_fulfilments: tell the channel an order came from that its parcels left.

Shipments are the outbox: record_shipment writes them pending in the
transaction that consumed the stock, and this job pushes those that are due,
oldest first. Each push carries a key stable per shipment, so a retry after a
lost answer or a crash never creates a second fulfilment on the channel. A
shipment the channel refuses keeps the channel's words, backs off, and never
blocks the others; throttling, outages and refused credentials stop the run
(the engine retries or pauses the channel) and leave the shipment pending. The
shipments of an order on hold (core/holds.py) wait, pending, until it is released.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from omnisync.connectors.base import PermanentError
from omnisync.core.db import transaction
from omnisync.core.dto import Fulfilment, FulfilmentLine, PushResult
from omnisync.core.models import Order, Shipment
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.push_rows import due, keep_outcome


def idempotency_key(shipment: Shipment) -> str:
    """The same for every push of one shipment: the channel creates its fulfilment once."""
    return f"omnisync-shipment-{shipment.id}"


def push_fulfilments(ctx: JobContext) -> None:
    for shipment, order_external_id in _due_shipments(ctx, ctx.now()):
        ctx.checkpoint()
        fulfilment = Fulfilment(
            order_external_id=order_external_id,
            lines=tuple(
                FulfilmentLine(external_line_id=line["external_line_id"], quantity=line["quantity"])
                for line in shipment.lines
            ),
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            service=shipment.service,
            idempotency_key=idempotency_key(shipment),
        )
        try:
            result = ctx.connector.push_fulfilment(fulfilment)
        except PermanentError as error:
            result = PushResult(key=order_external_id, ok=False, error=str(error))
        _record(ctx, shipment, result)


def _due_shipments(ctx: JobContext, now: datetime) -> list[tuple[Shipment, str]]:
    with transaction(ctx.engine, read_only=True) as session:
        rows = session.exec(
            select(Shipment, Order.external_id)
            .join(Order, col(Order.id) == Shipment.order_id)
            .where(
                Order.channel_id == ctx.channel_id,
                col(Order.held_at).is_(None),
                due(Shipment, now),
            )
            .order_by(col(Shipment.created_at), col(Shipment.id))
        ).all()
        return [(shipment, external_id) for shipment, external_id in rows]


def _record(ctx: JobContext, read: Shipment, result: PushResult) -> None:
    now = ctx.now()
    with transaction(ctx.engine) as session:
        shipment = session.get(Shipment, read.id, with_for_update=True)
        if shipment is None:
            return
        keep_outcome(shipment, result, now, ctx.channel.item_backoff)
        session.add(shipment)
    ctx.counts[RunCount.PUSHED if result.ok else RunCount.FAILED] += 1
