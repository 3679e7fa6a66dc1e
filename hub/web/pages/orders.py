"""The orders screens: `/orders` (filters: channel, status, oversold, ready to ship, late,
placed from/to, an order number or id; newest placed first, paged by key) and
`/orders/{id}` (lines, reservations per location, the route and its reason, parcels with
their tracking timeline, returns) with what an operator does to an order.

Each action calls what its API route calls (hub/api/orders.py, labels.py, returns.py)
and records who did it (`record_action`) in the same transaction; a refusal of the
domain (unknown order, a hold, a carrier that cannot be reached...) comes back to the
order's page as the error message, with nothing changed. A label is bought outside any
transaction, as the API buys it (hub/labels.py): its record follows the purchase.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.channels import selling_locations
from omnisync.core.clock import clock_of, iso
from omnisync.core.db import run_in_transaction, transaction
from omnisync.core.errors import DomainError, InvalidRequest, NotFound
from omnisync.core.holds import hold_order, release_order
from omnisync.core.models import Channel, Location, Order, OrderLine, Reservation, Sku
from omnisync.core.redaction import redact
from omnisync.core.rerouting import reroute_order
from omnisync.core.shipping import lines_with_sku_codes
from omnisync.core.types import OrderStatus, ReservationState, UserRole
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import time_id_cursor
from omnisync.hub.cancellation import channel_not_told, push_cancellation
from omnisync.hub.labels import LABEL_FORMATS, LabelOptions, buy_label
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.returns import NewReturn, open_return
from omnisync.hub.settings import Settings
from omnisync.hub.shipping import ShipRequest, carrier_channels, ship_order
from omnisync.hub.views import order_detail
from omnisync.hub.web.dependencies import ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.identity import ConsoleIdentity
from omnisync.hub.web.order_queries import OrderFilters, order_rows
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
SHIP_FIELD = "ship:"
RETURN_FIELD = "return:"
"""Form fields `ship:<channel SKU>` and `return:<channel SKU>`: units of that SKU."""
Param = Annotated[str, Query(max_length=200)]


# The list


@router.get("/orders")
def orders_list(
    request: Request,
    me: ConsoleUser,
    session: Reading,
    channel: Param = "",
    status: Param = "",
    oversold: Param = "",
    ready: Param = "",
    late: Param = "",
    placed_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    placed_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    q: Param = "",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    filters = read_filters(channel, status, oversold, ready, late, placed_from, placed_to, q)
    now = clock_of(session).now()
    rows = order_rows(session, filters, now, limit=PAGE_SIZE + 1, before=time_id_cursor(cursor))
    shown, next_url = console_page(
        rows, PAGE_SIZE, request, lambda row: (iso(row.placed_at), row.id)
    )
    channels = list(session.exec(select(Channel.name).order_by(col(Channel.name))))
    return render(
        request,
        me,
        "orders_list.html",
        {
            "rows": shown,
            "next_url": next_url,
            "filters": filters,
            "raw": {"from": placed_from, "to": placed_to, "q": q},
            "channels": channels,
            "statuses": [status.value for status in OrderStatus],
            "continued": cursor is not None,
        },
    )


def read_filters(
    channel: str,
    status: str,
    oversold: str,
    ready: str,
    late: str,
    placed_from: str,
    placed_to: str,
    search: str,
) -> OrderFilters:
    """The filters as given; one that cannot be read is named in `problems` and left out."""
    problems: list[str] = []
    wanted_status: OrderStatus | None = None
    if status.strip():
        try:
            wanted_status = OrderStatus(status.strip())
        except ValueError:
            problems.append(f"status {status.strip()!r} is not one of the order statuses")
    return OrderFilters(
        channel=channel.strip() or None,
        status=wanted_status,
        oversold=oversold.strip().lower() in TRUE_WORDS,
        ready=ready.strip().lower() in TRUE_WORDS,
        late=late.strip().lower() in TRUE_WORDS,
        placed_from=_day(placed_from, "from", problems),
        placed_to=_day(placed_to, "to", problems),
        search=search.strip(),
        problems=tuple(problems),
    )


def _day(value: str, name: str, problems: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{name} {value.strip()!r} is not a day (YYYY-MM-DD)")
        return None


# One order


@router.get("/orders/{order_id}")
def order_page(
    order_id: int, request: Request, me: ConsoleUser, session: Reading, context: Context
) -> Response:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order with hub id {order_id}")
    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    lines = lines_with_sku_codes(session, order_id)
    reservations = _reservations(session, order_id)
    open_units = sum(line.open_quantity for line, _ in lines)
    shipped_units = sum(line.quantity_shipped for line, _ in lines)
    may_ship = (
        order.status.holds_stock
        and order.status != OrderStatus.PENDING
        and not order.fulfilled_by_channel
        and order.cancelled_by_hub_at is None
        and open_units > 0
    )
    settings = context.settings()
    carriers = [carrier.name for carrier in carrier_channels(settings)] if settings else []
    return render(
        request,
        me,
        "orders_detail.html",
        {
            "order": order,
            "channel": channel.name,
            "detail": order_detail(session, order, channel.name),
            "lines": lines,
            "reservations": reservations,
            "held": _held_by_line(reservations),
            "open_units": open_units,
            "shipped_units": shipped_units,
            "may_act": me.actor.may(UserRole.OPERATOR),
            "may_ship": may_ship,
            "on_hold": order.held_at is not None,
            "carriers": carriers,
            "locations": [location.code for location in selling_locations(session, channel)],
            "label_formats": LABEL_FORMATS,
            "late": order.ship_by is not None
            and order.ship_by < clock_of(session).now()
            and may_ship,
        },
    )


def _reservations(session: Session, order_id: int) -> list[dict[str, Any]]:
    """The order's active reservations by location, then SKU: the stock held for it."""
    rows = session.exec(
        select(Reservation, Sku.code, Location.code, OrderLine.external_line_id)
        .join(OrderLine, col(OrderLine.id) == Reservation.order_line_id)
        .join(Sku, col(Sku.id) == Reservation.sku_id)
        .join(Location, col(Location.id) == Reservation.location_id)
        .where(
            OrderLine.order_id == order_id,
            Reservation.state == ReservationState.ACTIVE,
        )
        .order_by(col(Location.code), col(Sku.code), col(Reservation.id))
    )
    return [
        {
            "location": location,
            "sku": sku,
            "line": line_id,
            "units": reservation.quantity,
            "per_unit": reservation.per_unit,
            "since": reservation.created_at,
        }
        for reservation, sku, location, line_id in rows
    ]


