"""`omnisync skus`: the catalogue."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from core.catalog import upsert_sku
from core.errors import DomainError, InvalidRequest
from hub.commands.common import JsonOption, console, fail, hub_session, print_json
from hub.views import sku_list

app = typer.Typer(help="Add, import and list SKUs (bundles included).", no_args_is_help=True)


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

    Only `code` is required. All rows are imported, or none when any row is wrong.
    """
    with hub_session(ctx) as (_, session), file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "code" not in reader.fieldnames:
            fail(f"{file}: the header must have a 'code' column")
        problems: list[str] = []
        rows = list(reader)
        for number, row in enumerate(rows, start=2):
            try:
                _import_row(session, row, f"{file}:{number}")
            except DomainError as error:
                problems.append(str(error))
        if problems:
            fail("nothing imported:\n" + "\n".join(problems))
        console.print(f"{len(rows)} SKU(s) imported from {file}", markup=False, highlight=False)


def _import_row(session: Session, row: dict[str, str], where: str) -> None:
    code = (row.get("code") or "").strip()
    if not code:
        raise InvalidRequest(f"{where}: code is empty")
    safety = (row.get("safety_stock") or "").strip()
    if safety and not safety.isdigit():
        raise InvalidRequest(f"{where}: safety_stock {safety!r} is not a whole number")
    components_text = (row.get("components") or "").replace(";", " ").split()
    try:
        upsert_sku(
            session,
            code,
            title=row.get("title") or None,
            barcode=row.get("barcode") or None,
            safety_stock=int(safety) if safety else None,
            components=parse_components(components_text, where) if components_text else None,
        )
    except DomainError as error:
        if str(error).startswith(where):
            raise
        raise InvalidRequest(f"{where}: {error}") from None


@app.command("list")
def list_skus(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List every SKU."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = sku_list(session)
    if json_output:
        print_json(rows)
        return
    table = Table("code", "title", "barcode", "safety", "components")
    for row in rows:
        recipe = " ".join(f"{c['sku']}:{c['quantity']}" for c in row["components"])
        table.add_row(
            row["code"], row["title"], row["barcode"] or "", str(row["safety_stock"]), recipe
        )
    console.print(table)
