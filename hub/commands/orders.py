"""`omnisync orders` and `omnisync channels`: what came in, from where, and what left;
cancelling, holding and releasing an order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from omnisync.connectors.base import AuthError
from omnisync.connectors.shopify.install import exchange_code, permission_url
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.cancellation import HubCancellation, cancel_in_hub
from omnisync.core.db import transaction
from omnisync.core.holds import describe_hold, hold_order, release_order
from omnisync.core.models import Channel, Order
from omnisync.core.rerouting import reroute_order
from omnisync.core.types import OrderStatus, UserRole
from omnisync.core.users import Actor
from omnisync.hub import channel_control
from omnisync.hub.bootstrap import Hub, sync_engine
from omnisync.hub.cancellation import ChannelCancellation, channel_not_told, push_cancellation
from omnisync.hub.commands.common import (
    EXIT_USAGE,
    ChannelFilterOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    console,
    fail,
    failing_on_domain_errors,
    hub_session,
    load_cli_settings,
    open_hub,
    print_json,
    say,
)
from omnisync.hub.commands.resolving import operator_name
from omnisync.hub.labels import LabelOptions, ParcelScope, buy_label, rates_for_order
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.shipping import ShipRequest, UnknownCarrier, ship_order
from omnisync.hub.views import cancellation_view, channel_list, order_detail, order_list
from omnisync.hub.views.labels import label_view, rate_views
from omnisync.hub.views.returns import order_return_summary
from omnisync.hub.views.shapes import OrderDetailOut, OrderLabelOut, ShippedOut
from omnisync.sync.engine import SyncEngine


class LabelFormatChoice(StrEnum):
    PDF = "PDF"
    ZPL = "ZPL"


orders_app = typer.Typer(help="Orders from every channel.", no_args_is_help=True)
channels_app = typer.Typer(help="Configured channels and their state.", no_args_is_help=True)

OrderArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Hub id, the channel's order id, or its order name or number (#1001, 1001); "
        "id:N is hub id N only.",
    ),
]


@orders_app.command("list")
def list_orders(
    ctx: typer.Context,
    channel: ChannelFilterOption = None,
    status: Annotated[OrderStatus | None, typer.Option(help="Only this status.")] = None,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Orders, newest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = order_list(session, channel=channel, status=status, limit=limit, offset=offset)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "channel", "order", "status", "placed", "total", "lines", "oversold")
    for row in rows:
        total = f"{row.total} {row.currency or ''}" if row.total else ""
        table.add_row(
            str(row.id),
            row.channel,
            row.external_id,
            row.status,
            row.placed_at,
            total,
            str(len(row.lines)),
            "yes" if row.oversold else "",
        )
    console.print(table)


@orders_app.command("show")
def show_order(
    ctx: typer.Context,
    order_id: OrderArgument,
    json_output: JsonOption = False,
) -> None:
    """One order with its lines, its returns, its shipments and their tracking events."""
    with hub_session(ctx, read_only=True) as (_, session):
        order, channel_name = find_order(session, order_id)
        row = order_detail(session, order, channel_name)
        returned = order_return_summary(session, row.id, row.return_state)
    if json_output:
        print_json(row)
        return
    _print_order(row, returned)


@orders_app.command("ship")
def ship(
    ctx: typer.Context,
    order_id: OrderArgument,
    carrier: Annotated[
        str, typer.Option("--carrier", help="The carrier channel that tracks the parcel.")
    ],
    tracking: Annotated[str, typer.Option("--tracking", help="The tracking number.")],
    lines: Annotated[
        list[str] | None,
        typer.Option(
            "--line",
            metavar="SKU:QTY",
            help="Units to ship, by the channel's or the hub's SKU; repeat per SKU "
            "(default: every open unit).",
        ),
    ] = None,
    service: Annotated[str | None, typer.Option(help="The carrier's service level.")] = None,
    tracking_url: Annotated[str | None, typer.Option(help="Where the buyer tracks it.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Record a parcel that left: the stock goes, the order becomes shipped or partially
    shipped, and the fulfilment is queued for the channel the order came from."""
    wanted = parse_sku_lines(lines)
    with hub_session(ctx, channel=carrier) as (hub, session):
        request = ShipRequest(
            order=order_id,
            carrier=carrier,
            tracking_number=tracking,
            lines=wanted,
            service=service,
            tracking_url=tracking_url,
        )
        try:
            shipment = ship_order(session, hub.settings, request)
        except UnknownCarrier as error:
            fail(str(error), EXIT_USAGE)
        order, channel_name = find_order(session, f"{HUB_ID_PREFIX}{shipment.order_id}")
        row = order_detail(session, order, channel_name)
    (shipped,) = (item for item in row.shipments if item.id == shipment.id)
    if json_output:
        print_json(ShippedOut(order=row, shipment=shipped))
        return
    units = sum(line.quantity for line in shipped.lines)
    say(
        f"order {row.id} ({row.channel} {row.external_id}): {units} unit(s) shipped "
        f"with {shipped.carrier} {shipped.tracking_number}; the order is {row.status}"
    )
    say(
        f"the fulfilment for {row.channel} is queued: a running hub sends it on its next "
        f"fulfilments run (or run `omnisync sync fulfilments --channel {row.channel}`)"
    )


ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why, in words (kept on the order).")
]


