"""`omnisync stock`: counts, adjustments, imports, levels and history."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.errors import DomainError, InvalidRequest
from omnisync.core.ledger import adjust_stock, count_stock
from omnisync.core.models import Sku
from omnisync.hub.commands import bins
from omnisync.hub.commands.common import JsonOption, console, fail, hub_session, print_json
from omnisync.hub.csv_imports import repeated_keys
from omnisync.hub.views import movement_list, stock_list

app = typer.Typer(help="Count, adjust, import and inspect stock.", no_args_is_help=True)
app.add_typer(bins.app, name="bins")

LocationOption = Annotated[
    str | None,
    typer.Option("--location", "-l", help="Location code (default: the first in hub.yaml)."),
]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why; kept on the movement.")]


def counted(quantity: int) -> int:
    """A count is what is on the shelf: never below zero (a change is `stock adjust`)."""
    if quantity < 0:
        raise typer.BadParameter(
            "a count cannot be negative (stock adjust takes a change, e.g. -3)"
        )
    return quantity


# ignore_unknown_options: "-3" is read as the QUANTITY it looks like, not as an option,
# so that the answer says what is wrong with it.
@app.command("set", context_settings={"ignore_unknown_options": True})
def set_stock(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="SKU code.")],
    quantity: Annotated[
        int, typer.Argument(callback=counted, help="The counted quantity on hand (0 or more).")
    ],
    location: LocationOption = None,
    reason: ReasonOption = "count",
) -> None:
    """Record a count: on hand becomes QUANTITY (the movement holds the difference)."""
    with hub_session(ctx) as (hub, session):
        where = location_by_code(session, location or hub.settings.default_location)
        movement = count_stock(session, sku_by_code(session, sku), where, quantity, reason=reason)
        console.print(
            f"{sku} at {where.code}: on hand {quantity} ({movement.delta:+d})",
            markup=False,
            highlight=False,
        )


@app.command("adjust", context_settings={"ignore_unknown_options": True})
def adjust(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="SKU code.")],
    delta: Annotated[int, typer.Argument(help="Change of on hand, e.g. 5 or -2.")],
    location: LocationOption = None,
    reason: ReasonOption = "adjustment",
) -> None:
    """Change on hand by DELTA (receipts, damage, found stock)."""
    with hub_session(ctx) as (hub, session):
        where = location_by_code(session, location or hub.settings.default_location)
        adjust_stock(session, sku_by_code(session, sku), where, delta, reason=reason)
        console.print(f"{sku} at {where.code}: {delta:+d}", markup=False, highlight=False)


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    adjust_mode: Annotated[
        bool, typer.Option("--adjust", help="Quantities are changes, not counts.")
    ] = False,
    reason: ReasonOption = "import",
) -> None:
    """Import stock from CSV: columns sku, quantity, and optionally location and reason.

    Quantities are counts unless --adjust. A count names each SKU once per location
    (changes with --adjust add up). All rows are applied, or none when any is wrong.
    """
    with hub_session(ctx) as (hub, session), file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"sku", "quantity"} - set(reader.fieldnames or [])
        if missing:
            fail(f"{file}: the header lacks column(s) {', '.join(sorted(missing))}")
        rows = list(reader)
        default_location = hub.settings.default_location
        problems = [] if adjust_mode else _counted_twice(rows, default_location, str(file))
        for number, row in enumerate(rows, start=2):
            try:
                _apply_row(session, row, default_location, adjust_mode, reason)
            except DomainError as error:
                problems.append(f"{file}:{number}: {error}")
        if problems:
            fail("nothing imported:\n" + "\n".join(problems))
        console.print(f"{len(rows)} row(s) applied from {file}", markup=False, highlight=False)


def _counted_twice(rows: list[dict[str, str]], default_location: str, source: str) -> list[str]:
    """A count of the same SKU at the same location on two rows: which one holds?"""
    keyed_lines = (
        (number, (_cell(row, "sku"), _cell(row, "location") or default_location))
        for number, row in enumerate(rows, start=2)
        if _cell(row, "sku")
    )
    return [
        f"{source}:{line}: SKU {sku!r} at {location} is already counted on line {first}: "
        "one row per SKU and location"
        for first, line, (sku, location) in repeated_keys(keyed_lines)
    ]


def _cell(row: dict[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _apply_row(
    session: Session, row: dict[str, str], default_location: str, adjust_mode: bool, reason: str
) -> None:
    text = (row.get("quantity") or "").strip()
    try:
        quantity = int(text)
    except ValueError:
        raise InvalidRequest(f"quantity {text!r} is not a whole number") from None
    sku = sku_by_code(session, (row.get("sku") or "").strip())
    location = location_by_code(session, (row.get("location") or "").strip() or default_location)
    why = (row.get("reason") or "").strip() or reason
    if adjust_mode:
        adjust_stock(session, sku, location, quantity, reason=why)
    else:
        count_stock(session, sku, location, quantity, reason=why)


@app.command("show")
def show(
    ctx: typer.Context,
    sku: Annotated[str | None, typer.Argument(help="One SKU (default: all).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Stock per location (with the SKU's bin there), free total and what each channel may
    sell."""
    with hub_session(ctx, read_only=True) as (_, session):
        skus = (
            [sku_by_code(session, sku)]
            if sku
            else list(session.exec(select(Sku).order_by(col(Sku.code))))
        )
        rows = stock_list(session, skus)
    if json_output:
        print_json(rows)
        return
    table = Table("sku", "location", "bin", "on hand", "reserved", "free", "free total", "channels")
    for row in rows:
        channels = " ".join(f"{c.channel}={c.available}" for c in row.channels)
        shelves = {
            shelf.location: shelf.bin + ("" if shelf.sequence is None else f" (#{shelf.sequence})")
            for shelf in row.bins
        }
        label = row.sku + (" (bundle)" if row.bundle else "")
        for index, level in enumerate(row.locations or [None]):
            first = index == 0
            table.add_row(
                label if first else "",
                level.location if level else "-",
                shelves.get(level.location, "") if level else "",
                str(level.on_hand) if level else "-",
                str(level.reserved) if level else "-",
                str(level.free) if level else "-",
                str(row.free_total) if first else "",
                channels if first else "",
            )
    console.print(table)


@app.command("history")
def history(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="SKU code.")],
    json_output: JsonOption = False,
) -> None:
    """Every movement of a SKU, oldest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = movement_list(session, sku_by_code(session, sku))
    if json_output:
        print_json(rows)
        return
    table = Table("at", "location", "kind", "delta", "on hand after", "reason", "reference")
    for row in rows:
        table.add_row(
            row.at[:19].replace("T", " "),
            row.location,
            row.kind,
            f"{row.delta:+d}",
            str(row.on_hand_after),
            row.reason,
            row.reference or "",
        )
    console.print(table)
