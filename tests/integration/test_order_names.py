"""Orders named as operators know them: the hub id, the channel's order id, or the
channel's order name or number (`#1001`, `1001`), in the lookup every command and
route shares, in the API, and in the migration that names the orders stored before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData
from sqlmodel import Session

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.errors import NotFound
from omnisync.hub.database import MIGRATIONS_DIR, migrate
from omnisync.hub.order_lookup import AmbiguousOrder, find_order
from tests.support.api import api_hub, closed_channels
from tests.support.world import (
    T0,
    build_world,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
)

GID = "gid://shopify/Order/{}"


def shopify_order(number: int, lines: list[tuple[str, int]], **more: Any) -> NormalisedOrder:
    """Order #number as the Shopify connector maps it: its gid, and `name` as display name."""
    order = make_order(GID.format(number), lines, **more)
    return order.model_copy(update={"display_name": f"#{number}"})


def found(engine: Engine, reference: str) -> tuple[str, str]:
    with Session(engine) as session:
        order, channel = find_order(session, reference)
        return channel, order.external_id


def test_intake_keeps_the_channels_order_name(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", shopify_order(1001, [("A", 1)]))
    assert order_row(engine, "shop", GID.format(1001)).display_name == "#1001"

    without_name = make_order(GID.format(1001), [("A", 1)], minutes=1)
    ingest(engine, "shop", without_name)  # a payload that omits it keeps the name known
    assert order_row(engine, "shop", GID.format(1001)).display_name == "#1001"

    renamed = shopify_order(1001, [("A", 1)], minutes=2).model_copy(
        update={"display_name": "#1001-A"}
    )
    ingest(engine, "shop", renamed)
    assert order_row(engine, "shop", GID.format(1001)).display_name == "#1001-A"


def test_an_order_by_hub_id_channel_id_name_or_number(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", shopify_order(1001, [("A", 1)]))
    ingest(engine, "market", make_order("111-2222222-3333333", [("A", 1)]))
    hub_id = order_row(engine, "shop", GID.format(1001)).id
    expected = ("shop", GID.format(1001))

    for reference in ("#1001", "1001", GID.format(1001), str(hub_id), f"id:{hub_id}"):
        assert found(engine, reference) == expected, reference
    assert found(engine, "111-2222222-3333333") == ("market", "111-2222222-3333333")
    with pytest.raises(NotFound, match="nor with that order name or number"):
        found(engine, "#1002")


def test_the_same_number_on_two_channels_is_refused_listing_both(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", shopify_order(1001, [("A", 1)]))
    ingest(engine, "market", shopify_order(1001, [("A", 1)]))
    shop_id = order_row(engine, "shop", GID.format(1001)).id
    market_id = order_row(engine, "market", GID.format(1001)).id

    for reference in ("#1001", "1001", GID.format(1001)):
        with pytest.raises(AmbiguousOrder) as refused:
            found(engine, reference)
        message = str(refused.value)
        assert f"id:{shop_id}: shop order #1001 ({GID.format(1001)})" in message, reference
        assert f"id:{market_id}: market order #1001" in message, reference
    assert found(engine, f"id:{market_id}") == ("market", GID.format(1001))


def test_a_hub_id_that_is_another_orders_number_is_refused_listing_both(engine: Engine) -> None:
    build_world(engine)
    ingest(engine, "shop", make_order("M-1", [("A", 1)]))
    hub_id = order_row(engine, "shop", "M-1").id
    assert hub_id is not None
    ingest(engine, "market", shopify_order(hub_id, [("A", 1)]))  # Shopify's #<that id>
    named_id = order_row(engine, "market", GID.format(hub_id)).id

    with pytest.raises(AmbiguousOrder) as refused:
        found(engine, str(hub_id))
    message = str(refused.value)
    assert f"id:{hub_id}: shop order M-1, by its hub id" in message
    assert f"id:{named_id}: market order #{hub_id} ({GID.format(hub_id)}), by its order name" in (
        message
    )
    assert found(engine, f"#{hub_id}") == ("market", GID.format(hub_id))
    assert found(engine, f"id:{hub_id}") == ("shop", "M-1")


UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
"""


def test_the_api_takes_the_order_name_or_number_and_refuses_an_ambiguous_one(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPS_SECRET", "ups-client-secret-51f0")
    channels = {**closed_channels("shop", "market"), "ups": UPS}
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as api:
        engine = api.hub.engine
        with transaction(engine) as session:
            upsert_sku(session, "A")
        set_count(engine, "A", "main", 10)
        list_sku(engine, "shop", "A")
        list_sku(engine, "market", "A")
        ingest(engine, "shop", shopify_order(1001, [("A", 2)]))
        ingest(engine, "market", shopify_order(2002, [("A", 1)]))
        ingest(engine, "market", shopify_order(3003, [("A", 1)]))
        ingest(engine, "shop", shopify_order(3003, [("A", 1)]))

        by_name = api.get("/api/v1/orders/%231001")
        by_number = api.get("/api/v1/orders/1001")
        assert by_name.status_code == 200, by_name.text
        assert by_name.json() == by_number.json()
        assert by_name.json()["external_id"] == GID.format(1001)
        assert by_name.json()["display_name"] == "#1001"

        shipped = api.post(
            "/api/v1/orders/%231001/shipments", {"carrier": "ups", "tracking_number": "1Z1"}
        )
        assert shipped.status_code == 201, shipped.text
        assert level(engine, "A", "main") == (8, 3)
        assert (
            api.post(
                "/api/v1/orders/2002/shipments", {"carrier": "ups", "tracking_number": "1Z2"}
            ).status_code
            == 201
        )

        ambiguous = api.get("/api/v1/orders/%233003")
        assert ambiguous.status_code == 422
        error = ambiguous.json()["error"]
        assert "shop order #3003" in error
        assert "market order #3003" in error
        refused = api.post(
            "/api/v1/orders/3003/shipments", {"carrier": "ups", "tracking_number": "1Z3"}
        )
        assert refused.status_code == 422
        assert "names 2 orders" in refused.json()["error"]
        assert level(engine, "A", "main") == (7, 2)


def test_the_migration_names_the_orders_stored_before(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection, only=["channels", "orders"])
            channels, orders = tables.tables["channels"], tables.tables["orders"]
            connection.execute(
                channels.insert().values(
                    id=1,
                    name="shop",
                    type="shopify",
                    enabled=True,
                    config_fingerprint="",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            for order_id, external_id, raw in [
                (1, GID.format(1001), {"id": GID.format(1001), "name": "#1001"}),
                (2, GID.format(1002), None),
                (3, "111-2222222-3333333", {"AmazonOrderId": "111-2222222-3333333"}),
                (4, "SB-000004", {"id": "SB-000004", "status": "open"}),
            ]:
                connection.execute(
                    orders.insert().values(
                        id=order_id,
                        channel_id=1,
                        external_id=external_id,
                        status="accepted",
                        channel_status="",
                        placed_at=T0,
                        updated_at=T0,
                        raw=raw,
                        fulfilled_by_channel=False,
                        oversold=False,
                        ingested_at=T0,
                        modified_at=T0,
                    )
                )
        migrate(engine)
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection, only=["orders"])
            orders = tables.tables["orders"]
            rows = connection.execute(
                orders.select().with_only_columns(orders.c.id, orders.c.display_name)
            )
            names = {order_id: name for order_id, name in rows}
        assert names == {
            1: "#1001",
            2: GID.format(1002),
            3: "111-2222222-3333333",
            4: "SB-000004",
        }
    finally:
        engine.dispose()