@orders_app.command("cancel")
def cancel(
    ctx: typer.Context,
    order_id: OrderArgument,
    push: Annotated[
        bool,
        typer.Option(
            "--push",
            help="Also ask the channel to cancel it, where its API allows (Shopify, sandbox).",
        ),
    ] = False,
    reason: ReasonOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cancel an order in the hub: its units that have not shipped are cancelled (shipped
    units stay shipped), their stock is released and offered again on every channel, and
    no later read of the channel reserves for it again. Without --push the channel still
    shows the order: cancel it there (the command says where). Exit 1 when --push could
    not cancel it on the channel; the hub's cancellation stands, and running the command
    again asks the channel again."""
    hub = open_hub(ctx)
    try:
        with failing_on_domain_errors(), transaction(hub.engine) as session:
            order, channel_name = find_order(session, order_id.strip())
            cancellation = cancel_in_hub(session, order, reason)
            row = order_detail(session, cancellation.order, channel_name)
            channel_type = _channel_type(session, cancellation.order)
        if push:
            told = _push_cancellation(hub, channel_name, row.external_id, reason)
        else:
            how = f"run `omnisync orders cancel {row.id} --push`"
            told = channel_not_told(
                channel_name, channel_type, row.external_id, how, already=cancellation.already
            )
    finally:
        hub.engine.dispose()
    if json_output:
        print_json(cancellation_view(row, cancellation, told))
    else:
        _say_cancellation(row, cancellation)
    if push and not told.settled:
        fail(told.message)
    if not json_output:
        say(told.message)


def _channel_type(session: Session, order: Order) -> str | None:
    channel = session.get(Channel, order.channel_id)
    return channel.type if channel is not None else None


def _push_cancellation(
    hub: Hub, channel: str, external_id: str, reason: str | None
) -> ChannelCancellation:
    engine = sync_engine(hub)
    try:
        return push_cancellation(engine, channel, external_id, reason)
    finally:
        engine.close()


def _say_cancellation(row: OrderDetailOut, cancellation: HubCancellation) -> None:
    name = f"order {row.id} ({row.channel} {row.external_id})"
    if cancellation.already:
        say(f"{name} was cancelled in the hub already ({row.cancelled_by_hub_at})")
        return
    released = ", ".join(
        f"{line.channel_sku} {line.cancelled}" for line in cancellation.lines if line.cancelled
    )
    say(
        f"{name}: cancelled in the hub; {cancellation.units_cancelled} unit(s) cancelled and "
        f"their stock released ({released}); the order is {row.status}"
    )
    if cancellation.units_shipped:
        shipped = ", ".join(
            f"{line.channel_sku} {line.shipped}" for line in cancellation.lines if line.shipped
        )
        say(
            f"{cancellation.units_shipped} unit(s) had shipped and stay shipped ({shipped}): "
            "shipped units cannot be cancelled"
        )


@orders_app.command("hold")
def hold(
    ctx: typer.Context,
    order_id: OrderArgument,
    reason: ReasonOption = None,
    json_output: JsonOption = False,
) -> None:
    """Hold an order (a fraud review, a question to the buyer): its stock stays reserved,
    but it cannot be shipped and none of its fulfilments is pushed until it is released."""
    with hub_session(ctx) as (_, session):
        order, channel_name = find_order(session, order_id.strip())
        held = hold_order(session, order, reason)
        row = order_detail(session, held, channel_name)
        said = describe_hold(held)
    if json_output:
        print_json(row)
        return
    say(
        f"order {row.id} ({row.channel} {row.external_id}) is on hold ({said}): its "
        f"stock stays reserved; it ships after `omnisync orders release {row.id}`"
    )


@orders_app.command("release")
def release(ctx: typer.Context, order_id: OrderArgument, json_output: JsonOption = False) -> None:
    """Lift an order's hold: it can be shipped, and its pending fulfilments are pushed."""
    with hub_session(ctx) as (_, session):
        order, channel_name = find_order(session, order_id.strip())
        row = order_detail(session, release_order(session, order), channel_name)
    if json_output:
        print_json(row)
        return
    say(
        f"order {row.id} ({row.channel} {row.external_id}) is released: "
        f"it can be shipped; the order is {row.status}"
    )


@orders_app.command("route")
def route(
    ctx: typer.Context,
    order_id: OrderArgument,
    location: Annotated[
        str, typer.Option("--location", "-l", help="The location to ship it from (its code).")
    ],
    json_output: JsonOption = False,
) -> None:
    """Route an order by hand: its open lines move to LOCATION in one transaction (what
    it held elsewhere is freed; it is oversold there for what LOCATION lacks), and it
    waits for stock there only."""
    with hub_session(ctx) as (_, session):
        order, channel_name = find_order(session, order_id.strip())
        rerouted = reroute_order(session, order, location.strip(), actor="cli")
        row = order_detail(session, rerouted.order, channel_name)
    if json_output:
        print_json(row)
        return
    oversold = f"; oversold by {rerouted.short_units} unit(s)" if rerouted.short_units else ""
    say(f"order {row.id} ({row.channel} {row.external_id}) ships from {location}{oversold}")


CarrierOption = Annotated[
    str, typer.Option("--carrier", help="The carrier channel to buy from (UPS, FedEx).")
]
WeightOption = Annotated[str, typer.Option("--weight", help="The parcel's weight in kg.")]
DimensionsOption = Annotated[
    str | None,
    typer.Option("--dimensions", metavar="LxWxH", help="The parcel's size in cm, e.g. 30x20x10."),
]
ParcelLinesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--line",
        metavar="SKU:QTY",
        help="Units in the parcel, by the channel's or the hub's SKU; repeat per SKU "
        "(default: every open unit, at --location if given).",
    ),
]
ParcelLocationOption = Annotated[
    str | None,
    typer.Option(
        "--location",
        help="The parcel of a split order at this location: its lines reserved there, "
        "shipped from it (one label per location).",
    ),
]


