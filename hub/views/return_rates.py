"""Return rates over a period (`omnisync report returns`), per channel and per SKU.

The period picks orders by when they were placed, and every figure is of those orders:
the units of them that shipped, the units of them asked back in returns that were not
declined or cancelled (such a return brought nothing back and never will), and the
units of them that came back (restocked or damaged). So the rate, units returned over
units shipped, compares the same units and never passes 1, whenever a return
arrives; a return of an order placed before the period counts in the period its order
was placed in. Every figure is read with grouped queries, a fixed number however many
orders the period holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import null
from sqlalchemy import select as sa_select  # sqlmodel's select takes at most 4 columns
from sqlmodel import Session, col, func, select

from omnisync.core.clock import iso
from omnisync.core.models import Channel, Order, OrderLine, Return, ReturnLine, Sku
from omnisync.hub.views.returns import LIVE_ENDINGS
from omnisync.hub.views.shapes import ReturnRateOut, ReturnsReportOut

RATE_OF = (
    "units returned / units shipped, of the orders placed in the period "
    "(returns declined or cancelled are left out)"
)


@dataclass
class _Figures:
    orders_shipped: int = 0
    units_shipped: int = 0
    units_returned: int = 0
    units_received: int = 0
    units_restocked: int = 0
    units_damaged: int = 0

    def add(self, other: _Figures) -> None:
        """Add the unit counts of `other` (orders are counted apart: an order spans SKUs)."""
        self.units_shipped += other.units_shipped
        self.units_returned += other.units_returned
        self.units_received += other.units_received
        self.units_restocked += other.units_restocked
        self.units_damaged += other.units_damaged

    def shape(self, channel: str | None, sku: str | None) -> ReturnRateOut:
        rate = round(self.units_returned / self.units_shipped, 4) if self.units_shipped else None
        return ReturnRateOut(
            channel=channel,
            sku=sku,
            orders_shipped=self.orders_shipped,
            units_shipped=self.units_shipped,
            units_returned=self.units_returned,
            units_received=self.units_received,
            units_restocked=self.units_restocked,
            units_damaged=self.units_damaged,
            return_rate=rate,
        )


def returns_report(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    channel: str | None = None,
    per_sku: bool = True,
) -> ReturnsReportOut:
    """The figures of the orders placed from `since` up to `until`, on `channel` or all;
    without `per_sku`, the channels' and the total only (`skus` is empty)."""
    period: list[Any] = [col(Order.placed_at) >= since, col(Order.placed_at) <= until]
    sku_column: Any = col(OrderLine.sku_id) if per_sku else null()
    sku_group = (col(OrderLine.sku_id),) if per_sku else ()
    if channel is not None:
        period.append(Channel.name == channel)
    by_sku: dict[tuple[str, int | None], _Figures] = defaultdict(_Figures)
    shipped_lines = [*period, col(OrderLine.quantity_shipped) > 0]
    for name, sku_id, orders, units in session.exec(
        select(
            Channel.name,
            sku_column,
            func.count(func.distinct(Order.id)),
            func.sum(OrderLine.quantity_shipped),
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .where(*shipped_lines)
        .group_by(col(Channel.name), *sku_group)
    ):
        figures = by_sku[(name, sku_id)]
        figures.orders_shipped, figures.units_shipped = int(orders), int(units)
    for name, sku_id, asked, restocked, damaged in session.execute(
        sa_select(
            col(Channel.name),
            sku_column,
            func.sum(ReturnLine.quantity),
            func.sum(ReturnLine.quantity_restocked),
            func.sum(ReturnLine.quantity_damaged),
        )
        .join(Return, col(Return.id) == ReturnLine.return_id)
        .join(OrderLine, col(OrderLine.id) == ReturnLine.order_line_id)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .where(*period, col(Return.status).notin_(LIVE_ENDINGS))
        .group_by(col(Channel.name), *sku_group)
    ):
        figures = by_sku[(name, sku_id)]
        figures.units_returned = int(asked)
        figures.units_restocked, figures.units_damaged = int(restocked), int(damaged)
        figures.units_received = int(restocked) + int(damaged)
    orders_by_channel = (
        dict(
            session.exec(
                select(Channel.name, func.count(func.distinct(Order.id)))
                .join(Order, col(Order.channel_id) == Channel.id)
                .join(OrderLine, col(OrderLine.order_id) == Order.id)
                .where(*shipped_lines)
                .group_by(col(Channel.name))
            ).all()
        )
        if per_sku
        else {name: figures.orders_shipped for (name, _), figures in by_sku.items()}
    )
    total = _Figures(orders_shipped=sum(int(count) for count in orders_by_channel.values()))
    channels: dict[str, _Figures] = {}
    for (name, _), figures in by_sku.items():
        per_channel = channels.setdefault(
            name, _Figures(orders_shipped=int(orders_by_channel.get(name, 0)))
        )
        per_channel.add(figures)
        total.add(figures)
    codes = _sku_codes(session, {sku_id for _, sku_id in by_sku if sku_id is not None})
    sku_rows = (
        []
        if not per_sku
        else sorted(
            (
                (name, codes.get(sku_id) if sku_id is not None else None, figures)
                for (name, sku_id), figures in by_sku.items()
            ),
            key=lambda row: (row[0], row[1] is None, row[1] or ""),
        )
    )
    return ReturnsReportOut(
        since=iso(since),
        until=iso(until),
        rate_of=RATE_OF,
        total=total.shape(None, None),
        channels=[channels[name].shape(name, None) for name in sorted(channels)],
        skus=[figures.shape(name, code) for name, code, figures in sku_rows],
    )


def _sku_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(sorted(ids)))).all()
    return {sku_id: code for sku_id, code in rows if sku_id is not None}