def _held_by_line(reservations: list[dict[str, Any]]) -> dict[str, int]:
    """Units of each line (by the channel's line id) its reservations hold whole: a
    bundle's line, as many bundles as its scarcest component makes."""
    held: dict[str, int] = {}
    for row in reservations:
        whole = row["units"] // max(row["per_unit"], 1)
        line = row["line"]
        held[line] = min(held.get(line, whole), whole)
    return held


# What an operator does to an order


Work = Callable[[Session, Order, str], tuple[str, dict[str, Any]]]
"""Changes the order (locked by the work itself, as the API's functions lock it); says
what happened, in words, and the details recorded with who did it."""


def _act(
    context: ApiContext, me: ConsoleIdentity, order_id: int, action: str, work: Work
) -> Response:
    back = f"/orders/{order_id}"

    def run(session: Session) -> str:
        order, channel = find_order(session, f"{HUB_ID_PREFIX}{order_id}")
        message, detail = work(session, order, channel)
        record_action(session, me.actor, action, _target(order, channel), detail)
        return message

    try:
        message = run_in_transaction(context.sync.database, run)
    except DomainError as error:
        return redirect(back, _clean(context, str(error)), error=True)
    return redirect(back, message)


def _target(order: Order, channel: str) -> str:
    return f"{channel} order {order.display_name or order.external_id} (id {order.id})"


def _clean(context: ApiContext, message: str) -> str:
    return redact(message, context.secrets())


def _settings(context: ApiContext) -> Settings:
    settings = context.settings()
    if settings is None:
        raise InvalidRequest("the hub has no configuration loaded: nothing can be shipped")
    return settings


