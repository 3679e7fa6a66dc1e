"""`omnisync quarantine`: payloads the hub could not map, kept verbatim; retry or dismiss them.

`list` and `show` only read. `retry ID` maps the kept body again (after a fix to the
mapping, say) and takes in what it carries; `resolve ID` dismisses it. Either records
who (`--by`, by default the OS user), when and why, and the channel's
`quarantined_payload` alert resolves with its last open payload.

Exit codes: 0 done; 1 an unknown id, a payload resolved already, or one that still
does not map; 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from omnisync.core.quarantine import Resolution, resolve_payload
from omnisync.hub.bootstrap import sync_engine
from omnisync.hub.commands.common import (
    JsonOption,
    console,
    failing_on_domain_errors,
    hub_session,
    open_hub,
    print_json,
    say,
)
from omnisync.hub.commands.resolving import ByOption, resolution_text, who_resolves
from omnisync.hub.views import find_quarantined, quarantine_list, quarantine_resolution_view
from omnisync.hub.views.shapes import QuarantineOut
from omnisync.sync.quarantine import retry_payload

app = typer.Typer(
    help="Payloads that could not be mapped: inspect, retry or dismiss them.",
    no_args_is_help=True,
)

PayloadArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, help="The payload's id (see `quarantine list`).")
]


@app.command("list")
def list_payloads(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    resolved: Annotated[
        bool | None,
        typer.Option("--resolved/--open", help="Only resolved, or only open, payloads."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    json_output: JsonOption = False,
) -> None:
    """Quarantined payloads without their bodies, newest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = quarantine_list(session, channel=channel, resolved=resolved, limit=limit)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "channel", "kind", "external id", "received", "reason", "resolved")
    for row in rows:
        table.add_row(
            str(row.id),
            row.channel or "",
            row.kind,
            row.external_id or "",
            row.received_at,
            Text(row.reason),  # no markup: the channel's words
            Text(resolution_text(row)),
        )
    console.print(table)


@app.command("show")
def show_payload(
    ctx: typer.Context, payload_id: PayloadArgument, json_output: JsonOption = False
) -> None:
    """One payload with its raw body, as received."""
    with hub_session(ctx, read_only=True) as (_, session):
        row = find_quarantined(session, payload_id)
    if json_output:
        print_json(row)
        return
    say(f"quarantined payload {row.id} ({_label(row)}), received {row.received_at}")
    say(f"reason: {row.reason}")
    say(resolution_text(row) or "open")
    say(row.raw)


@app.command("retry")
def retry(
    ctx: typer.Context,
    payload_id: PayloadArgument,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Map the kept body again, e.g. after a fix to the mapping. If it maps now, its order
    goes in as a webhook delivery's would and the payload is resolved; if not, it stays
    quarantined and the error says why (exit code 1)."""
    hub = open_hub(ctx)
    engine = sync_engine(hub)
    try:
        with failing_on_domain_errors():
            resolution = retry_payload(engine, payload_id, by=who_resolves(by))
    finally:
        engine.close()
        hub.engine.dispose()
    _report(resolution, json_output)


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    payload_id: PayloadArgument,
    note: Annotated[str | None, typer.Option("--note", help="Why; kept on the payload.")] = None,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Dismiss the payload: it is kept, nothing of it goes in. With the channel's last open
    payload, its quarantined_payload alert resolves."""
    with hub_session(ctx) as (_, session):
        resolution = resolve_payload(session, payload_id, by=who_resolves(by), note=note)
    _report(resolution, json_output)


def _report(resolution: Resolution, json_output: bool) -> None:
    view = quarantine_resolution_view(resolution)
    if json_output:
        print_json(view)
        return
    payload = view.payload
    say(f"quarantined payload {payload.id} ({_label(payload)}): {resolution_text(payload)}")
    if resolution.alert_resolved:
        say(
            f"no payload of {payload.channel} is open any more: "
            "its quarantined_payload alert is resolved"
        )


def _label(row: QuarantineOut) -> str:
    parts = [row.channel or "no channel", row.kind, row.external_id]
    return " ".join(part for part in parts if part)
