"""`omnisync orders ship` and `omnisync orders show` with shipments.

The first parcel is shipped through a subprocess, as an operator runs the command;
the other commands run in this process (typer's runner), which is much faster.

Orders are put in the database directly (order intake, as a pull would); the carrier
channel is of the test type "fake_carrier", which knows no number: shipping does
not call the carrier, and `sync tracking` reports every number unknown.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import make_engine, transaction
from omnisync.core.dto import TrackingEvent, TrackingInfo
from omnisync.core.models import Shipment
from omnisync.core.tracking import apply_tracking
from omnisync.core.types import OrderStatus, ShipmentStatus
from tests.cli.test_cli import SECRET, Cli, write
from tests.support import fake_carrier, fake_connector  # noqa: F401  (register the test types)
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.databases import sqlite_url
from tests.support.world import T0, ingest, level, list_sku, make_order, order_row, set_count

ORDER_KEYS = {
    "id",
    "channel",
    "external_id",
    "display_name",
    "status",
    "placed_at",
    "updated_at",
    "currency",
    "total",
    "oversold",
    "lines",
    "held_at",
    "hold_reason",
    "cancelled_by_hub_at",
    "hub_cancel_reason",
    "return_state",
    "returns",
}


def write_config(config_dir: Path) -> None:
    write(config_dir / "hub.yaml", "locations:\n  - code: main\n")
    for name in ("shop", "market"):
        write(
            config_dir / "channels" / f"{name}.yaml",
            f"type: fake\nshop: {name}\napi_key: ${{FAKE_API_KEY}}\n",
        )
    write(config_dir / "channels" / "ups.yaml", "type: fake_carrier\nlabel: UPS\n")


def invoke(cli: Cli, *args: str) -> CliResult:
    assert cli.config_dir is not None
    return invoke_cli(
        cli.config_dir, cli.database_url, *args, env={"FAKE_API_KEY": SECRET}, secrets=[SECRET]
    )


def prepared(cli: Cli) -> Engine:
    """The database after `init`, with stock, listings on both channels and order 1001."""
    assert invoke(cli, "init").exit_code == 0
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code)
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 5)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "market", "A", "B")
    ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)]))
    return engine


@pytest.fixture
def ship_cli(tmp_path: Path, migrated_database_url: str) -> Cli:
    write_config(tmp_path / "config")
    return Cli(cwd=tmp_path, database_url=migrated_database_url, config_dir=tmp_path / "config")


def stock(engine: Engine, sku: str) -> dict[str, int]:
    """On hand and reserved at main, and what each selling channel may sell."""
    with Session(engine) as session:
        sku_id = sku_by_code(session, sku).id or 0
        available = {
            name: available_to_sell(session, channel_by_name(session, name), [sku_id])[sku_id]
            for name in ("shop", "market")
        }
    on_hand, reserved = level(engine, sku, "main")
    return {"on_hand": on_hand, "reserved": reserved, **available}


def test_ship_show_and_track_an_order(ship_cli: Cli) -> None:
    cli = ship_cli
    engine = prepared(cli)
    try:
        before = stock(engine, "A")
        assert before == {"on_hand": 10, "reserved": 2, "shop": 8, "market": 8}

        shipped = cli.ok(
            "orders", "ship", "1001", "--carrier", "ups", "--tracking", "1Z999AA10123456784",
            "--line", "A:1", "--service", "ground", "--json", process=True,
        ).json()  # fmt: skip

        order, shipment = shipped["order"], shipped["shipment"]
        assert order["status"] == "partially_shipped"
        assert shipment["carrier"] == "UPS"
        assert shipment["carrier_channel"] == "ups"
        assert shipment["service"] == "ground"
        assert shipment["status"] == "label_created"
        assert shipment["fulfilment_push"] == "pending"
        assert shipment["lines"] == [{"external_line_id": "1001-0", "quantity": 1}]
        assert shipment["delivered_at"] is None
        assert shipment["events"] == []
        # One unit left: on hand and reserved drop by one; what every channel may sell holds.
        assert stock(engine, "A") == {**before, "on_hand": 9, "reserved": 1}

        with transaction(engine) as session:
            apply_tracking(
                session,
                shipment["id"],
                TrackingInfo(
                    tracking_number="1Z999AA10123456784",
                    status=ShipmentStatus.IN_TRANSIT,
                    events=(
                        TrackingEvent(
                            at=T0,
                            code="OR",
                            description="Origin scan",
                            location="Louisville, KY, US",
                            status=ShipmentStatus.IN_TRANSIT,
                        ),
                    ),
                ),
                unknown_after=timedelta(hours=1),
            )

        shown, by_hub_id, listed, table = (
            invoke(cli, *args)
            for args in (
                ("orders", "show", "1001", "--json"),
                ("orders", "show", str(order["id"]), "--json"),
                ("orders", "list", "--json"),
                ("orders", "show", "1001"),
            )
        )
        assert shown.json() == by_hub_id.json()
        detail = shown.json()
        assert set(detail) == ORDER_KEYS | {"shipments", "route", "packed_at"}
        assert {key: detail[key] for key in ORDER_KEYS} == listed.json()[0]
        (entry,) = detail["shipments"]
        assert {"carrier", "tracking_number", "status", "shipped_at", "delivered_at"} <= set(entry)
        assert entry["status"] == "in_transit"
        assert entry["events"] == [
            {
                "at": "2026-01-01T00:00:00+00:00",
                "code": "OR",
                "description": "Origin scan",
                "location": "Louisville, KY, US",
            }
        ]
        assert table.exit_code == 0, table
        for text in ("1Z999AA10123456784", "in_transit", "Origin scan"):
            assert text in table.stdout

        # The rest by hub id, no lines named: every open unit.
        rest = invoke(
            cli, "orders", "ship", str(order["id"]), "--carrier", "ups", "--tracking", "1Z2"
        )
        assert rest.exit_code == 0, rest
        assert "the order is shipped" in rest.stdout
        assert "sync fulfilments --channel shop" in rest.stdout
        final = invoke(cli, "orders", "show", "1001", "--json").json()
        assert final["status"] == "shipped"
        assert [s["lines"] for s in final["shipments"]] == [
            [{"external_line_id": "1001-0", "quantity": 1}],
            [
                {"external_line_id": "1001-0", "quantity": 1},
                {"external_line_id": "1001-1", "quantity": 1},
            ],
        ]
        assert stock(engine, "A") == {**before, "on_hand": 8, "reserved": 0}
    finally:
        engine.dispose()


def test_refused_and_malformed_shipments_change_nothing(tmp_path: Path) -> None:
    write_config(tmp_path / "config")
    cli = Cli(
        cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=tmp_path / "config"
    )
    engine = prepared(cli)
    ship = ("orders", "ship", "1001", "--tracking", "1Z1")
    cases = [
        ((*ship, "--carrier", "dhl"), 2, "no channel 'dhl' in the configuration (carriers: ups)"),
        ((*ship, "--carrier", "shop"), 2, "channel 'shop' (fake) is not a carrier channel"),
        ((*ship, "--carrier", "ups", "--line", "A"), 2, "'A' is not SKU:QTY"),
        ((*ship, "--carrier", "ups", "--line", "A:two"), 2, "QTY must be a whole number"),
        ((*ship, "--carrier", "ups", "--line", "A:0"), 2, "QTY must be at least 1"),
        (("orders", "ship", "1001", "--carrier", "ups"), 2, "--tracking"),
        (
            (*ship, "--carrier", "ups", "--line", "Z:1"),
            1,
            "order 1001 has no line with SKU 'Z' (its SKUs: A, B)",
        ),
        ((*ship, "--carrier", "ups", "--line", "A:3"), 1, "3 of SKU 'A' to ship but only 2 open"),
        (
            ("orders", "ship", "9999", "--tracking", "1Z1", "--carrier", "ups"),
            1,
            "no order with id or channel order id '9999'",
        ),
    ]
    try:
        for args, code, message in cases:
            result = invoke(cli, *args)
            assert result.exit_code == code, result
            assert message in " ".join(result.stderr.split()), result
        assert order_row(engine, "shop", "1001").status == OrderStatus.ACCEPTED
        assert stock(engine, "A") == {"on_hand": 10, "reserved": 2, "shop": 8, "market": 8}
        with Session(engine) as session:
            assert session.exec(select(Shipment)).all() == []
    finally:
        engine.dispose()


def test_sync_tracking_reports_numbers_the_carrier_does_not_know(tmp_path: Path) -> None:
    write_config(tmp_path / "config")
    cli = Cli(
        cwd=tmp_path, database_url=sqlite_url(tmp_path / "var"), config_dir=tmp_path / "config"
    )
    prepared(cli).dispose()
    shipped = invoke(cli, "orders", "ship", "1001", "--carrier", "ups", "--tracking", "NOSUCH1")
    assert shipped.exit_code == 0, shipped

    (outcome,) = invoke(cli, "sync", "tracking", "--json").json()

    assert (outcome["channel"], outcome["job"], outcome["status"]) == (
        "ups",
        "tracking",
        "succeeded",
    )
    assert outcome["counts"]["tracked"] == 1
    assert outcome["counts"]["unknown"] == 1
    assert outcome["notes"] == ["tracking numbers unknown to the carrier: NOSUCH1"]


def test_stock_show_leaves_carrier_channels_out(ship_cli: Cli) -> None:
    engine = prepared(ship_cli)
    try:
        (row,) = invoke(ship_cli, "stock", "show", "A", "--json").json()
        assert [entry["channel"] for entry in row["channels"]] == ["market", "shop"]
    finally:
        engine.dispose()