@orders_app.command("label")
def label(
    ctx: typer.Context,
    order_id: OrderArgument,
    carrier: CarrierOption,
    weight: WeightOption,
    service: Annotated[
        str | None,
        typer.Option(help="The service as `orders rates` names it (default: the cheapest)."),
    ] = None,
    dimensions: DimensionsOption = None,
    label_format: Annotated[
        LabelFormatChoice, typer.Option("--format", help="The label's file format.")
    ] = LabelFormatChoice.PDF,
    lines: ParcelLinesOption = None,
    location: ParcelLocationOption = None,
    json_output: JsonOption = False,
) -> None:
    """Buy the label for an order's parcel (every open unit, the --line units, or the
    parcel at --location) from a carrier channel, save it under the data folder (hub.yaml
    `data_dir`, labels/), and record the parcel as `orders ship` does: the stock goes, the
    fulfilment is queued, the carrier channel tracks it. Exit code 1 when nothing was
    bought, and when the label was bought and its parcel recorded but its file could not
    be written (the message says so, with the tracking number)."""
    options = LabelOptions(
        carrier=carrier,
        service=service,
        weight_kg=parse_weight(weight),
        dimensions_cm=parse_dimensions(dimensions),
        label_format=label_format.value,
    )
    scope = ParcelScope(skus=parse_sku_lines(lines), location=location)
    with carrier_engine(ctx, carrier) as (hub, engine):
        outcome = buy_label(engine, hub.settings, order_id, options, scope, actor="cli")
        with failing_on_domain_errors(), transaction(hub.engine, read_only=True) as session:
            order, channel_name = find_order(session, f"{HUB_ID_PREFIX}{outcome.order_id}")
            row = order_detail(session, order, channel_name)
            bought = label_view(session, outcome)
    if json_output:
        print_json(OrderLabelOut(order=row, shipment=bought))
    else:
        price = f", {outcome.price} {outcome.currency or ''}".rstrip() if outcome.price else ""
        say(
            f"order {row.id} ({row.channel} {row.external_id}): label "
            f"{outcome.tracking_number} bought from {outcome.carrier} "
            f"({outcome.service or 'default service'}{price}); the order is {row.status}"
        )
        if outcome.label_path is not None:
            say(f"label file ({outcome.label_format}): {outcome.label_path}")
        say(f"the fulfilment for {row.channel} is queued; {outcome.carrier} tracks the parcel")
    if outcome.file_error is not None:
        fail(outcome.file_error)