def units_from(form: FormData, prefix: str) -> dict[str, int] | None:
    """Units per SKU from the fields `<prefix><SKU>` (blank or 0: none of it); None when
    the form has no such field at all."""
    names = [name for name in form if name.startswith(prefix)]
    if not names:
        return None
    units: dict[str, int] = {}
    for name in dict.fromkeys(names):
        sku = name.removeprefix(prefix)
        for value in form.getlist(name):
            given = value.strip() if isinstance(value, str) else ""
            if not given:
                continue
            try:
                count = int(given)
            except ValueError:
                raise InvalidRequest(f"SKU {sku!r}: {given!r} is not a whole number") from None
            if count < 0:
                raise InvalidRequest(f"SKU {sku!r}: units cannot be negative")
            if count:
                units[sku] = units.get(sku, 0) + count
    return units


@router.post("/orders/{order_id}/ship")
def ship(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Record a parcel, as `POST /api/v1/orders/{id}/shipments`."""

    def work(session: Session, order: Order, _channel: str) -> tuple[str, dict[str, Any]]:
        request = ShipRequest(
            order=f"{HUB_ID_PREFIX}{order.id}",
            carrier=text(form, "carrier"),
            tracking_number=text(form, "tracking_number"),
            lines=units_from(form, SHIP_FIELD),
            service=text(form, "service") or None,
        )
        if not request.tracking_number:
            raise InvalidRequest("a shipment needs a tracking number")
        shipment = ship_order(session, _settings(context), request)
        units = sum(int(line.get("quantity") or 0) for line in shipment.lines)
        detail = {
            "carrier": request.carrier,
            "tracking_number": shipment.tracking_number,
            "lines": {str(line["external_line_id"]): line["quantity"] for line in shipment.lines},
        }
        return (
            f"Shipped {units} unit{'s' if units != 1 else ''} with {request.carrier}, "
            f"tracking {shipment.tracking_number}.",
            detail,
        )

    return _act(context, me, order_id, "order.ship", work)


@router.post("/orders/{order_id}/route")
def route(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Route the order by hand, as `POST /api/v1/orders/{id}/route`."""

    def work(session: Session, order: Order, _channel: str) -> tuple[str, dict[str, Any]]:
        location = text(form, "location")
        if not location:
            raise InvalidRequest("choose the location to ship from")
        rerouted = reroute_order(session, order, location, actor=me.actor.name)
        short = (
            f"; {rerouted.short_units} units are missing there, so it is oversold"
            if rerouted.short_units
            else ""
        )
        return f"The order now ships from {location}{short}.", {"location": location}

    return _act(context, me, order_id, "order.route", work)


@router.post("/orders/{order_id}/hold")
def hold(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Hold the order, as `POST /api/v1/orders/{id}/hold`."""

    def work(session: Session, order: Order, _channel: str) -> tuple[str, dict[str, Any]]:
        reason = text(form, "reason") or None
        hold_order(session, order, reason)
        return "The order is on hold: nothing of it ships until it is released.", {"reason": reason}

    return _act(context, me, order_id, "order.hold", work)


@router.post("/orders/{order_id}/release")
def release(order_id: int, me: Operator, _form: PostedForm, context: Context) -> Response:
    """Lift the order's hold, as `POST /api/v1/orders/{id}/release`."""

    def work(session: Session, order: Order, _channel: str) -> tuple[str, dict[str, Any]]:
        release_order(session, order)
        return "The hold is lifted: the order can ship.", {}

    return _act(context, me, order_id, "order.release", work)


@router.post("/orders/{order_id}/cancel")
def cancel(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Cancel the order in the hub, then (when asked) on its channel, as
    `POST /api/v1/orders/{id}/cancel`: the channel is asked after the hub's commit."""
    reason = text(form, "reason") or None
    push = text(form, "push").lower() in TRUE_WORDS
    found: dict[str, Any] = {}

    def work(session: Session, order: Order, channel: str) -> tuple[str, dict[str, Any]]:
        cancellation = cancel_in_hub(session, order, reason)
        row = session.get(Channel, order.channel_id)
        found.update(
            channel=channel,
            channel_type=row.type if row is not None else None,
            external_id=order.external_id,
            already=cancellation.already,
        )
        units = cancellation.units_cancelled
        said = (
            "It was cancelled in the hub already."
            if cancellation.already
            else f"Cancelled in the hub: {units} unit{'s' if units != 1 else ''} released."
        )
        return said, {"reason": reason, "push": push, "units_cancelled": units}

    back = f"/orders/{order_id}"
    response = _act(context, me, order_id, "order.cancel", work)
    if not found:  # refused: _act's answer says why
        return response
    if push:
        told = push_cancellation(context.sync, found["channel"], found["external_id"], reason)
    else:
        told = channel_not_told(
            found["channel"],
            found["channel_type"],
            found["external_id"],
            "cancel here again with “also cancel on the channel” ticked",
            already=found["already"],
        )
    prefix = (
        "It was cancelled in the hub already. "
        if found["already"]
        else "Cancelled in the hub (its stock released). "
    )
    return redirect(back, _clean(context, prefix + told.message), error=not told.settled and push)


@router.post("/orders/{order_id}/label")
def label(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Buy the parcel's label from a carrier channel, as `POST /api/v1/orders/{id}/label`:
    the carrier is asked outside any transaction; an unreachable carrier is the error."""
    back = f"/orders/{order_id}"
    try:
        options = _label_options(form)
        outcome = buy_label(
            context.sync,
            _settings(context),
            f"{HUB_ID_PREFIX}{order_id}",
            options,
            None,
            actor=me.actor.name,
        )
    except DomainError as error:
        return redirect(back, _clean(context, str(error)), error=True)
    with transaction(context.sync.database) as session:
        order, channel = find_order(session, f"{HUB_ID_PREFIX}{order_id}")
        record_action(
            session,
            me.actor,
            "order.label",
            _target(order, channel),
            {
                "carrier": outcome.carrier,
                "service": outcome.service,
                "tracking_number": outcome.tracking_number,
                "shipment_id": outcome.shipment_id,
            },
        )
    kept = (
        f" Its file: {outcome.label_path}."
        if outcome.label_path
        else f" Its file could not be written: {outcome.file_error}."
    )
    return redirect(
        back,
        _clean(
            context,
            f"Label {outcome.tracking_number} bought from {outcome.carrier}"
            f"{' (' + outcome.service + ')' if outcome.service else ''}; the parcel is "
            f"recorded.{kept}",
        ),
    )


def _label_options(form: FormData) -> LabelOptions:
    carrier = text(form, "carrier")
    if not carrier:
        raise InvalidRequest("choose the carrier to buy the label from")
    try:
        weight = Decimal(text(form, "weight_kg"))
    except InvalidOperation:
        raise InvalidRequest("the parcel's weight must be a number of kg, such as 1.2") from None
    if not weight.is_finite() or weight <= 0:
        raise InvalidRequest("the parcel's weight must be more than 0 kg")
    label_format = text(form, "label_format", "PDF").upper() or "PDF"
    if label_format not in LABEL_FORMATS:
        raise InvalidRequest(f"the label's format is one of {', '.join(LABEL_FORMATS)}")
    return LabelOptions(
        carrier=carrier,
        service=text(form, "service") or None,
        weight_kg=weight,
        label_format="ZPL" if label_format == "ZPL" else "PDF",
    )


@router.post("/orders/{order_id}/return")
def start_return(order_id: int, me: Operator, form: PostedForm, context: Context) -> Response:
    """Start a return of shipped units, as `POST /api/v1/returns`."""

    def work(session: Session, order: Order, _channel: str) -> tuple[str, dict[str, Any]]:
        units = units_from(form, RETURN_FIELD) or {}
        if not units:
            raise InvalidRequest("name the units coming back")
        reason = text(form, "reason")
        if not reason:
            raise InvalidRequest("give the reason for the return")
        made = open_return(
            session,
            NewReturn(
                order=f"{HUB_ID_PREFIX}{order.id}",
                units=units,
                reason=reason,
                note=text(form, "note") or None,
            ),
            by=me.actor.name,
        )
        name = made.name or f"#{made.id}"
        return (
            f"Return {name} started ({made.status.value}).",
            {"return_id": made.id, "return": made.name, "units": units, "reason": reason},
        )

    return _act(context, me, order_id, "return.create", work)
