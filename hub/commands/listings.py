"""`omnisync listings`: which channel listing sells which hub SKU, and every change of that.

Every change goes through hub/linking.py, as the API's does: the core change, then the
channel's `unlinked_listings` alert refreshed in the same transaction.

Exit codes follow what went wrong. Naming something that is not there (a channel, a
listing or a SKU: NotFound) is bad usage, exit code 2, so a script can tell a typo from
a refusal. A request that does not fit the current state (the listing sells another
SKU, a name that matches several listings, a bad row of a links file) is a failed
operation, exit code 1, and nothing is changed. Linking a listing again to the SKU it
sells already changes nothing and succeeds (exit code 0): a script may run twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.errors import NotFound
from omnisync.core.listing_links import (
    ACTOR_CLI,
    ACTOR_LINKS_CSV,
    IDENTIFYING_KEYS,
    RowsRefused,
)
from omnisync.core.models import Channel
from omnisync.core.types import LinkMethod
from omnisync.hub.bootstrap import Hub
from omnisync.hub.commands.common import (
    EXIT_USAGE,
    JsonOption,
    console,
    fail,
    hub_session,
    print_json,
    say,
)
from omnisync.hub.csv_imports import LINK_COLUMNS, missing_link_columns, read_link_rows
from omnisync.hub.linking import auto_link_channel, link, link_all, unlink
from omnisync.hub.views.listings import link_event_list, listing_list
from omnisync.hub.views.shapes import AutoLinkOut, LinkChangeOut, ListingOut

app = typer.Typer(
    help="Channel listings and the hub SKUs they sell: list, link, unlink, auto-link, "
    "import links from CSV, and the history of every link.",
    no_args_is_help=True,
)

ChannelArgument = Annotated[str, typer.Argument(help="The channel's name (its channel file).")]
ListingArgument = Annotated[
    str,
    typer.Argument(
        help="The listing: its channel SKU, or the channel's id for it (variant id, ASIN, "
        "listing id... as `listings list` shows it)."
    ),
]


class LinkRule(StrEnum):
    """What `auto-link --by` may match on."""

    SKU = "sku"
    BARCODE = "barcode"


@contextmanager
def listing_session(
    ctx: typer.Context, *, read_only: bool = False
) -> Iterator[tuple[Hub, Session]]:
    """hub_session, where naming something unknown is exit code 2 (other domain errors: 1)."""
    with hub_session(ctx, read_only=read_only) as (hub, session):
        try:
            yield hub, session
        except NotFound as error:
            fail(str(error), EXIT_USAGE)


def _channel_or_none(session: Session, name: str | None) -> Channel | None:
    return None if name is None else channel_by_name(session, name)


@app.command("list")
def list_listings(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only listings linked to no hub SKU.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Listings by channel, with the hub SKU each is linked to and how.

    Columns: the channel SKU and the channel's id, title, barcode, the linked SKU and
    how it was linked, the quantity the channel showed at the last listings read, and
    whether a stock push is pending (dirty), held near the channel's daily revision
    limit (with when it goes) or coalesced; `--json` has the words of each."""
    with listing_session(ctx, read_only=True) as (_, session):
        rows = listing_list(session, channel=_channel_or_none(session, channel), unlinked=unlinked)
    if json_output:
        print_json(rows)
        return
    table = Table(
        "channel",
        "listing",
        "channel SKU",
        "channel id",
        "title",
        "barcode",
        "linked SKU",
        "how",
        "channel qty",
        "dirty",
    )
    for row in rows:
        table.add_row(
            Text(row.channel),
            Text(row.listing),
            Text(row.channel_sku or ""),
            Text(telling_channel_id(row)),
            Text(row.title),
            Text(row.barcode or ""),
            Text(row.sku or ""),
            row.link_method or "",
            "" if row.channel_quantity is None else str(row.channel_quantity),
            _push_state(row),
        )
    console.print(table)


def _push_state(row: ListingOut) -> str:
    """The `dirty` column: "yes" while a push is pending, with why it waits if it does."""
    if row.untracked_stock is not None:
        return "never: stock untracked"
    if row.push_held_until is not None:
        return f"held until {row.push_held_until}"
    if row.push_note is not None:
        return "yes, coalesced" if row.dirty else "coalesced"
    return "yes" if row.dirty else ""


def telling_channel_id(row: ListingOut) -> str:
    """The channel's id that names the listing best (a variant before its product), as the
    channel gives it; "" when it has none."""
    for key in IDENTIFYING_KEYS:
        value = row.channel_ids.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


@app.command("link")
def link_command(
    ctx: typer.Context,
    channel: ChannelArgument,
    listing: ListingArgument,
    sku: Annotated[str, typer.Argument(help="The hub SKU's code.")],
    json_output: JsonOption = False,
) -> None:
    """Link a listing to a hub SKU; its waiting order lines reserve.

    The channel is offered the SKU's quantity at the next push, and the order lines
    that waited under the listing bind and reserve, oldest order first. Exit code 2 for
    an unknown channel, listing or SKU; 1 when the listing sells another SKU (unlink it
    first). Linked to that SKU already: nothing changes (exit code 0)."""
    with listing_session(ctx) as (hub, session):
        change = link(
            session,
            channel,
            listing,
            sku,
            actor=ACTOR_CLI,
            unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
        )
    if json_output:
        print_json(change)
        return
    say(change.message if change.changed else f"nothing changed: {change.message}")


