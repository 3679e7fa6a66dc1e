"""Low stock: the SKUs whose free units (on hand minus reserved, summed over every
location) are under their threshold, for the console's "needs action" home and its
`/stock?low=1` list.

A SKU's threshold is its own `low_stock_below` when set, else its safety stock (only when
that is above 0); a SKU with neither is never low. Retired SKUs are left out, and so are
bundles: they hold no stock of their own (their components do, and are listed when low).

All in SQL, never Python over the catalogue: the count is one GROUP BY ... HAVING over
the SKUs with a threshold and their stock levels; a page walks the SKU codes in order
and stops at its last row (see `low_stock_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select
from sqlmodel import Session

from omnisync.core.models.catalog import BundleComponent, Sku
from omnisync.core.models.stock import StockLevel
from omnisync.core.models.tables import table_of

Threshold = Literal["low_stock_below", "safety_stock"]


@dataclass(frozen=True)
class LowStockRow:
    """One SKU under its threshold: how many units are free and which threshold it is under."""

    code: str
    title: str
    free: int
    threshold: int
    which: Threshold


_SKUS = table_of(Sku)
_LEVELS = table_of(StockLevel)
_BUNDLES = table_of(BundleComponent)

_FREE = func.coalesce(func.sum(_LEVELS.c.on_hand - _LEVELS.c.reserved), 0)
_THRESHOLD = func.coalesce(_SKUS.c.low_stock_below, _SKUS.c.safety_stock)


def _counted() -> Any:
    """SKUs that may be low: not retired, with a threshold, not a bundle."""
    return and_(
        _SKUS.c.retired_at.is_(None),
        or_(_SKUS.c.low_stock_below.is_not(None), _SKUS.c.safety_stock > 0),
        ~exists().where(_BUNDLES.c.bundle_id == _SKUS.c.id),
    )


def low_stock_rows(
    session: Session, *, limit: int, after_code: str | None = None
) -> list[LowStockRow]:
    """Up to `limit` low SKUs in SKU-code order, from after `after_code` when given.

    The SKU's free units are a correlated sum over its stock levels (the unique index on
    sku_id, location_id finds them), so the query walks the SKU-code index from
    `after_code` and stops at `limit` low SKUs: a page costs what the SKUs before its
    last row cost, not the whole catalogue (a GROUP BY would sum every SKU first)."""
    free = select(_FREE).where(_LEVELS.c.sku_id == _SKUS.c.id).scalar_subquery().label("free")
    query = select(
        _SKUS.c.code, _SKUS.c.title, _SKUS.c.low_stock_below, _SKUS.c.safety_stock, free
    ).where(_counted(), free < _THRESHOLD)
    if after_code is not None:
        query = query.where(_SKUS.c.code > after_code)
    query = query.order_by(_SKUS.c.code).limit(max(limit, 0))
    rows: list[LowStockRow] = []
    for code, title, below, safety, units in session.connection().execute(query):
        if below is not None:
            rows.append(LowStockRow(code, title, int(units), int(below), "low_stock_below"))
        else:
            rows.append(LowStockRow(code, title, int(units), int(safety), "safety_stock"))
    return rows


def low_stock_count(session: Session) -> int:
    """How many SKUs are low (what `low_stock_rows` would list over every page)."""
    grouped = (
        select(_SKUS.c.id)
        .select_from(_SKUS.outerjoin(_LEVELS, _LEVELS.c.sku_id == _SKUS.c.id))
        .where(_counted())
        .group_by(_SKUS.c.id, _SKUS.c.low_stock_below, _SKUS.c.safety_stock)
        .having(_FREE < _THRESHOLD)
        .subquery()
    )
    count = session.connection().execute(select(func.count()).select_from(grouped)).scalar_one()
    return int(count)
