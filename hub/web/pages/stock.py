"""The stock screen.

- `/stock`: one search box (SKU code or barcode, whole or its beginning; a word of the
  title), paged by SKU code; `?low=1` lists the SKUs under their low-stock line
  (hub/views/low_stock.py) instead.
- `/stock/{sku}` (the code may hold `/`): levels per location with the bin, what each
  channel may offer with the rule that produced it (hub/views/availability_steps.py)
  and what it last acknowledged (a live part), the movements newest first with a chart
  of on hand over the last days; for operators, adjust and count forms and the
  low-stock line.

Adjust and count are core/ledger.py's, as `omnisync stock adjust` and the API's: one
transaction writes the movement, marks the listings dirty (the channels are pushed to
within a second) and records who did it (`record_action`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from omnisync.core.catalog import bundle_recipes, location_by_code, sku_by_code
from omnisync.core.clock import clock_of
from omnisync.core.db import run_in_transaction
from omnisync.core.errors import DomainError, InvalidRequest
from omnisync.core.ledger import adjust_stock, count_stock
from omnisync.core.models import Channel, Listing, Location, Sku
from omnisync.core.redaction import redact
from omnisync.core.types import UserRole
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import decode_cursor
from omnisync.hub.views import stock_list
from omnisync.hub.views.availability_steps import explain_availability
from omnisync.hub.views.low_stock import LowStockRow, low_stock_rows
from omnisync.hub.views.shapes import StockOut
from omnisync.hub.views.stock_history import movement_page, on_hand_by_day
from omnisync.hub.views.stock_search import MAX_SEARCH, search_skus
from omnisync.hub.web.charts import line_chart
from omnisync.hub.web.dependencies import ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

FRAGMENT_HEADER = "X-Omnisync-Fragment"
CHART_DAYS = 30
ACKNOWLEDGED_LISTINGS = 50
"""The SKU page names at most this many of its listings (a SKU has one or two per channel)."""
MAX_UNITS = 1_000_000_000

SearchText = Annotated[str, Query(max_length=MAX_SEARCH)]
Cursor = Annotated[str | None, Query(max_length=400)]


@dataclass(frozen=True)
class StockRow:
    """One line of the stock list."""

    code: str
    title: str
    barcode: str | None
    bundle: bool
    retired: bool
    on_hand: int | None
    reserved: int | None
    free: int
    channels: Sequence[tuple[str, int]]
    low: LowStockRow | None = None


def sku_path(code: str) -> str:
    return f"/stock/{quote(code, safe='')}"


@router.get("/stock")
def stock_page(
    request: Request,
    me: ConsoleUser,
    session: Reading,
    q: SearchText = "",
    low: bool = False,
    cursor: Cursor = None,
) -> Response:
    after = None if cursor is None else str(decode_cursor(cursor, str)[0])
    lows: dict[str, LowStockRow] = {}
    if low:
        found = low_stock_rows(session, limit=PAGE_SIZE + 1, after_code=after)
        shown_low, next_url = console_page(found, PAGE_SIZE, request, lambda row: (row.code,))
        lows = {row.code: row for row in shown_low}
        skus = list(
            session.exec(select(Sku).where(col(Sku.code).in_(list(lows))).order_by(col(Sku.code)))
        )
    else:
        matches = search_skus(session, q, limit=PAGE_SIZE + 1, after_code=after)
        shown, next_url = console_page(matches, PAGE_SIZE, request, lambda sku: (sku.code,))
        skus = list(shown)
    stock = stock_list(session, skus)
    rows = [
        _stock_row(sku, levels, lows.get(sku.code)) for sku, levels in zip(skus, stock, strict=True)
    ]
    channels = [entry.channel for entry in stock[0].channels] if stock else []
    return render(
        request,
        me,
        "stock_list.html",
        {"rows": rows, "channels": channels, "q": q, "low": low, "next_url": next_url},
    )


def _stock_row(sku: Sku, stock: StockOut, low: LowStockRow | None) -> StockRow:
    return StockRow(
        code=sku.code,
        title=sku.title,
        barcode=sku.barcode,
        bundle=stock.bundle,
        retired=sku.retired_at is not None,
        on_hand=None if stock.bundle else sum(level.on_hand for level in stock.locations),
        reserved=None if stock.bundle else sum(level.reserved for level in stock.locations),
        free=stock.free_total,
        channels=[(entry.channel, entry.available) for entry in stock.channels],
        low=low,
    )


@router.get("/stock/{sku:path}")
def sku_page(
    request: Request,
    me: ConsoleUser,
    session: Reading,
    context: Context,
    sku: str,
    cursor: Cursor = None,
) -> Response:
    owner = sku_by_code(session, sku)
    assert owner.id is not None
    (stock,) = stock_list(session, [owner])
    channels = _channel_values(session, owner, stock, context)
    if request.headers.get(FRAGMENT_HEADER):
        return render(request, me, "stock_sku_channels.html", channels)
    before = None if cursor is None else int(decode_cursor(cursor, int)[0])
    found = movement_page(session, owner, limit=PAGE_SIZE + 1, before_id=before)
    movements, next_url = console_page(found, PAGE_SIZE, request, lambda row: (row.id,))
    bins = {row.location: row.bin for row in stock.bins}
    recipe = bundle_recipes(session, [owner.id]).get(owner.id, [])
    codes = dict(
        session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_([c for c, _ in recipe]))).all()
    )
    current = context.settings()
    return render(
        request,
        me,
        "stock_sku.html",
        {
            **channels,
            "sku": owner,
            "stock": stock,
            "bins": bins,
            "components": [(codes.get(c, "?"), quantity) for c, quantity in recipe],
            "movements": movements,
            "next_url": next_url,
            "chart": _chart(session, owner) if (movements or cursor) else None,
            "locations": list(session.exec(select(Location.code).order_by(col(Location.id)))),
            "default_location": current.default_location if current is not None else "",
            "page_url": sku_path(owner.code),
            "can_change": me.actor.may(UserRole.OPERATOR),
        },
    )


def _channel_values(
    session: Session, sku: Sku, stock: StockOut, context: ApiContext
) -> dict[str, Any]:
    """The live part: each channel's figure and its steps, and the channels' last word."""
    names = [entry.channel for entry in stock.channels]
    channels = list(session.exec(select(Channel).where(col(Channel.name).in_(names))))
    explained = {row.channel: row for row in explain_availability(session, sku, channels)}
    secrets = context.secrets()
    listings = [
        {
            "channel": name,
            "listing": listing.channel_sku,
            "acknowledged": listing.last_ack_quantity,
            "acknowledged_at": listing.last_ack_at,
            "dirty": listing.dirty,
            "error": redact(listing.last_error, secrets) if listing.last_error else None,
            "seen": listing.seen_quantity,
            "untracked": listing.untracked_stock,
        }
        for listing, name in session.exec(
            select(Listing, Channel.name)
            .join(Channel, col(Channel.id) == Listing.channel_id)
            .where(Listing.sku_id == sku.id)
            .order_by(col(Channel.name), col(Listing.channel_sku))
            .limit(ACKNOWLEDGED_LISTINGS)
        )
    ]
    return {
        "availability": [(entry, explained.get(entry.channel)) for entry in stock.channels],
        "listings": listings,
        "fragment_url": sku_path(sku.code),
    }


def _chart(session: Session, sku: Sku) -> Any:
    points = on_hand_by_day(session, sku, days=CHART_DAYS, today=clock_of(session).now().date())
    return line_chart(
        {"On hand": [float(units) for _, units in points]},
        [day.strftime("%m-%d") for day, _ in points],
        title=f"On hand of {sku.code}, last {CHART_DAYS} days",
    )


def _whole(form_value: str, what: str, *, minimum: int | None = None) -> int:
    try:
        number = int(form_value)
    except ValueError:
        raise InvalidRequest(f"{what}: a whole number, please (got {form_value!r})") from None
    if abs(number) > MAX_UNITS:
        raise InvalidRequest(f"{what}: at most {MAX_UNITS:,} units")
    if minimum is not None and number < minimum:
        raise InvalidRequest(f"{what}: at least {minimum}")
    return number


def _change(context: ApiContext, back: str, work: Callable[[Session], str]) -> Response:
    """Run `work` in one transaction (again if the database asks); its words, or the
    refusal's, are shown on `back`. A refusal changes nothing."""
    try:
        message = run_in_transaction(context.sync.database, work)
    except DomainError as error:
        return redirect(back, redact(str(error), context.secrets()), error=True)
    return redirect(back, message)


