"""`omnisync skus`: the catalogue."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from omnisync.core.catalog import (
    SKU_CODE_RULE,
    SkuEdit,
    edit_sku,
    retire_sku,
    unretire_sku,
    upsert_sku,
)
from omnisync.core.errors import DomainError, InvalidRequest
from omnisync.hub.commands import barcodes
from omnisync.hub.commands.common import (
    EXIT_USAGE,
    JsonOption,
    console,
    fail,
    hub_session,
    print_json,
    say,
)
from omnisync.hub.csv_imports import SkuRow, sku_import_order, whole_number_at_least_zero
from omnisync.hub.views import sku_list

app = typer.Typer(
    help="Add, import, edit, retire and list SKUs (bundles included).", no_args_is_help=True
)
app.add_typer(barcodes.app, name="barcodes")


def parse_components(values: list[str], where: str = "--component") -> dict[str, int]:
    """`CODE:QTY` items into {code: quantity}; a bare CODE means 1."""
    components: dict[str, int] = {}
    for value in values:
        code, _, quantity = value.strip().rpartition(":") if ":" in value else (value, "", "1")
        code = code.strip()
        if not code or not quantity.strip().isdigit() or int(quantity) <= 0:
            raise InvalidRequest(
                f"{where}: {value!r} is not CODE:QUANTITY with a positive quantity"
            )
        if code in components:
            raise InvalidRequest(f"{where}: component {code!r} is listed twice")
        components[code] = int(quantity)
    return components


@app.command("add")
def add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The SKU code.")],
    title: Annotated[str | None, typer.Option(help="Product title.")] = None,
    barcode: Annotated[str | None, typer.Option(help="EAN/UPC/GTIN.")] = None,
    component: Annotated[
        list[str] | None,
        typer.Option(help="Makes a bundle: CODE:QTY of a component (repeat the option)."),
    ] = None,
    safety_stock: Annotated[
        int | None, typer.Option(min=0, help="Units never offered on any channel.")
    ] = None,
) -> None:
    """Add a SKU, or update the one with this code."""
    with hub_session(ctx) as (_, session):
        components = parse_components(component) if component else None
        sku = upsert_sku(
            session,
            code,
            title=title,
            barcode=barcode,
            safety_stock=safety_stock,
            components=components,
        )
        kind = "bundle" if components else "SKU"
        console.print(f"{kind} {sku.code} saved", markup=False, highlight=False)


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
) -> None:
    """Import SKUs from CSV: columns code, title, barcode, components ("A:2 B:1"), safety_stock.

    Only `code` is required. Bundles may come before their components (plain SKUs are
    saved first); a code on two rows, or a bundle inside a bundle, is refused. All rows
    are imported, or none when any row is wrong.
    """
    with hub_session(ctx) as (_, session), file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "code" not in reader.fieldnames:
            fail(f"{file}: the header must have a 'code' column")
        rows, problems = _read_rows(reader, str(file))
        ordered, order_problems = sku_import_order(rows, str(file))
        problems += order_problems
        if not problems:  # else saving would only add the same problems in other words
            problems = [found for row in ordered if (found := _save_row(session, row, str(file)))]
        if problems:
            fail("nothing imported:\n" + "\n".join(problems))
        console.print(f"{len(rows)} SKU(s) imported from {file}", markup=False, highlight=False)


def _read_rows(rows: Iterable[dict[str, str]], source: str) -> tuple[list[SkuRow], list[str]]:
    """Every row read, and the problems of those that cannot be."""
    read: list[SkuRow] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=2):
        try:
            read.append(_read_row(row, number, f"{source}:{number}"))
        except DomainError as error:
            problems.append(str(error))
    return read, problems


def _read_row(row: dict[str, str], number: int, where: str) -> SkuRow:
    code = (row.get("code") or "").strip()
    if not code:
        raise InvalidRequest(f"{where}: code is empty")
    try:
        safety_stock = whole_number_at_least_zero("safety_stock", row.get("safety_stock") or "")
    except InvalidRequest as error:
        raise InvalidRequest(f"{where}: {error}") from None
    components_text = (row.get("components") or "").replace(";", " ").split()
    return SkuRow(
        line=number,
        code=code,
        title=row.get("title") or None,
        barcode=row.get("barcode") or None,
        safety_stock=safety_stock,
        components=parse_components(components_text, where) if components_text else None,
    )


def _save_row(session: Session, row: SkuRow, source: str) -> str | None:
    """Save the row; the problem, if it cannot be saved."""
    where = f"{source}:{row.line}"
    try:
        upsert_sku(
            session,
            row.code,
            title=row.title,
            barcode=row.barcode,
            safety_stock=row.safety_stock,
            components=row.components,
        )
    except DomainError as error:
        return str(error) if str(error).startswith(where) else f"{where}: {error}"
    return None


@app.command("list")
def list_skus(
    ctx: typer.Context,
    include_retired: Annotated[
        bool, typer.Option("--all", help="Retired SKUs too (hidden by default).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List the SKUs still sold (with --all, retired ones too)."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = sku_list(session, include_retired=include_retired)
    if json_output:
        print_json(rows)
        return
    table = Table("code", "title", "barcode", "safety", "components", "retired")
    for row in rows:
        recipe = " ".join(f"{c.sku}:{c.quantity}" for c in row.components)
        table.add_row(
            row.code,
            row.title,
            row.barcode or "",
            str(row.safety_stock),
            recipe,
            row.retired_at or "",
        )
    console.print(table)


@app.command("edit")
def edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The SKU's current code.")],
    title: Annotated[str | None, typer.Option(help="A new product title.")] = None,
    barcode: Annotated[str | None, typer.Option(help='A new EAN/UPC/GTIN ("" clears it).')] = None,
    safety_stock: Annotated[
        int | None, typer.Option(min=0, help="Units never offered on any channel.")
    ] = None,
    new_code: Annotated[
        str | None,
        typer.Option(
            "--code",
            help=f"Rename the SKU ({SKU_CODE_RULE}); its stock, history, listings and "
            "order lines stay with it.",
        ),
    ] = None,
) -> None:
    """Change a SKU in place: title, barcode, safety stock or its code."""
    if title is None and barcode is None and safety_stock is None and new_code is None:
        fail("nothing to change: give --title, --barcode, --safety-stock or --code", EXIT_USAGE)
    with hub_session(ctx) as (_, session):
        edited = edit_sku(
            session,
            code,
            title=title,
            barcode=barcode,
            safety_stock=safety_stock,
            new_code=new_code,
        )
    say(_edit_summary(edited))


def _edit_summary(edited: SkuEdit) -> str:
    if not edited.changed:
        return f"SKU {edited.sku.code}: nothing changed"
    changes = [
        f"renamed from {edited.previous_code}" if name == "code" else f"{name} changed"
        for name in edited.changed
    ]
    summary = f"SKU {edited.sku.code}: {', '.join(changes)}"
    if "code" in edited.changed:
        summary += (
            "; listings bound to it stay bound, and channels that name it "
            f"{edited.previous_code} keep selling it under that SKU"
        )
    return summary


@app.command("retire")
def retire(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help="The SKU's code.")]
) -> None:
    """Stop selling a SKU: every channel is offered 0 of it, it takes no stock, and
    `skus list` hides it (`--all` shows it). Refused while stock of it is on hand, open
    order lines want it, or a bundle still sold contains it; the message names them."""
    with hub_session(ctx) as (_, session):
        sku = retire_sku(session, code)
    say(
        f"SKU {sku.code} retired: its listings are set to 0 on every channel at the next "
        f"push; `omnisync skus unretire {sku.code}` sells it again"
    )


@app.command("unretire")
def unretire(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help="The SKU's code.")]
) -> None:
    """Sell a retired SKU again: it takes stock, and its listings get its quantity."""
    with hub_session(ctx) as (_, session):
        sku = unretire_sku(session, code)
    say(f"SKU {sku.code} is sold again: its listings get its quantity at the next push")
