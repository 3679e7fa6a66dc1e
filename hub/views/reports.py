"""Sales over a period, for the console's reports screen: orders and units per channel
per day, and the products that sold the most units. Each is one grouped query over the
orders placed in the period (orders.placed_at is indexed), however large the catalogue.

What counts: every order placed in the period except those cancelled; its units are
the units ordered less those cancelled. Days are UTC days, grouped in the database
(`UtcDay`: SQLite's date(), PostgreSQL's date in UTC, whatever the session's zone).
Top products are the hub SKUs of the lines; lines bound to no hub SKU are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, func, select

from omnisync.core.models import Channel, Order, OrderLine, Sku
from omnisync.core.types import OrderStatus

TOP_PRODUCTS = 10


class UtcDay(FunctionElement[str]):
    """The UTC day of a stored time, as `YYYY-MM-DD` text, on SQLite and PostgreSQL."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(UtcDay, "sqlite")
def _sqlite_day(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC times as `YYYY-MM-DD HH:MM:SS[.ffffff]` text.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _postgres_day(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # A literal format, not a bound one: the same text in SELECT and GROUP BY.
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM-DD')"


@compiles(UtcDay)
def _any_day(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@dataclass(frozen=True)
class DaySales:
    day: str
    """The UTC day, `YYYY-MM-DD`."""
    channel: str
    orders: int
    units: int


@dataclass(frozen=True)
class ProductSales:
    sku: str
    title: str
    units: int
    orders: int


def _sold_in(since: datetime, until: datetime) -> tuple[Any, ...]:
    return (
        col(Order.placed_at) >= since,
        col(Order.placed_at) <= until,
        col(Order.status) != OrderStatus.CANCELLED,
    )


def sales_by_day(session: Session, since: datetime, until: datetime) -> list[DaySales]:
    """Orders and units per UTC day and channel, of the orders placed from `since` up to
    `until`; by day, then channel name. Days and channels without an order are absent."""
    day = UtcDay(Order.placed_at)
    units = func.coalesce(func.sum(OrderLine.quantity - OrderLine.quantity_cancelled), 0)
    rows = session.exec(
        select(day, Channel.name, func.count(func.distinct(Order.id)), units)
        .select_from(Order)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .outerjoin(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(*_sold_in(since, until))
        .group_by(day, col(Channel.name))
        .order_by(day, col(Channel.name))
    ).all()
    return [DaySales(str(d), name, int(orders), int(sold)) for d, name, orders, sold in rows]


def top_products(
    session: Session, since: datetime, until: datetime, *, limit: int = TOP_PRODUCTS
) -> list[ProductSales]:
    """The hub SKUs that sold the most units in the period, most first (then by code)."""
    units = func.sum(OrderLine.quantity - OrderLine.quantity_cancelled)
    best = (
        select(
            col(OrderLine.sku_id).label("sku_id"),
            units.label("units"),
            func.count(func.distinct(Order.id)).label("orders"),
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(*_sold_in(since, until), col(OrderLine.sku_id).is_not(None))
        .group_by(col(OrderLine.sku_id))
        .having(units > 0)
        .order_by(units.desc(), col(OrderLine.sku_id))
        .limit(limit)
        .subquery()
    )
    rows = session.exec(
        select(Sku.code, Sku.title, best.c.units, best.c.orders)
        .join(best, best.c.sku_id == Sku.id)
        .order_by(best.c.units.desc(), col(Sku.code))
    ).all()
    return [
        ProductSales(code, title or "", int(sold), int(orders))
        for code, title, sold, orders in rows
    ]
