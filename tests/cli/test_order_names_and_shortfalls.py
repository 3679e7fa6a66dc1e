"""`omnisync orders show/ship` by the channel's order name or number (`#1001`, `1001`),
and a shipment of units the hub did not have, as `stock history` and the log say it.

Every command runs in this process (test_cli.Cli). Orders are put in the
database directly (order intake, as a pull would), named as the Shopify connector
names them: their gid as the order id and `#N` as the order name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import NormalisedOrder
from tests.cli.test_cli import Cli, Result
from tests.cli.test_orders_ship import write_config
from tests.support.databases import sqlite_url
from tests.support.world import ingest, level, list_sku, make_order, order_row, set_count

GID = "gid://shopify/Order/{}"


def shopify_order(number: int, lines: list[tuple[str, int]], **more: Any) -> NormalisedOrder:
    order = make_order(GID.format(number), lines, **more)
    return order.model_copy(update={"display_name": f"#{number}"})


def initialised(cli: Cli, on_hand: int) -> Engine:
    """After `init`: SKU A with `on_hand` at main, listed on both channels."""
    cli.ok("init")
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        upsert_sku(session, "A")
    set_count(engine, "A", "main", on_hand)
    list_sku(engine, "shop", "A")
    list_sku(engine, "market", "A")
    return engine


def make_cli(tmp_path: Path, database_url: str | None = None) -> Cli:
    write_config(tmp_path / "config")
    return Cli(
        cwd=tmp_path,
        database_url=database_url or sqlite_url(tmp_path / "var"),
        config_dir=tmp_path / "config",
    )


def one_line(result: Result) -> str:
    return " ".join(result.stderr.split())


@pytest.mark.slow
def test_orders_show_and_ship_take_the_order_name_or_number(tmp_path: Path) -> None:
    cli = make_cli(tmp_path)
    engine = initialised(cli, 10)
    try:
        ingest(engine, "shop", shopify_order(2002, [("A", 2)]))
        hub_id = order_row(engine, "shop", GID.format(2002)).id

        by_name, by_number = cli.many(
            [("orders", "show", "#2002", "--json"), ("orders", "show", "2002", "--json")]
        )
        assert by_name.json() == by_number.json()
        assert (by_name.json()["id"], by_name.json()["display_name"]) == (hub_id, "#2002")

        shipped = cli.ok("orders", "ship", "#2002", "--carrier", "ups", "--tracking", "1Z1")
        assert f"order {hub_id} (shop {GID.format(2002)}): 2 unit(s) shipped" in shipped.stdout
        assert level(engine, "A", "main") == (8, 0)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_number_on_two_channels_is_refused_listing_both(tmp_path: Path) -> None:
    cli = make_cli(tmp_path)
    engine = initialised(cli, 10)
    try:
        ingest(engine, "shop", shopify_order(1001, [("A", 1)]))
        ingest(engine, "market", shopify_order(1001, [("A", 1)], placed_minutes=1))
        shop_id = order_row(engine, "shop", GID.format(1001)).id
        market_id = order_row(engine, "market", GID.format(1001)).id

        show, ship = (
            cli("orders", "show", "#1001"),
            cli("orders", "ship", "1001", "--carrier", "ups", "--tracking", "1Z1"),
        )

        for refused in (show, ship):
            assert refused.returncode == 1, refused
            message = one_line(refused)
            assert f"id:{shop_id}: shop order #1001 ({GID.format(1001)})" in message
            assert f"id:{market_id}: market order #1001 ({GID.format(1001)})" in message
        assert level(engine, "A", "main") == (10, 2)
        cli.ok("orders", "ship", f"id:{market_id}", "--carrier", "ups", "--tracking", "1Z2")
        assert level(engine, "A", "main") == (9, 1)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_shipping_a_unit_not_on_hand_shows_in_stock_history(
    tmp_path: Path, migrated_database_url: str
) -> None:
    cli = make_cli(tmp_path, migrated_database_url)
    engine = initialised(cli, 0)
    try:
        ingest(engine, "shop", shopify_order(3003, [("A", 1)]))

        shipped = cli.ok("orders", "ship", "#3003", "--carrier", "ups", "--tracking", "1Z1")

        warning = one_line(shipped)
        assert "order #3003 (shop:gid://shopify/Order/3003)" in warning
        assert "shipped 1 unit of SKU 'A' at main that was not on hand" in warning
        assert "sku 1 " not in warning.lower()
        *_, last = cli.ok("stock", "history", "A", "--json").json()
        assert (last["kind"], last["delta"], last["on_hand_after"]) == ("shipment_shortfall", 0, 0)
        assert last["reason"] == "shipped 1 unit not on hand (order #3003): stock count was short"
        table = cli.ok("stock", "history", "A").stdout
        assert "shipment_shortfall" in table
        assert "not on hand (order #3003)" in table
        assert level(engine, "A", "main") == (0, 0)
    finally:
        engine.dispose()
