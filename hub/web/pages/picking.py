"""Pick & pack: /pick (pick lists) and /pack (the scan-to-pack screen).

- `/pick`: pick lists, open ones first, then the newest (paged by key); an operator makes
  one (`omnisync pick create`: core/picking.py create_pick_list), confirms it with the
  units not found on the shelf (`SKU:QTY` rows) or cancels it; `/pick/{id}` shows the walk
  in walking order and `/pick/{id}/print` the printable page (hub/views/picking.py
  pick_list_page, the one `GET /api/v1/pick-lists/{id}/html` serves).
- `/pack`: find an order by the number a packer scans or types (hub/order_lookup.py), or
  choose one of the orders ready to pack at a location; `/pack/{order_id}` is the scan
  screen. Each Enter-terminated code is one scan through core/packing.py `scan`, as
  `POST /api/v1/orders/{id}/pack` does (a packaging's barcode counts its quantity); a
  refused scan records nothing and is shown loudly. pack.js posts each scan with fetch
  and swaps the parcel's part of the page (`X-Omnisync-Fragment`); without it the form
  posts and is redirected back, the scan's result kept for one page in a cookie. Once
  packed: buy the label (hub/packing.py buy_parcel_label) or record the shipment by hand
  (hub/shipping.py ship_order) for the units scanned; or start over (reset).

Every change is an operator's and is recorded with record_action: each accepted scan in
its own transaction (a refused one leaves nothing, not even the record), a reset, a pick
list made, confirmed or cancelled, a shipment recorded; a label's record follows the
purchase (the carrier is asked between the hub's transactions, as the API does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from omnisync.connectors.base import Capability
from omnisync.connectors.registry import connector_for
from omnisync.core.db import run_in_transaction, transaction
from omnisync.core.errors import DomainError, InvalidRequest, NotFound
from omnisync.core.models import Channel, Location, Order, OrderLine, PickList, Reservation
from omnisync.core.packing import PackingState, ScanOutcome, ScanRefused, packing_state, reset, scan
from omnisync.core.picking import (
    MAX_ORDERS,
    PAID_STATUSES,
    cancel_pick_list,
    confirm_pick_list,
    create_pick_list,
    find_pick_list,
)
from omnisync.core.redaction import redact
from omnisync.core.shipping import lock_order
from omnisync.core.types import PickListState, ReservationState, UserRole
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import ApiContext, Context
from omnisync.hub.api.messages import PackLabelIn
from omnisync.hub.api.paging import BAD_CURSOR, decode_cursor
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.packing import buy_parcel_label, check_label_carrier, packing_order
from omnisync.hub.settings import Settings
from omnisync.hub.shipping import ShipRequest, carrier_channels, ship_order
from omnisync.hub.views.picking import pick_list_detail, pick_list_page, pick_list_summaries
from omnisync.hub.views.shapes import PickListOut
from omnisync.hub.web.dependencies import ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.identity import ConsoleIdentity
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

PickListId = Annotated[int, Path(ge=1, le=2**63 - 1)]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CursorParam = Annotated[str | None, Query(max_length=400)]
LocationParam = Annotated[str | None, Query(max_length=100)]
FRAGMENT_HEADER = "X-Omnisync-Fragment"
"""Sent by pack.js (and console.js): answer with the part of the page, not a redirect."""
SCAN_COOKIE = "omnisync_scan"
"""The last scan's result, shown once by the scan screen after a form post (no script)."""
MAX_CODE = 200
"""The longest code a scan takes (as POST /api/v1/orders/{id}/pack)."""
MAX_SHORT_ROWS = 500
LABEL_FORMATS = ("PDF", "ZPL")
STATE_KINDS = {PickListState.OPEN: "warn", PickListState.PICKED: "ok", PickListState.CANCELLED: ""}


# Pick lists


@router.get("/pick")
def pick_lists(
    request: Request, me: ConsoleUser, context: Context, cursor: CursorParam = None
) -> Response:
    with transaction(context.sync.database, read_only=True) as session:
        after = _pick_cursor(cursor)
        rows = _open_first(session, PAGE_SIZE + 1, after)
        shown, next_url = console_page(
            rows,
            PAGE_SIZE,
            request,
            lambda row: (0 if row.state == PickListState.OPEN else 1, row.id),
        )
        values = {
            "lists": shown,
            "next_url": next_url,
            "kinds": STATE_KINDS,
            "locations": _location_codes(session),
            "channels": _channel_names(session),
            "may_change": me.actor.may(UserRole.OPERATOR),
            "max_orders": MAX_ORDERS,
        }
    return render(request, me, "pick_lists.html", values)


