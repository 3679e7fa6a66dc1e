"""`omnisync stock bins`: where each SKU is kept at each location, and its place on the
picker's walk.

A bins file has the columns `sku,location,bin,sequence` (`location` empty: the first
location of hub.yaml; `sequence` empty: after every numbered bin). The whole file is
checked before anything is written, and every problem is named by file, line and
column; with any problem, nothing is imported. A SKU named again at a location it has
a bin at gets the file's bin and sequence.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlmodel import Session

from omnisync.core.bins import set_bin, shelf_location, stocked_sku, valid_bin, valid_sequence
from omnisync.core.catalog import location_by_code
from omnisync.core.errors import DomainError
from omnisync.core.models import Location, Sku
from omnisync.hub.commands.common import JsonOption, console, fail, hub_session, print_json, say
from omnisync.hub.csv_imports import repeated_keys, whole_number_at_least_zero
from omnisync.hub.views.warehouse import bin_list

app = typer.Typer(help="Bins: where each SKU is kept, in walking order.", no_args_is_help=True)

BIN_COLUMNS = ("sku", "location", "bin", "sequence")
Value = TypeVar("Value")


@app.command("import")
def import_bins(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
) -> None:
    """Import bins from CSV: columns sku, location, bin, sequence (sequence may be empty).

    One row per SKU and location; a row for a SKU that has a bin there replaces it. All
    rows are imported, or none when any is wrong (each problem names its line and column).
    """
    with hub_session(ctx) as (hub, session), file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        present = {name.strip() for name in reader.fieldnames or ()}
        missing = [name for name in BIN_COLUMNS if name not in present]
        if missing:
            fail(f"{file}: the header lacks column(s) {', '.join(missing)}")
        source, default_location = str(file), hub.settings.default_location
        rows: list[tuple[int, Sku, Location, str, int | None]] = []
        problems: list[str] = []
        for line, row in enumerate(reader, start=2):
            cells = {name.strip(): (value or "").strip() for name, value in row.items() if name}
            read = _read_row(session, cells, f"{source}:{line}", default_location, problems)
            if read is not None:
                rows.append((line, *read))
        problems += [
            f"{source}:{again}: SKU {sku!r} at {location} already has a row "
            f"(line {first}): one row per SKU and location"
            for first, again, (sku, location) in repeated_keys(
                (line, (sku.code, location.code)) for line, sku, location, _, _ in rows
            )
        ]
        if problems:
            fail("nothing imported:\n" + "\n".join(problems))
        for _, sku, location, name, sequence in rows:
            set_bin(session, sku, location, name, sequence)
    say(f"{len(rows)} bin(s) imported from {file}")


def _read_row(
    session: Session,
    cells: dict[str, str],
    where: str,
    default_location: str,
    problems: list[str],
) -> tuple[Sku, Location, str, int | None] | None:
    """The row's SKU, location, bin and sequence; None, with a problem per bad column."""
    found: list[str] = []

    def cell(column: str, read: Callable[[str], Value]) -> Value | None:
        try:
            return read(cells.get(column, ""))
        except DomainError as error:
            found.append(f"{where}: column {column}: {error}")
            return None

    sku = cell("sku", lambda text: stocked_sku(session, text))
    location = cell("location", lambda text: shelf_location(session, text or default_location))
    name = cell("bin", valid_bin)
    sequence = cell(
        "sequence", lambda text: valid_sequence(whole_number_at_least_zero("sequence", text))
    )
    problems += found
    if found or sku is None or location is None or name is None:
        return None
    return sku, location, name, sequence


@app.command("list")
def list_bins(
    ctx: typer.Context,
    location: Annotated[
        str | None, typer.Option("--location", "-l", help="Only this location.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Bins by location, in walking order (picking sequence, then bin, then SKU)."""
    with hub_session(ctx, read_only=True) as (_, session):
        where = location_by_code(session, location) if location else None
        rows = bin_list(session, location=where)
    if json_output:
        print_json(rows)
        return
    table = Table("location", "sequence", "bin", "sku")
    for row in rows:
        table.add_row(
            row.location, "" if row.sequence is None else str(row.sequence), row.bin, row.sku
        )
    console.print(table)
