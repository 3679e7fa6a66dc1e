"""`omnisync orders` and `omnisync channels`: what came in and from where."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from connectors.base import AuthError
from connectors.shopify.install import exchange_code, permission_url
from connectors.shopify.settings import ShopifySettings
from core.types import OrderStatus
from hub.commands.common import (
    EXIT_USAGE,
    JsonOption,
    console,
    fail,
    hub_session,
    print_json,
    state,
)
from hub.settings import load_settings
from hub.views import channel_list, find_order, order_list, order_views

orders_app = typer.Typer(help="Orders from every channel.", no_args_is_help=True)
channels_app = typer.Typer(help="Configured channels and their state.", no_args_is_help=True)


@orders_app.command("list")
def list_orders(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    status: Annotated[OrderStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
    json_output: JsonOption = False,
) -> None:
    """Orders, newest first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = order_list(session, channel=channel, status=status, limit=limit, offset=offset)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "channel", "order", "status", "placed", "total", "lines", "oversold")
    for row in rows:
        total = f"{row['total']} {row['currency'] or ''}" if row["total"] else ""
        table.add_row(
            str(row["id"]),
            row["channel"],
            row["external_id"],
            row["status"],
            row["placed_at"],
            total,
            str(len(row["lines"])),
            "yes" if row["oversold"] else "",
        )
    console.print(table)


@orders_app.command("show")
def show_order(
    ctx: typer.Context,
    order_id: Annotated[
        str, typer.Argument(metavar="ID", help="Hub id or the channel's order id.")
    ],
    json_output: JsonOption = False,
) -> None:
    """One order with its lines."""
    with hub_session(ctx, read_only=True) as (_, session):
        (row,) = order_views(session, [find_order(session, order_id)])
    if json_output:
        print_json(row)
        return
    console.print(
        f"order {row['id']} ({row['channel']} {row['external_id']}): {row['status']}"
        + (" OVERSOLD" if row["oversold"] else ""),
        markup=False,
        highlight=False,
    )
    console.print(
        f"placed {row['placed_at']}, updated {row['updated_at']}, "
        f"total {row['total'] or '-'} {row['currency'] or ''}",
        markup=False,
        highlight=False,
    )
    table = Table("channel sku", "sku", "quantity", "unit price")
    for line in row["lines"]:
        table.add_row(
            line["channel_sku"],
            line["sku"] or "(unmapped)",
            str(line["quantity"]),
            line["unit_price"] or "",
        )
    console.print(table)


@channels_app.command("list")
def list_channels(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Channels known to the hub (disabled ones included)."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = channel_list(session)
    if json_output:
        print_json(rows)
        return
    table = Table("name", "type", "enabled", "locations", "listings", "unbound", "dirty", "paused")
    for row in rows:
        table.add_row(
            row["name"],
            row["type"],
            "yes" if row["enabled"] else "no",
            ", ".join(row["locations"]) if row["locations"] is not None else "(all)",
            str(row["listings"]),
            str(row["unbound_listings"]),
            str(row["dirty_listings"]),
            row["paused_reason"] or "",
        )
    console.print(table)


@channels_app.command("shopify-install")
def shopify_install(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="A channel of type shopify.")],
    redirect_uri: Annotated[str, typer.Option(help="The app's allowed redirection URL.")],
    callback: Annotated[
        str | None,
        typer.Option(help="The full URL Shopify redirected to (with code, hmac, shop, state)."),
    ] = None,
) -> None:
    """Print the URL that grants the app access; with --callback, exchange its code for a
    token, printed once for you to store as an environment variable (never logged)."""
    settings = load_settings(state(ctx).config_dir)
    config = next((c for c in settings.channels if c.name == channel), None)
    if config is None or not isinstance(config.settings, ShopifySettings):
        fail(f"no channel {channel!r} of type shopify in the configuration", EXIT_USAGE)
    try:
        if callback is None:
            url, expected_state = permission_url(config.settings, redirect_uri)
            console.print(url, markup=False, highlight=False, soft_wrap=True)
            console.print(
                f"state: {expected_state} (check it against the callback's state)",
                markup=False,
                highlight=False,
            )
            return
        token = exchange_code(config.settings, callback)
    except AuthError as error:
        fail(str(error))
    console.print(
        f"access token (shown once; store it in the variable your channel file names):\n{token}",
        markup=False,
        highlight=False,
    )
