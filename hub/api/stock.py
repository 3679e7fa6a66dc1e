"""/api/v1/stock: levels, free totals and availability per channel by SKU code, and
stock adjustments (`omnisync stock show|adjust`).

An adjustment is one movement written in one transaction, which also marks the
SKU's listings dirty: the channels are pushed to within a second, as after any
stock change (core/outbox.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlmodel import col, select

from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.ledger import adjust_stock
from omnisync.core.models import Sku
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, Config, CurrentActor, Reading, Writing
from omnisync.hub.api.messages import AdjustmentIn, ErrorOut
from omnisync.hub.api.paging import CursorParam, Limit, decode_cursor, page
from omnisync.hub.views import movement_view, stock_list
from omnisync.hub.views.shapes import AdjustmentOut, StockOut

router = APIRouter(tags=["stock"])


@router.get("/stock", response_model=list[StockOut])
def list_stock(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Levels per location, free total and availability per channel, by SKU code."""
    query = select(Sku).order_by(col(Sku.code)).limit(limit + 1)
    if cursor is not None:
        query = query.where(col(Sku.code) > decode_cursor(cursor, str)[0])
    rows = stock_list(session, list(session.exec(query)))
    return clean(page(rows, limit, request, response, lambda row: (row.sku,)))


@router.get("/stock/{sku:path}", response_model=StockOut, responses={404: {"model": ErrorOut}})
def show_stock(sku: str, session: Reading, clean: Clean) -> Any:
    """One SKU: `omnisync stock show SKU --json`."""
    (row,) = stock_list(session, [sku_by_code(session, sku)])
    return clean(row)


@router.post(
    "/stock/adjustments",
    response_model=AdjustmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def adjust(
    body: AdjustmentIn, session: Writing, settings: Config, clean: Clean, actor: CurrentActor
) -> Any:
    """Change on hand by `delta` (`omnisync stock adjust`); the channels are pushed to
    within a second, as after any stock change."""
    location = location_by_code(session, body.location or settings.default_location)
    sku = sku_by_code(session, body.sku)
    movement = adjust_stock(session, sku, location, body.delta, reason=body.reason)
    record_action(
        session,
        actor,
        "stock.adjust",
        f"{sku.code} at {location.code}",
        {"delta": body.delta, "reason": body.reason},
    )
    (stock,) = stock_list(session, [sku])
    return clean(
        AdjustmentOut(movement=movement_view(movement, sku.code, location.code), stock=stock)
    )
