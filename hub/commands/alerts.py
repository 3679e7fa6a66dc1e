"""`omnisync alerts`: what the hub raised; resolve one by hand.

`list` and `show` only read. `resolve ID` resolves an open alert, recording who
(`--by`, by default the OS user), when and why (`--note`), and says what its rule
does next: one whose condition still holds opens again (a new alert) on the running
hub's next evaluation, or the tracking job's next run for `tracking_unknown`; a
`carrier_exception` stays resolved (sync/alert_resolution.py).

Exit codes: 0 done; 1 an unknown id or an alert resolved already; 2 bad usage.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from omnisync.core.types import AlertState
from omnisync.hub.commands.common import JsonOption, console, hub_session, print_json, say
from omnisync.hub.commands.resolving import ByOption, resolution_text, who_resolves
from omnisync.hub.views import alert_list, alert_resolution_view, find_alert
from omnisync.hub.views.shapes import AlertDeliveryOut, AlertOut
from omnisync.sync.alert_resolution import resolve_by_hand

app = typer.Typer(help="Alerts the hub raised: inspect them, resolve one.", no_args_is_help=True)

AlertArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, help="The alert's id (see `alerts list`).")
]
BY_THE_HUB = "the hub"
"""Who resolved an alert without `resolved_by`: its rule, once the condition cleared."""


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    resolved: Annotated[
        bool | None,
        typer.Option("--resolved/--open", help="Only resolved, or only open, alerts."),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. oversold_order).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    json_output: JsonOption = False,
) -> None:
    """Alerts, open and resolved, newest first."""
    state = None if resolved is None else AlertState.RESOLVED if resolved else AlertState.OPEN
    with hub_session(ctx, read_only=True) as (_, session):
        rows = alert_list(session, state=state, channel=channel, rule=rule, limit=limit)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "rule", "channel", "severity", "first seen", "count", "message", "state")
    for row in rows:
        table.add_row(
            str(row.id),
            row.rule,
            row.channel or "",
            row.severity,
            row.first_seen,
            str(row.count),
            Text(row.message),  # no markup: it may quote a channel's words
            Text(_state(row)),
        )
    console.print(table)


@app.command("show")
def show_alert(
    ctx: typer.Context, alert_id: AlertArgument, json_output: JsonOption = False
) -> None:
    """One alert with its details and what each notifier was told of it."""
    with hub_session(ctx, read_only=True) as (_, session):
        row = find_alert(session, alert_id)
    if json_output:
        print_json(row)
        return
    say(f"alert {row.id} ({_label(row)}), {row.severity}: {_state(row)}")
    say(row.message)
    say(f"first seen {row.first_seen}, last seen {row.last_seen}, count {row.count}")
    say("details: " + json.dumps(row.details, ensure_ascii=False, sort_keys=True))
    for delivery in row.deliveries:
        say(_delivery_text(delivery))


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    alert_id: AlertArgument,
    note: Annotated[str | None, typer.Option("--note", help="Why; kept on the alert.")] = None,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resolve an open alert by hand. If its condition still holds, its rule opens it again
    (as a new alert) and this says so; a carrier_exception stays resolved."""
    with hub_session(ctx) as (_, session):
        view = alert_resolution_view(
            resolve_by_hand(session, alert_id, by=who_resolves(by), note=note)
        )
    if json_output:
        print_json(view)
        return
    alert = view.alert
    say(f"alert {alert.id} ({_label(alert)}) resolved by {alert.resolved_by}; {view.outlook}")


def _label(row: AlertOut) -> str:
    return f"{row.rule}, {row.channel}" if row.channel else row.rule


def _state(row: AlertOut) -> str:
    return resolution_text(row, unnamed=BY_THE_HUB) or "open"


def _delivery_text(delivery: AlertDeliveryOut) -> str:
    told = [
        f"{label} {at}"
        for label, at in (
            ("open sent", delivery.announced_at),
            ("last reminder", delivery.reminded_at),
            ("resolved sent", delivery.resolved_sent_at),
        )
        if at
    ]
    if delivery.failures:
        told.append(
            f"{delivery.failures} failure(s) in a row, next attempt "
            f"{delivery.next_attempt_at}: {delivery.last_error}"
        )
    return f"notifier {delivery.notifier}: " + ("; ".join(told) or "nothing sent yet")