@router.post("/pick")
def create_list(me: Operator, form: PostedForm, context: Context) -> Response:
    location = text(form, "location")
    channel = text(form, "channel") or None
    try:
        max_orders = _whole_number(text(form, "max_orders"), "max orders")
        with transaction(context.sync.database) as session:
            made = create_pick_list(
                session, location, channel=channel, max_orders=max_orders, by=me.actor.name
            )
            if made.pick_list is None:
                skipped = made.oversold_skipped
                left_out = f"; {skipped} oversold order(s) left out" if skipped else ""
                return redirect("/pick", f"Nothing to pick at {location}{left_out}.")
            detail = pick_list_detail(session, made.pick_list)
            record_action(
                session,
                me.actor,
                "pick.create",
                f"pick list {detail.id}",
                {
                    "location": location,
                    "channel": channel,
                    "max_orders": max_orders,
                    "orders": detail.orders,
                    "units": detail.units,
                },
            )
    except DomainError as error:
        return redirect("/pick", _said(context, error), error=True)
    skipped = made.oversold_skipped
    left_out = f"; {skipped} oversold order(s) left out" if skipped else ""
    return redirect(
        f"/pick/{detail.id}",
        f"Pick list {detail.id} at {detail.location}: {detail.orders} order(s), "
        f"{detail.units} unit(s) from {len(detail.rows)} bin stop(s){left_out}.",
    )


@router.get("/pick/{pick_list_id}")
def pick_list(
    request: Request, pick_list_id: PickListId, me: ConsoleUser, context: Context
) -> Response:
    with transaction(context.sync.database, read_only=True) as session:
        detail = pick_list_detail(session, find_pick_list(session, pick_list_id))
    values = {
        "pick_list": detail,
        "kinds": STATE_KINDS,
        "may_change": me.actor.may(UserRole.OPERATOR),
    }
    return render(request, me, "pick_detail.html", values)


@router.get("/pick/{pick_list_id}/print")
def print_pick_list(pick_list_id: PickListId, _me: ConsoleUser, context: Context) -> Response:
    """The printable page, as `GET /api/v1/pick-lists/{id}/html` serves it, for a session."""
    with transaction(context.sync.database, read_only=True) as session:
        detail = pick_list_detail(session, find_pick_list(session, pick_list_id))
    response = HTMLResponse(pick_list_page(detail))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    # Its print stylesheet is inline; it has no script and fetches nothing.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


@router.post("/pick/{pick_list_id}/confirm")
def confirm_list(
    pick_list_id: PickListId, me: Operator, form: PostedForm, context: Context
) -> Response:
    here = f"/pick/{pick_list_id}"
    try:
        shorts = read_shorts(text(form, "shorts"))

        def confirmed(session: Session) -> str:
            done = confirm_pick_list(session, pick_list_id, shorts)
            record_action(
                session, me.actor, "pick.confirm", f"pick list {pick_list_id}", {"shorts": shorts}
            )
            return done.pick_list.note or ""

        note = run_in_transaction(context.sync.database, confirmed)
    except DomainError as error:
        return redirect(here, _said(context, error), error=True)
    return redirect(here, f"Pick list {pick_list_id} picked" + (f": {note}." if note else "."))


@router.post("/pick/{pick_list_id}/cancel")
def cancel_list(
    pick_list_id: PickListId, me: Operator, _form: PostedForm, context: Context
) -> Response:
    here = f"/pick/{pick_list_id}"
    try:
        with transaction(context.sync.database) as session:
            cancel_pick_list(session, pick_list_id)
            record_action(session, me.actor, "pick.cancel", f"pick list {pick_list_id}")
    except DomainError as error:
        return redirect(here, _said(context, error), error=True)
    return redirect(here, f"Pick list {pick_list_id} cancelled: its units may go on another list.")