@app.command("unlink")
def unlink_command(
    ctx: typer.Context,
    channel: ChannelArgument,
    listing: ListingArgument,
    json_output: JsonOption = False,
) -> None:
    """Undo a listing's link; its open order lines free what they hold.

    Those lines reserve nothing until the listing is linked again; the listing is no
    longer pushed, and neither the listings job nor `auto-link` links it again (only
    `listings link` does)."""
    with listing_session(ctx) as (hub, session):
        change = unlink(
            session,
            channel,
            listing,
            actor=ACTOR_CLI,
            unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
        )
    if json_output:
        print_json(change)
        return
    if change.changed and not change.lines:
        say(f"{change.message}: no open order line held stock through it")
    else:
        say(change.message)


@app.command("auto-link")
def auto_link_command(
    ctx: typer.Context,
    channel: Annotated[
        str | None, typer.Option(help="Only this channel (default: every enabled channel).")
    ] = None,
    by: Annotated[
        list[LinkRule] | None,
        typer.Option(
            "--by",
            help="Match on the channel SKU (it is a hub SKU's code) or on the barcode (as a "
            "GTIN, one hub SKU's and one listing's of the channel); repeat for both "
            "(default: both, by SKU first).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Link the unlinked listings a rule matches: by channel SKU, by barcode.

    Listings an operator unlinked are left alone; those a rule matched but could not
    link (a barcode on two hub SKUs or on two listings) are listed with the reason."""
    rules = [LinkMethod(rule.value) for rule in dict.fromkeys(by or list(LinkRule))]
    with listing_session(ctx) as (hub, session):
        names = [channel] if channel is not None else _enabled_channels(session)
        reports = [
            auto_link_channel(
                session,
                name,
                by=rules,
                actor=ACTOR_CLI,
                unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
            )
            for name in names
        ]
    if json_output:
        print_json(reports)
        return
    for report in reports:
        _print_auto_link(report)


def _enabled_channels(session: Session) -> list[str]:
    return list(
        session.exec(select(Channel.name).where(col(Channel.enabled)).order_by(col(Channel.name)))
    )


def _print_auto_link(report: AutoLinkOut) -> None:
    say(f"{report.channel}: {len(report.linked)} listing(s) linked")
    for change in report.linked:
        say(f"  {change.message}")
    if report.not_linked:
        say(f"{report.channel}: {len(report.not_linked)} listing(s) matched but not linked")
        for reason in report.not_linked:
            say(f"  {reason}")


@app.command("import")
def import_links(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help=f"CSV file with columns {', '.join(LINK_COLUMNS)}."
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Link listings to hub SKUs from CSV: columns channel, listing, sku.

    `listing` is the listing's channel SKU or the channel's id for it, `sku` the hub
    SKU's code. Every row is linked, or none: each bad row is named as FILE:LINE (exit
    code 1); a header without one of the columns is exit code 2. A row linked already
    changes nothing, so importing the same file again changes nothing."""
    source = str(file)
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = missing_link_columns(reader.fieldnames)
        if missing:
            fail(
                f"{source}: the header has no {', '.join(repr(name) for name in missing)} "
                f"column (a links file has columns {', '.join(LINK_COLUMNS)})",
                EXIT_USAGE,
            )
        rows, problems = read_link_rows(reader, source)
    with listing_session(ctx) as (hub, session):
        changes: list[LinkChangeOut] = []
        try:
            changes = link_all(
                session,
                rows,
                actor=ACTOR_LINKS_CSV,
                unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
            )
        except RowsRefused as error:
            problems += error.problems
        if problems:  # leaving the transaction by an exception rolls every row back
            ordered = sorted(problems, key=lambda problem: _line_of(problem, source))
            fail("nothing linked:\n" + "\n".join(ordered))
    if json_output:
        print_json(changes)
        return
    for change in changes:
        if change.changed:
            say(change.message)
    changed = sum(1 for change in changes if change.changed)
    say(f"{len(rows)} row(s) read from {source}: {changed} changed")


def _line_of(problem: str, source: str) -> int:
    """The LINE of a problem `SOURCE:LINE: ...` (0 when it names none)."""
    line = problem.removeprefix(f"{source}:").split(":", 1)[0]
    return int(line) if line.isdigit() else 0


@app.command("history")
def history(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    listing: Annotated[
        str | None,
        typer.Option(help="Only this listing (its key, the `listing` column of `listings list`)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """Every change of a link, newest first.

    When, which SKU, how, by whom (cli, api, links csv, catalog import, listings job)
    and what it reserved or released."""
    with listing_session(ctx, read_only=True) as (_, session):
        rows = link_event_list(
            session, channel=_channel_or_none(session, channel), listing=listing, limit=limit
        )
    if json_output:
        print_json(rows)
        return
    table = Table("at", "channel", "listing", "action", "SKU", "how", "by", "note")
    for row in rows:
        table.add_row(
            row.at,
            Text(row.channel),
            Text(row.listing),
            row.action,
            Text(row.sku),
            row.method or "",
            Text(row.actor),
            Text(row.note or ""),
        )
    console.print(table)