def _location(session: Session, context: ApiContext, code: str) -> Location:
    if not code:
        current = context.settings()
        if current is None:
            raise InvalidRequest("choose a location")
        code = current.default_location
    return location_by_code(session, code)


def _reason(form_value: str) -> str:
    if not form_value:
        raise InvalidRequest("give a reason: it goes into the movement history")
    return form_value[:500]


@router.post("/stock/{sku:path}/adjust")
def adjust(sku: str, me: Operator, form: PostedForm, context: Context) -> Response:
    def work(session: Session) -> str:
        delta = _whole(text(form, "delta"), "change")
        reason = _reason(text(form, "reason"))
        owner = sku_by_code(session, sku)
        location = _location(session, context, text(form, "location"))
        movement = adjust_stock(session, owner, location, delta, reason=reason)
        record_action(
            session,
            me.actor,
            "stock.adjust",
            f"{owner.code} at {location.code}",
            {"delta": delta, "reason": reason, "movement": movement.id},
        )
        return f"{owner.code} at {location.code}: {delta:+d} ({reason})."

    return _change(context, sku_path(sku), work)


@router.post("/stock/{sku:path}/count")
def count(sku: str, me: Operator, form: PostedForm, context: Context) -> Response:
    def work(session: Session) -> str:
        counted = _whole(text(form, "counted"), "counted", minimum=0)
        reason = _reason(text(form, "reason"))
        owner = sku_by_code(session, sku)
        location = _location(session, context, text(form, "location"))
        movement = count_stock(session, owner, location, counted, reason=reason)
        record_action(
            session,
            me.actor,
            "stock.count",
            f"{owner.code} at {location.code}",
            {
                "counted": counted,
                "delta": movement.delta,
                "reason": reason,
                "movement": movement.id,
            },
        )
        return f"{owner.code} at {location.code}: counted {counted} ({movement.delta:+d})."

    return _change(context, sku_path(sku), work)


@router.post("/stock/{sku:path}/threshold")
def threshold(sku: str, me: Operator, form: PostedForm, context: Context) -> Response:
    def work(session: Session) -> str:
        given = text(form, "low_stock_below")
        below = None if given == "" else _whole(given, "low-stock line", minimum=0)
        owner = sku_by_code(session, sku)
        before = owner.low_stock_below
        owner.low_stock_below = below
        session.add(owner)
        record_action(
            session,
            me.actor,
            "stock.threshold",
            owner.code,
            {"low_stock_below": below, "was": before},
        )
        if below is None:
            return f"{owner.code}: low when free units fall under its safety stock."
        return f"{owner.code}: low when free units fall under {below}."

    return _change(context, sku_path(sku), work)