@orders_app.command("rates")
def rates(
    ctx: typer.Context,
    order_id: OrderArgument,
    carrier: CarrierOption,
    weight: WeightOption,
    dimensions: DimensionsOption = None,
    lines: ParcelLinesOption = None,
    location: ParcelLocationOption = None,
    json_output: JsonOption = False,
) -> None:
    """What a carrier channel would charge for the order's parcel (every open unit, the
    --line units, or the parcel at --location), per service, cheapest first; nothing is
    bought (`orders label --service` buys one)."""
    options = LabelOptions(
        carrier=carrier, weight_kg=parse_weight(weight), dimensions_cm=parse_dimensions(dimensions)
    )
    scope = ParcelScope(skus=parse_sku_lines(lines), location=location)
    with carrier_engine(ctx, carrier) as (hub, engine):
        rows = rate_views(rates_for_order(engine, hub.settings, order_id, options, scope))
    if json_output:
        print_json(rows)
        return
    table = Table("service", "price", "currency", "transit days")
    for row in rows:
        days = str(row.transit_days) if row.transit_days is not None else ""
        table.add_row(row.service, row.price or "", row.currency or "", days)
    console.print(table)


@contextmanager
def carrier_engine(ctx: typer.Context, carrier: str) -> Iterator[tuple[Hub, SyncEngine]]:
    """The hub and a sync engine to reach `carrier` through; domain errors become exit 1,
    a channel that is not a carrier selling labels exit 2."""
    hub = open_hub(ctx, channel=carrier)
    engine = sync_engine(hub)
    try:
        with failing_on_domain_errors():
            try:
                yield hub, engine
            except UnknownCarrier as error:
                fail(str(error), EXIT_USAGE)
    finally:
        engine.close()
        hub.engine.dispose()


def parse_weight(value: str) -> Decimal:
    """`--weight` in kg: a number above 0 (else exit 2)."""
    weight = _positive_number(value)
    if weight is None:
        raise typer.BadParameter(
            f"{value!r} is not a weight in kg above 0", param_hint="'--weight'"
        )
    return weight


def parse_dimensions(value: str | None) -> tuple[Decimal, Decimal, Decimal] | None:
    """`--dimensions LxWxH` in cm, each above 0 (else exit 2); None when not given."""
    if value is None:
        return None
    sides = [_positive_number(side) for side in value.lower().split("x")]
    if len(sides) != 3 or any(side is None for side in sides):
        raise typer.BadParameter(
            f"{value!r} is not LxWxH in cm (e.g. 30x20x10)", param_hint="'--dimensions'"
        )
    length, width, height = (side for side in sides if side is not None)
    return length, width, height


def _positive_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def parse_sku_lines(values: list[str] | None) -> dict[str, int] | None:
    """`--line SKU:QTY` values as SKU -> units (a SKU named twice adds up); None for none.
    A value that cannot be read is bad usage (exit 2)."""
    if not values:
        return None
    wanted: dict[str, int] = {}
    for value in values:
        sku, colon, quantity = value.rpartition(":")
        if not colon or not sku.strip():
            raise typer.BadParameter(f"{value!r} is not SKU:QTY", param_hint="'--line'")
        wanted[sku.strip()] = wanted.get(sku.strip(), 0) + line_units(value, quantity)
    return wanted


def line_units(value: str, quantity: str) -> int:
    """The QTY of a `--line` value: a whole number, at least 1 (else exit 2)."""
    try:
        units = int(quantity)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: QTY must be a whole number", param_hint="'--line'"
        ) from None
    if units < 1:
        raise typer.BadParameter(f"{value!r}: QTY must be at least 1", param_hint="'--line'")
    return units


