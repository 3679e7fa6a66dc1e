"""`omnisync check`: the configuration, and with --connect each channel as it answers."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from omnisync.connectors.base import ConnectorError
from omnisync.connectors.registry import connector_for
from omnisync.core.redaction import redact
from omnisync.hub.bootstrap import sync_channel
from omnisync.hub.commands.common import (
    EXIT_FAILED,
    JsonOption,
    console,
    print_json,
    report_config_problems,
    state,
)
from omnisync.hub.settings import ChannelConfig, ConfigError, Settings, load_settings

ConnectOption = Annotated[
    bool,
    typer.Option(
        "--connect",
        help="Also talk to every enabled channel: credentials, permissions, locations.",
    ),
]


def check(
    ctx: typer.Context, json_output: JsonOption = False, connect: ConnectOption = False
) -> None:
    """Validate the configuration: list the channels, or every problem (exit 2).

    With --connect, each enabled channel is asked too; exit 1 if any reports a problem
    (hub locations it cannot map, a refused token, an unreachable endpoint)."""
    try:
        settings = load_settings(state(ctx).config_dir)
    except ConfigError as error:
        report_config_problems(error)
    problems = (
        {c.name: channel_problems(c, settings) for c in settings.channels if c.enabled}
        if connect
        else {}
    )
    rows: list[dict[str, Any]] = []
    for channel in settings.channels:
        row: dict[str, Any] = {
            "name": channel.name,
            "type": channel.type,
            "enabled": channel.enabled,
            "locations": channel.locations,
            "file": str(channel.source),
        }
        if connect:
            row["problems"] = problems.get(channel.name, [])
        rows.append(row)
    if json_output:
        print_json({"locations": [loc.code for loc in settings.hub.locations], "channels": rows})
    else:
        _print_table(settings, rows, connect=connect)
    if any(problems.values()):
        raise typer.Exit(EXIT_FAILED)


def channel_problems(channel: ChannelConfig, settings: Settings) -> list[str]:
    """What the channel's connector finds wrong talking to the channel (secrets redacted)."""
    cls = connector_for(channel.type)
    if cls is None:
        return [f"no connector for type {channel.type!r}"]
    connector = cls(channel.settings, hub_locations=dict(sync_channel(channel, settings).locations))
    try:
        found = connector.check()
    except ConnectorError as error:  # check() reports in words; this is a backstop
        found = [f"{type(error).__name__}: {error}"]
    finally:
        connector.close()
    return [redact(line, settings.secrets) for line in found]


def _print_table(settings: Settings, rows: list[dict[str, Any]], *, connect: bool) -> None:
    columns = ["channel", "type", "enabled", "locations", "file"] + (
        ["channel says"] if connect else []
    )
    table = Table(*columns)
    for row in rows:
        locations = ", ".join(row["locations"]) if row["locations"] is not None else "(all)"
        cells = [
            row["name"],
            row["type"],
            "yes" if row["enabled"] else "no",
            locations,
            row["file"],
        ]
        if connect:
            said = row.get("problems") or []
            cells.append("\n".join(said) if said else ("OK" if row["enabled"] else "(disabled)"))
        table.add_row(*cells)
    console.print(table)
    failing = sum(1 for row in rows if row.get("problems"))
    verdict = "configuration OK" if not failing else f"{failing} channel(s) report problems"
    console.print(
        f"{verdict}: {len(rows)} channel(s), {len(settings.hub.locations)} location(s)",
        markup=False,
        highlight=False,
    )
