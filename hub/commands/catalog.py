"""`omnisync catalog import`: the hub's catalogue made from a channel's listings.

The listings are read first (a listings run, as `omnisync sync listings` does), because
core/catalog_import.py works on the hub's stored copy of them: importing from a copy
that is hours old would make SKUs of listings the channel no longer has. That read is
kept whatever follows, a dry run included: it only refreshes the copy (and, as every
listings run does, links the listings whose channel SKU is a hub SKU's code).

Everything the import itself does (SKUs made, listings linked, stock counted, the
`unlinked_listings` alert refreshed) is one transaction: all of it or nothing, and a
dry run is that transaction rolled back after the report is taken from it, so what it
prints is what the real run would do.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from omnisync.core.catalog import location_by_code
from omnisync.core.catalog_import import CatalogImport, import_catalog
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.errors import NotFound
from omnisync.core.unlinked import refresh_unlinked_alert
from omnisync.hub.bootstrap import Hub, sync_engine
from omnisync.hub.commands.common import (
    EXIT_USAGE,
    JsonOption,
    console,
    fail,
    failing_on_domain_errors,
    open_hub,
    print_json,
    say,
)
from omnisync.hub.views.listings import catalog_import_view
from omnisync.hub.views.shapes import CatalogImportOut, ListingsReadOut
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.names import JobName

app = typer.Typer(help="Make the hub's catalogue from a channel's listings.", no_args_is_help=True)


class _DryRun(Exception):
    """Leaves the import's transaction so that it rolls back."""


@app.command("import")
def import_command(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="The channel whose listings are imported.")],
    stock: Annotated[
        bool,
        typer.Option(
            "--stock",
            help="Also count the quantity the channel shows of each linked SKU, at --location, "
            "for SKUs never counted or moved there (for a channel that held the stock until "
            "now); a second run counts nothing.",
        ),
    ] = False,
    location: Annotated[
        str | None,
        typer.Option(help="Where --stock counts (default: the first location of hub.yaml)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print what the import would create, link and count, and change none of it.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Make hub SKUs from a channel's listings and link them; optionally count its stock.

    Every listing of the channel that no hub SKU takes is linked: by its channel SKU (a
    hub SKU's code), else by its barcode (one hub SKU's and one listing's), else to a
    hub SKU made from it (code: the channel SKU, or `<channel>-<id>` for a listing
    without one).

    The channel's listings are read first (a listings run); that read is kept even with
    --dry-run: it only refreshes the hub's copy of the listings, and links those whose
    channel SKU is a hub SKU's code, as every listings run does. The import itself is
    all or nothing, and running it again changes nothing. Exit code 2 for an unknown
    channel or location, or a channel type that cannot list its listings; 1 when the
    listings read fails."""
    if location is not None and not stock:
        fail("--location needs --stock", EXIT_USAGE)
    hub = open_hub(ctx, channel=channel)
    engine = sync_engine(hub)
    try:
        if channel not in engine.channels:
            known = ", ".join(sorted(engine.channels)) or "none"
            fail(
                f"no channel named {channel!r} in the configuration (channels: {known})",
                EXIT_USAGE,
            )
        if not engine.supports(channel, JobName.LISTINGS.value):
            fail(
                f"channel {channel!r} ({engine.channels[channel].type}) cannot list its "
                "listings: there is nothing to import",
                EXIT_USAGE,
            )
        count_at = (location or hub.settings.default_location) if stock else None
        if count_at is not None:
            _known_location(hub, count_at)
        read = engine.run(channel, JobName.LISTINGS.value, force=True)
        if not read.completed:
            fail(f"reading the listings of {channel} failed: {read.error or read.status}")
        counts = ListingsReadOut(
            fetched=read.counts[RunCount.FETCHED], linked_by_sku=read.counts[RunCount.BOUND]
        )
        view = _import(hub, channel, count_at, dry_run=dry_run, read=counts)
    finally:
        engine.close()
        hub.engine.dispose()
    if json_output:
        print_json(view)
        return
    _print_summary(view)


def _known_location(hub: Hub, code: str) -> None:
    with transaction(hub.engine, read_only=True) as session:
        try:
            location_by_code(session, code)
        except NotFound as error:
            fail(f"{error} (--location; hub.yaml lists the locations)", EXIT_USAGE)


def _import(
    hub: Hub, channel_name: str, location: str | None, *, dry_run: bool, read: ListingsReadOut
) -> CatalogImportOut:
    """The import in one transaction, with the channel's alert refreshed; rolled back
    after the report is taken for a dry run."""
    report: CatalogImport | None = None
    try:
        with failing_on_domain_errors(), transaction(hub.engine) as session:
            channel = channel_by_name(session, channel_name)
            where = None if location is None else location_by_code(session, location)
            report = import_catalog(session, channel, location=where)
            session.flush()
            refresh_unlinked_alert(session, channel.id, hub.settings.hub.alert_rules.unlinked_after)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert report is not None
    return catalog_import_view(report, dry_run=dry_run, read=read)


def _print_summary(view: CatalogImportOut) -> None:
    bound = view.listings_read.linked_by_sku
    say(
        f"{view.channel}: the listings read saw {view.listings_read.fetched} listing(s)"
        + (f" and linked {bound} by their channel SKU" if bound else "")
    )
    methods = Counter(item.method.value for item in view.linked)
    how = ", ".join(f"{count} by {method}" for method, count in sorted(methods.items()))
    at = f" at {view.counted[0].location}" if view.counted else ""
    say(
        f"created {view.created} SKU(s), linked {len(view.linked)} listing(s)"
        + (f" ({how})" if how else "")
        + f", counted {len(view.counted)} SKU(s){at}"
    )
    if view.linked:
        table = Table("listing", "SKU", "how", "new SKU", "title", "barcode")
        for item in view.linked:
            table.add_row(
                Text(item.listing),
                Text(item.sku),
                item.method.value,
                "yes" if item.created else "",
                Text(item.title),
                Text(item.barcode or ""),
            )
        console.print(table)
    if view.counted:
        table = Table("SKU", "counted", "location")
        for counted in view.counted:
            table.add_row(Text(counted.sku), str(counted.quantity), Text(counted.location))
        console.print(table)
    if view.skipped:
        say(f"{len(view.skipped)} left as they are:")
        for reason in view.skipped:
            say(f"  {reason}")
    if view.dry_run:
        say("dry run: nothing was changed (the listings read above is kept)")