def _print_order(row: OrderDetailOut, returned: str | None) -> None:
    say(
        f"order {row.id} ({row.channel} {row.external_id}): {row.status}"
        + (" OVERSOLD" if row.oversold else "")
    )
    say(
        f"placed {row.placed_at}, updated {row.updated_at}, "
        f"total {row.total or '-'} {row.currency or ''}"
    )
    if row.held_at:
        say(f"on hold since {row.held_at}" + _because(row.hold_reason))
    if row.cancelled_by_hub_at:
        say(f"cancelled in the hub at {row.cancelled_by_hub_at}" + _because(row.hub_cancel_reason))
    if row.packed_at:
        say(
            f"packed at {row.packed_at}: every open unit of a parcel scanned "
            f"(`omnisync pack {row.id}`)"
        )
    if returned:
        say(returned)
    if row.route:
        say(f"route: {', '.join(row.route.locations)} ({row.route.source}): {row.route.reason}")
    if row.returns:
        named = ", ".join(f"{item.name or item.id} ({item.status})" for item in row.returns)
        say(f"returns: {named} (`omnisync returns show ID`)")
    table = Table("channel sku", "sku", "quantity", "unit price", "ships from")
    for line in row.lines:
        table.add_row(
            line.channel_sku,
            line.sku or "(unmapped)",
            str(line.quantity),
            line.unit_price or "",
            row.route.lines.get(line.external_line_id, "") if row.route else "",
        )
    console.print(table)
    if not row.shipments:
        return
    shipments = Table(
        "carrier", "tracking", "status", "shipped", "delivered", "fulfilment", "last event"
    )
    for shipment in row.shipments:
        last = shipment.events[-1] if shipment.events else None
        shipments.add_row(
            shipment.carrier,
            shipment.tracking_number,
            shipment.status,
            shipment.shipped_at or "",
            shipment.delivered_at or "",
            shipment.fulfilment_push,
            f"{last.at} {last.description or last.code}" if last else "",
        )
    console.print(shipments)
    for shipment in row.shipments:
        if shipment.label_path:
            said = f"{shipment.label_path} ({shipment.label_format})"
            say(f"label of {shipment.tracking_number}: {said}")


def _because(reason: str | None) -> str:
    return f": {reason}" if reason else ""


@channels_app.command("list")
def list_channels(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Channels known to the hub (disabled ones included)."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = channel_list(session)
    if json_output:
        print_json(rows)
        return
    table = Table("name", "type", "enabled", "locations", "listings", "unbound", "dirty", "paused")
    for row in rows:
        table.add_row(
            row.name,
            row.type,
            "yes" if row.enabled else "no",
            ", ".join(row.locations) if row.locations is not None else "(all)",
            str(row.listings),
            str(row.unbound_listings),
            str(row.dirty_listings),
            row.paused_reason or "",
        )
    console.print(table)


def _cli_actor() -> Actor:
    """Who runs a channel command: the OS user, with the database's own rights (an admin)."""
    return Actor(name=operator_name(), role=UserRole.ADMIN, via="cli")


@channels_app.command("pause")
def pause_channel_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The channel's name.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, in words (shown with the pause).")
    ] = None,
) -> None:
    """Pause a channel by hand: none of its jobs runs (the running hub too) until
    `omnisync channels resume NAME`; a changed config or a good run does not lift it."""
    with hub_session(ctx) as (_, session):
        channel = channel_control.pause(session, _cli_actor(), name, reason)
        said = channel.paused_reason
    say(f"channel {name} is paused ({said}); `omnisync channels resume {name}` lifts it")


@channels_app.command("resume")
def resume_channel_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The channel's name.")]
) -> None:
    """Resume a paused channel (paused by hand, or by the hub when its credentials were
    refused): its jobs run again on their schedule."""
    with hub_session(ctx) as (_, session):
        channel_control.resume(session, _cli_actor(), name)
    say(f"channel {name} is resumed: its jobs run again on their schedule")


@channels_app.command("shopify-install")
def shopify_install(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="A channel of type shopify.")],
    redirect_uri: Annotated[str, typer.Option(help="The app's allowed redirection URL.")],
    callback: Annotated[
        str | None,
        typer.Option(help="The full URL Shopify redirected to (with code, hmac, shop, state)."),
    ] = None,
) -> None:
    """Print the URL that grants the app access; with --callback, exchange its code for a
    token, printed once for you to store as an environment variable (never logged)."""
    settings = load_cli_settings(ctx, channel=channel)
    config = next((c for c in settings.channels if c.name == channel), None)
    if config is None or not isinstance(config.settings, ShopifySettings):
        fail(f"no channel {channel!r} of type shopify in the configuration", EXIT_USAGE)
    try:
        if callback is None:
            url, expected_state = permission_url(config.settings, redirect_uri)
            console.print(url, markup=False, highlight=False, soft_wrap=True)
            console.print(
                f"state: {expected_state} (check it against the callback's state)",
                markup=False,
                highlight=False,
            )
            return
        token = exchange_code(config.settings, callback)
    except AuthError as error:
        fail(str(error))
    console.print(
        f"access token (shown once; store it in the variable your channel file names):\n{token}",
        markup=False,
        highlight=False,
    )
