"""`omnisync report`: figures over a period, read from the database (no running hub needed).

- `returns`: the return rate per channel and per SKU (hub/views/return_rates.py says
  which orders and units count).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from omnisync.core.clock import clock_of
from omnisync.hub.commands.common import JsonOption, console, hub_session, print_json, say
from omnisync.hub.settings import parse_interval
from omnisync.hub.views.return_rates import returns_report
from omnisync.hub.views.shapes import ReturnRateOut

app = typer.Typer(help="Figures over a period.", no_args_is_help=True)


def _period(value: str) -> timedelta:
    try:
        return parse_interval(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} {error}") from None


@app.command("returns")
def returns(
    ctx: typer.Context,
    since: Annotated[
        timedelta,
        typer.Option(
            "--since",
            parser=_period,
            metavar="PERIOD",
            show_default="30d",
            help="How far back orders were placed: 30d, 12h, 2d12h.",
        ),
    ] = timedelta(days=30),
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    json_output: JsonOption = False,
) -> None:
    """The return rate per channel and per SKU: of the orders placed in the period, the
    units shipped, asked back, come back, restocked and damaged."""
    with hub_session(ctx, read_only=True) as (_, session):
        until = clock_of(session).now()
        report = returns_report(session, until - since, until, channel=channel)
    if json_output:
        print_json(report)
        return
    say(f"orders placed from {report.since} to {report.until}; return rate = {report.rate_of}")
    for title, rows in (("channel", [*report.channels, report.total]), ("sku", report.skus)):
        table = Table(
            "channel",
            *(("sku",) if title == "sku" else ()),
            "orders shipped",
            "units shipped",
            "returned",
            "came back",
            "restocked",
            "damaged",
            "return rate",
        )
        for row in rows:
            table.add_row(*_cells(row, with_sku=title == "sku"))
        console.print(table)


def _cells(row: ReturnRateOut, *, with_sku: bool) -> list[str]:
    rate = f"{row.return_rate * 100:.1f}%" if row.return_rate is not None else "-"
    sku = [row.sku or "(no hub SKU)"] if with_sku else []
    return [
        row.channel or "(all)",
        *sku,
        str(row.orders_shipped),
        str(row.units_shipped),
        str(row.units_returned),
        str(row.units_received),
        str(row.units_restocked),
        str(row.units_damaged),
        rate,
    ]