def read_shorts(written: str) -> dict[str, int]:
    """`SKU:QTY` rows (one a line, or separated by commas) as SKU -> units, a SKU named
    twice added up; InvalidRequest for a row that is not SKU:QTY."""
    shorts: dict[str, int] = {}
    rows = [row.strip() for line in written.splitlines() for row in line.split(",")]
    rows = [row for row in rows if row]
    if len(rows) > MAX_SHORT_ROWS:
        raise InvalidRequest(f"at most {MAX_SHORT_ROWS} shorts at once")
    for row in rows:
        sku, _, units = row.rpartition(":")
        sku = sku.strip()
        if not sku or not units.strip().isdigit() or int(units) < 1:
            raise InvalidRequest(f"{row!r} is not SKU:QTY (a SKU and a number of units, e.g. A:2)")
        shorts[sku] = shorts.get(sku, 0) + int(units)
    return shorts


def _pick_cursor(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    rank, row_id = decode_cursor(cursor, int, int)
    return int(rank), int(row_id)


def _open_first(session: Session, limit: int, after: tuple[int, int] | None) -> list[PickListOut]:
    """Open lists newest first, then the others newest first: each part read by the
    indexed state and the id, never more than `limit` rows."""
    rank, last_id = after if after is not None else (0, None)
    lists: list[PickList] = []
    if rank == 0:
        query = select(PickList).where(PickList.state == PickListState.OPEN)
        if last_id is not None:
            query = query.where(col(PickList.id) < last_id)
        lists += session.exec(query.order_by(col(PickList.id).desc()).limit(limit)).all()
        last_id = None
    if len(lists) < limit:
        query = select(PickList).where(PickList.state != PickListState.OPEN)
        if last_id is not None:
            query = query.where(col(PickList.id) < last_id)
        query = query.order_by(col(PickList.id).desc()).limit(limit - len(lists))
        lists += session.exec(query).all()
    return pick_list_summaries(session, lists)


# Packing


@dataclass(frozen=True)
class ScanResult:
    """What the last scan did, as the scan screen shows it."""

    ok: bool
    code: str
    message: str


@dataclass(frozen=True)
class ReadyOrder:
    order_id: int
    name: str
    channel: str
    placed_at: datetime
    ship_by: datetime | None
    packed: bool
    units: int


@router.get("/pack")
def pack_start(
    request: Request,
    me: ConsoleUser,
    context: Context,
    order: Annotated[str | None, Query(max_length=400)] = None,
    location: LocationParam = None,
    cursor: CursorParam = None,
) -> Response:
    """Find the order a packer scans (its number, the channel's id or `id:N`), or list
    the orders ready to pack at a location, oldest first."""
    problem: str | None = None
    answer = 200
    with transaction(context.sync.database, read_only=True) as session:
        if order is not None and order.strip():
            try:
                found, _ = find_order(session, order.strip())
                return redirect(f"/pack/{found.id}")
            except DomainError as error:
                problem = _said(context, error)
                answer = 404 if isinstance(error, NotFound) else 422
        locations = _location_codes(session)
        here = location if location in locations else (locations[0] if locations else None)
        rows: Sequence[ReadyOrder] = []
        next_url = None
        if here is not None:
            after = _time_cursor(cursor)
            ready = _ready_to_pack(session, here, PAGE_SIZE + 1, after)
            rows, next_url = console_page(
                ready, PAGE_SIZE, request, lambda row: (row.placed_at.isoformat(), row.order_id)
            )
    values = {
        "order": order or "",
        "problem": problem,
        "locations": locations,
        "location": here,
        "ready": rows,
        "next_url": next_url,
    }
    return render(request, me, "pack_start.html", values, status_code=answer)


@router.get("/pack/{order_id}")
def pack_order(
    request: Request,
    order_id: OrderId,
    me: ConsoleUser,
    context: Context,
    location: LocationParam = None,
) -> Response:
    state = packing_order(
        context.sync.database, f"{HUB_ID_PREFIX}{order_id}", location=location or None
    ).state(context.sync.database)
    result = _result_cookie(request, order_id)
    response = render(request, me, "pack_order.html", _pack_values(context, me, state, result))
    if SCAN_COOKIE in request.cookies:
        response.delete_cookie(SCAN_COOKIE, path="/pack")
    return response


@router.post("/pack/{order_id}/scan")
def pack_scan(
    request: Request, order_id: OrderId, me: Operator, form: PostedForm, context: Context
) -> Response:
    """One scan (the code a scanner typed before its Enter)."""
    location = text(form, "location") or None
    code = text(form, "code")
    result = scan_code(context, me, order_id, code, location)
    if request.headers.get(FRAGMENT_HEADER):
        state = packing_order(
            context.sync.database, f"{HUB_ID_PREFIX}{order_id}", location=location
        ).state(context.sync.database)
        return render(request, me, "_pack_state.html", _pack_values(context, me, state, result))
    response = redirect(_pack_url(order_id, location))
    response.set_cookie(
        SCAN_COOKIE,
        quote(json.dumps([order_id, result.ok, result.code, result.message])),
        max_age=60,
        httponly=True,
        samesite="lax",
        path="/pack",
    )
    return response


def scan_code(
    context: ApiContext, me: ConsoleIdentity, order_id: int, code: str, location: str | None
) -> ScanResult:
    """The scan in its own transaction with its record; a refused one changes nothing."""
    code = code[:MAX_CODE]

    def scanned(session: Session) -> ScanOutcome:
        order = session.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {HUB_ID_PREFIX}{order_id}")
        outcome = scan(session, order, code, actor=me.actor.name, location=location)
        record_action(
            session,
            me.actor,
            "pack.scan",
            f"order {outcome.state.order_name}",
            {
                "code": outcome.code,
                "sku": outcome.sku,
                "units": outcome.units,
                "location": location,
            },
        )
        return outcome

    try:
        outcome = run_in_transaction(context.sync.database, scanned)
    except ScanRefused as refused:
        return ScanResult(False, code, _said(context, refused))
    except DomainError as error:  # an order that cannot ship (on hold, nothing left)
        return ScanResult(False, code, _said(context, error))
    done = " — the parcel is packed" if outcome.packed_now else ""
    return ScanResult(
        True,
        outcome.code,
        f"{outcome.sku} +{outcome.units} ({outcome.scanned} of {outcome.needed}){done}",
    )


@router.post("/pack/{order_id}/reset")
def pack_reset(order_id: OrderId, me: Operator, form: PostedForm, context: Context) -> Response:
    location = text(form, "location") or None
    here = _pack_url(order_id, location)
    try:
        with transaction(context.sync.database) as session:
            order = session.get(Order, order_id)
            if order is None:
                raise NotFound(f"no order {HUB_ID_PREFIX}{order_id}")
            state = reset(session, order, location=location)
            record_action(
                session, me.actor, "pack.reset", f"order {state.order_name}", {"location": location}
            )
    except DomainError as error:
        return redirect(here, _said(context, error), error=True)
    return redirect(here, f"The scans of order {state.order_name} are cleared: start over.")


@router.post("/pack/{order_id}/label")
def pack_label(order_id: OrderId, me: Operator, form: PostedForm, context: Context) -> Response:
    """The label for the packed parcel's scanned units, as the pack API's `label` buys it."""
    location = text(form, "location") or None
    here = _pack_url(order_id, location)
    settings = context.settings()
    if settings is None:
        return redirect(here, "The hub's configuration is not loaded: no label.", error=True)
    try:
        body = _label_form(form)
    except ValidationError as invalid:
        return redirect(here, _invalid(invalid), error=True)
    except InvalidRequest as error:
        return redirect(here, _said(context, error), error=True)
    options = body.options()
    try:
        check_label_carrier(settings, options)
        state = _packed_state(context, order_id, location)
        outcome = buy_parcel_label(context.sync, settings, state, options, actor=me.actor.name)
    except DomainError as error:
        return redirect(here, _said(context, error), error=True)
    with transaction(context.sync.database) as session:
        record_action(
            session,
            me.actor,
            "pack.label",
            f"order {state.order_name}",
            {
                "carrier": outcome.carrier,
                "service": outcome.service,
                "tracking_number": outcome.tracking_number,
                "shipment": outcome.shipment_id,
                "location": location,
            },
        )
    where = f"; file {outcome.label_path}" if outcome.label_path else ""
    problem = f" ({outcome.file_error})" if outcome.file_error else ""
    return redirect(
        "/pack",
        _redacted(
            context,
            f"Order {state.order_name} shipped: {outcome.carrier} label "
            f"{outcome.tracking_number}{where}{problem}.",
        ),
    )


@router.post("/pack/{order_id}/ship")
def pack_ship(order_id: OrderId, me: Operator, form: PostedForm, context: Context) -> Response:
    """Record the packed parcel's shipment by hand (a label bought elsewhere)."""
    location = text(form, "location") or None
    here = _pack_url(order_id, location)
    settings = context.settings()
    if settings is None:
        return redirect(here, "The hub's configuration is not loaded: nothing shipped.", error=True)
    carrier, tracking = text(form, "carrier"), text(form, "tracking_number")
    if not carrier or not tracking:
        return redirect(here, "Give the carrier and the tracking number.", error=True)
    try:
        # The packed state is read in the shipment's own transaction: a scan or reset
        # made meanwhile cannot make it ship other units than those scanned.
        with transaction(context.sync.database) as session:
            state = _packed_state_in(session, order_id, location)
            units: dict[str, int] = {}
            for line in state.lines:
                sku = line.sku or line.channel_sku
                units[sku] = units.get(sku, 0) + line.scanned
            shipping = ShipRequest(
                order=f"{HUB_ID_PREFIX}{order_id}",
                carrier=carrier,
                tracking_number=tracking[:200],
                lines=units,
                service=text(form, "service")[:100] or None,
                tracking_url=text(form, "tracking_url")[:2000] or None,
            )
            shipment = ship_order(session, settings, shipping)
            record_action(
                session,
                me.actor,
                "pack.ship",
                f"order {state.order_name}",
                {
                    "carrier": carrier,
                    "tracking_number": shipping.tracking_number,
                    "shipment": shipment.id,
                    "units": units,
                },
            )
    except DomainError as error:
        return redirect(here, _said(context, error), error=True)
    return redirect(
        "/pack", f"Order {state.order_name} shipped: {carrier} {shipping.tracking_number}."
    )


def _packed_state(context: ApiContext, order_id: int, location: str | None) -> PackingState:
    state = packing_order(
        context.sync.database, f"{HUB_ID_PREFIX}{order_id}", location=location
    ).state(context.sync.database)
    return _packed(state)


def _packed_state_in(session: Session, order_id: int, location: str | None) -> PackingState:
    """The parcel's state read in the caller's transaction, as _packed_state checks it,
    with the order's row locked first (as every scan and reset does): none of them can
    change it before the caller's transaction ends."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {HUB_ID_PREFIX}{order_id}")
    order = lock_order(session, order)
    return _packed(packing_state(session, order, location=location))


def _packed(state: PackingState) -> PackingState:
    if not state.packed:
        raise InvalidRequest(f"order {state.order_name} is not packed yet: scan every unit first")
    return state


def _label_form(form: FormData) -> PackLabelIn:
    dimensions = text(form, "dimensions").lower().replace("\u00d7", "x")
    sides = [side.strip() for side in dimensions.split("x")] if dimensions else None
    if sides is not None and len(sides) != 3:
        raise InvalidRequest(f"dimensions {dimensions!r}: give them as LxWxH in cm, e.g. 30x20x10")
    return PackLabelIn.model_validate(
        {
            "carrier": text(form, "carrier"),
            "weight_kg": text(form, "weight_kg"),
            "dimensions_cm": sides,
            "service": text(form, "service") or None,
            "label_format": text(form, "label_format") or "PDF",
        }
    )


def _invalid(invalid: ValidationError) -> str:
    names = {"weight_kg": "weight", "dimensions_cm": "dimensions", "label_format": "format"}
    return "; ".join(
        f"{names.get(str(problem['loc'][0]), problem['loc'][0]) if problem['loc'] else 'form'}: "
        f"{problem['msg']}"
        for problem in invalid.errors()
    )


def _pack_values(
    context: ApiContext, me: ConsoleIdentity, state: PackingState, result: ScanResult | None
) -> dict[str, Any]:
    settings = context.settings()
    with transaction(context.sync.database, read_only=True) as session:
        order = session.get(Order, state.order_id)
        channel = session.get(Channel, order.channel_id) if order is not None else None
    places = sorted({place for line in state.lines for place in line.locations})
    return {
        "state": state,
        "order": order,
        "channel": channel.name if channel is not None else "",
        "result": result,
        "may_change": me.actor.may(UserRole.OPERATOR),
        "scanned_units": sum(line.scanned for line in state.lines),
        "needed_units": sum(line.needed for line in state.lines),
        "label_carriers": _label_carriers(settings),
        "carriers": [channel.name for channel in carrier_channels(settings)] if settings else [],
        "label_formats": LABEL_FORMATS,
        "split_at": places if len(places) > 1 or state.location else [],
    }


def _label_carriers(settings: Settings | None) -> list[str]:
    if settings is None:
        return []
    names = []
    for channel in carrier_channels(settings):
        connector = connector_for(channel.type)
        if (
            channel.enabled
            and connector is not None
            and Capability.LABELS in connector.capabilities
        ):
            names.append(channel.name)
    return names


def _result_cookie(request: Request, order_id: int) -> ScanResult | None:
    raw = request.cookies.get(SCAN_COOKIE)
    if not raw:
        return None
    try:
        kept, ok, code, message = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return None
    if kept != order_id:
        return None
    return ScanResult(bool(ok), str(code), str(message))


def _pack_url(order_id: int, location: str | None) -> str:
    return f"/pack/{order_id}" + (f"?{urlencode({'location': location})}" if location else "")


def _time_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    moment, row_id = decode_cursor(cursor, str, int)
    try:
        return datetime.fromisoformat(moment), int(row_id)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_CURSOR) from None


def _ready_to_pack(
    session: Session, location: str, limit: int, after: tuple[datetime, int] | None
) -> list[ReadyOrder]:
    """Paid orders holding stock at `location` that may ship: not on hold, not oversold,
    not fulfilled by their channel; oldest placed first, paged by (placed, id)."""
    place = session.exec(select(Location.id).where(Location.code == location)).first()
    if place is None:
        return []
    held_here = (
        select(Reservation.id)
        .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
        .where(
            col(OrderLine.order_id) == col(Order.id),
            Reservation.location_id == place,
            Reservation.state == ReservationState.ACTIVE,
            col(Reservation.quantity) > 0,
        )
        .exists()
    )
    query = (
        select(Order, Channel.name)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .where(
            col(Order.status).in_(PAID_STATUSES),
            col(Order.held_at).is_(None),
            col(Order.fulfilled_by_channel).is_(False),
            col(Order.oversold).is_(False),
            held_here,
        )
        .order_by(col(Order.placed_at), col(Order.id))
        .limit(limit)
    )
    if after is not None:
        moment, last_id = after
        query = query.where(
            or_(
                col(Order.placed_at) > moment,
                and_(col(Order.placed_at) == moment, col(Order.id) > last_id),
            )
        )
    rows = session.exec(query).all()
    ids = [order.id for order, _ in rows]
    units = dict(
        session.exec(
            select(
                OrderLine.order_id,
                func.sum(
                    OrderLine.quantity - OrderLine.quantity_shipped - OrderLine.quantity_cancelled
                ),
            )
            .where(col(OrderLine.order_id).in_(ids))
            .group_by(col(OrderLine.order_id))
        ).all()
    )
    return [
        ReadyOrder(
            order_id=order.id or 0,
            name=order.display_name or order.external_id,
            channel=channel,
            placed_at=order.placed_at,
            ship_by=order.ship_by,
            packed=order.packed_at is not None,
            units=int(units.get(order.id or 0, 0) or 0),
        )
        for order, channel in rows
    ]


# Shared


def _location_codes(session: Session) -> list[str]:
    return list(session.exec(select(Location.code).order_by(col(Location.id)).limit(200)).all())


def _channel_names(session: Session) -> list[str]:
    return list(session.exec(select(Channel.name).order_by(col(Channel.name)).limit(200)).all())


def _whole_number(written: str, what: str) -> int | None:
    if not written:
        return None
    if not written.isdigit():
        raise InvalidRequest(f"{what}: {written!r} is not a whole number")
    return int(written)


def _redacted(context: ApiContext, message: str) -> str:
    return redact(message, context.secrets())


def _said(context: ApiContext, error: Exception) -> str:
    """An error as a page says it: its own words, with every configured secret masked."""
    return _redacted(context, str(error))
