"""`omnisync pick`: pick lists, a batch of orders picked together at one location in
walking order (core/picking.py decides what a list takes and what a short does).

`pick show` prints the walk as a table, as JSON, or as a printable HTML page
(`--html FILE`). `pick confirm --short SKU:QTY` records units not found on the shelf:
they leave the books, the orders that lose them (newest first) top up where their
picked units are, take stock elsewhere (a line shorted completely) or are marked
oversold, and the `pick_short` alert says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from omnisync.core.db import run_in_transaction
from omnisync.core.picking import (
    MAX_ORDERS,
    Confirmation,
    cancel_pick_list,
    confirm_pick_list,
    create_pick_list,
    find_pick_list,
)
from omnisync.core.types import PickListState
from omnisync.hub.commands.common import (
    JsonOption,
    LimitOption,
    console,
    fail,
    failing_on_domain_errors,
    hub_session,
    open_hub,
    print_json,
    say,
)
from omnisync.hub.commands.orders import parse_sku_lines
from omnisync.hub.commands.resolving import operator_name
from omnisync.hub.views.picking import (
    pick_created_view,
    pick_list_detail,
    pick_list_list,
    pick_list_page,
)
from omnisync.hub.views.shapes import PickListDetailOut

app = typer.Typer(
    help="Pick lists: orders picked together, in walking order.", no_args_is_help=True
)

PickListArgument = Annotated[int, typer.Argument(metavar="ID", min=1, help="The pick list's id.")]


@app.command("create")
def create(
    ctx: typer.Context,
    location: Annotated[str, typer.Option("--location", "-l", help="Where the picker walks.")],
    channel: Annotated[str | None, typer.Option(help="Only this channel's orders.")] = None,
    max_orders: Annotated[
        int | None, typer.Option(min=1, max=MAX_ORDERS, help="At most this many orders.")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who makes it (default: your OS user).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Make a pick list of the paid orders ready to pick at a location.

    Orders with a ship-by date come first (earliest first), then the oldest. Orders on
    hold, oversold, or whose units are on another live list already are left out."""
    with hub_session(ctx) as (_, session):
        made = create_pick_list(
            session, location, channel=channel, max_orders=max_orders, by=by or operator_name()
        )
        shown = pick_created_view(session, made)
    if json_output:
        print_json(shown)
        return
    say(shown.message)
    if shown.pick_list is not None:
        _print_walk(shown.pick_list)
        say(f"print it: `omnisync pick show {shown.pick_list.id} --html FILE`")


@app.command("list")
def list_pick_lists(
    ctx: typer.Context,
    state: Annotated[PickListState | None, typer.Option(help="Only this state.")] = None,
    limit: LimitOption = 100,
    json_output: JsonOption = False,
) -> None:
    """Pick lists, newest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = pick_list_list(session, state=state, limit=limit)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "location", "channel", "state", "orders", "units", "short", "made")
    for row in rows:
        table.add_row(
            str(row.id),
            row.location,
            row.channel or "",
            row.state,
            str(row.orders),
            str(row.units),
            str(row.short) if row.short else "",
            row.created_at,
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    pick_list_id: PickListArgument,
    json_output: JsonOption = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", dir_okay=False, help="Write a printable HTML page to this file."),
    ] = None,
) -> None:
    """The walk: one row per SKU and bin, in picking sequence, with the units per order."""
    with hub_session(ctx, read_only=True) as (_, session):
        detail = pick_list_detail(session, find_pick_list(session, pick_list_id))
    if html is not None:
        try:
            html.write_text(pick_list_page(detail), encoding="utf-8")
        except OSError as error:
            fail(f"cannot write {html}: {error.strerror or error}")
    if json_output:
        print_json(detail)
    elif html is not None:
        say(f"pick list {detail.id} written to {html}")
    else:
        _print_walk(detail)


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    pick_list_id: PickListArgument,
    short: Annotated[
        list[str] | None,
        typer.Option(
            "--short",
            metavar="SKU:QTY",
            help="QTY units of SKU were not on the shelf (repeat the option).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Mark the list picked, with the units not found on the shelf.

    Units short leave the books; the orders that lose them (newest first) top up where
    their picked units are, take stock elsewhere (a line shorted completely) or are
    marked oversold, and the pick_short alert says so."""
    try:
        shorts = parse_sku_lines(short) or {}
    except typer.BadParameter as error:
        error.param_hint = "'--short'"
        raise
    hub = open_hub(ctx)
    try:
        with failing_on_domain_errors():
            # Run again from the start if PostgreSQL aborts it as a deadlock victim.
            done, detail = run_in_transaction(
                hub.engine, lambda session: _confirmed(session, pick_list_id, shorts)
            )
    finally:
        hub.engine.dispose()
    if json_output:
        print_json(detail)
        return
    say(f"pick list {detail.id} picked: {detail.units - detail.short} unit(s) taken")
    _say_shorts(done)


def _confirmed(
    session: Session, pick_list_id: int, shorts: dict[str, int]
) -> tuple[Confirmation, PickListDetailOut]:
    done = confirm_pick_list(session, pick_list_id, shorts)
    return done, pick_list_detail(session, done.pick_list)


def _say_shorts(done: Confirmation) -> None:
    for short in done.shorts:
        where = f"bin {short.bin}" if short.bin else "no bin"
        orders = ", ".join(
            f"{item.order} ({item.units}{', now oversold' if item.oversold else ''})"
            for item in short.orders
        )
        say(f"{short.units} unit(s) of {short.sku} short in {where}: {orders}")
    if done.shorts:
        say("the pick_short alert is raised; `omnisync alerts list` shows it")


@app.command("cancel")
def cancel(
    ctx: typer.Context, pick_list_id: PickListArgument, json_output: JsonOption = False
) -> None:
    """Cancel a pick list: its units can go on another list."""
    with hub_session(ctx) as (_, session):
        detail = pick_list_detail(session, cancel_pick_list(session, pick_list_id))
    if json_output:
        print_json(detail)
        return
    say(f"pick list {detail.id} cancelled: its {detail.units} unit(s) can be picked again")


def _print_walk(detail: PickListDetailOut) -> None:
    channel = f", channel {detail.channel}" if detail.channel else ""
    say(
        f"pick list {detail.id} at {detail.location}{channel}: {detail.state}, "
        f"{detail.orders} order(s), {detail.units} unit(s)"
    )
    table = Table("#", "seq", "bin", "sku", "title", "units", "orders")
    for number, row in enumerate(detail.rows, start=1):
        split = ", ".join(
            f"{item.order} x{item.units}" + (f" ({item.short} short)" if item.short else "")
            for item in row.orders
        )
        table.add_row(
            str(number),
            "" if row.sequence is None else str(row.sequence),
            row.bin or "-",
            row.sku,
            row.title,
            str(row.units) + (f" ({row.short} short)" if row.short else ""),
            split,
        )
    console.print(table)
    if detail.note:
        say(detail.note)
