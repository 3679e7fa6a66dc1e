"""`omnisync skus barcodes`: barcodes of a SKU's packagings, each counting its units when
scanned (a case of 6 counts 6; the SKU's own barcode counts 1). One code means one
thing: a packaging barcode equal to a SKU's barcode or code, or to another packaging
barcode, is refused (core/packaging.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from omnisync.core.catalog import sku_by_code
from omnisync.core.packaging import (
    QUANTITY_MAX,
    add_packaging_barcode,
    packaging_barcodes,
    remove_packaging_barcode,
)
from omnisync.hub.commands.common import JsonOption, console, hub_session, print_json, say
from omnisync.hub.views.warehouse import barcode_list, barcode_view

app = typer.Typer(
    help="Packaging barcodes: a code that counts several units (a case of 6).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU's code.")],
    barcode: Annotated[str, typer.Argument(help="The packaging's barcode.")],
    quantity: Annotated[
        int,
        typer.Option(
            "--quantity", "-q", min=1, max=QUANTITY_MAX, help="Units of the SKU it holds."
        ),
    ],
    name: Annotated[str, typer.Option(help='What the packaging is called ("case").')] = "",
    json_output: JsonOption = False,
) -> None:
    """Give SKU a packaging barcode that counts QUANTITY units when scanned."""
    with hub_session(ctx) as (_, session):
        owner = sku_by_code(session, sku)
        row = add_packaging_barcode(session, owner, barcode, quantity, name)
        shown = barcode_view(row, owner.code)
    if json_output:
        print_json(shown)
        return
    what = f"{shown.name} of {shown.quantity}" if shown.name else f"packaging of {shown.quantity}"
    say(f"barcode {shown.barcode} is SKU {shown.sku}'s {what}: a scan counts {shown.quantity}")


@app.command("list")
def list_barcodes(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU's code.")],
    json_output: JsonOption = False,
) -> None:
    """The SKU's packaging barcodes, oldest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        owner = sku_by_code(session, sku)
        rows = barcode_list(packaging_barcodes(session, owner), owner)
    if json_output:
        print_json(rows)
        return
    table = Table("barcode", "quantity", "name", "added")
    for row in rows:
        table.add_row(row.barcode, str(row.quantity), row.name, row.created_at)
    console.print(table)


@app.command("remove")
def remove(
    ctx: typer.Context, barcode: Annotated[str, typer.Argument(help="The packaging barcode.")]
) -> None:
    """Forget a packaging barcode: a scan of it counts nothing any more."""
    with hub_session(ctx) as (_, session):
        row, owner = remove_packaging_barcode(session, barcode)
    say(f"barcode {row.barcode} removed from SKU {owner.code}")
