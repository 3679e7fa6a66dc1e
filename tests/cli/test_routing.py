"""Routing (hub.yaml `routing:`): which location ships an order, and why, from intake to
`omnisync orders show`; `omnisync orders route` moves an order by hand.

Two warehouses: `main` (first in priority) and `eu` (preferred for the EU). The channel
"shop" may split orders when needed; "strict" never splits. Orders come in by order
intake, as a pull would store them; the commands run in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import make_engine, transaction
from omnisync.core.models import Location, OrderLine, Reservation
from omnisync.core.types import ReservationState
from tests.cli.test_cli import SECRET, Cli, write
from tests.support import fake_connector  # noqa: F401  (registers the test type)
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import (
    add_listing,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
)

HUB = """\
locations:
  - code: main
  - code: eu
routing:
  split: when_needed
  channels:
    strict: {split: never}
  prefer:
    - region: EU
      locations: [eu, main]
  priority: [main, eu]
"""
CHANNEL = "type: fake\nshop: {name}\napi_key: ${{FAKE_API_KEY}}\n"


@pytest.fixture
def cli(tmp_path: Path, migrated_database_url: str) -> Cli:
    config = tmp_path / "config"
    write(config / "hub.yaml", HUB)
    for name in ("shop", "strict"):
        write(config / "channels" / f"{name}.yaml", CHANNEL.format(name=name))
    return Cli(cwd=tmp_path, database_url=migrated_database_url, config_dir=config)


def invoke(cli: Cli, *args: str) -> CliResult:
    assert cli.config_dir is not None
    return invoke_cli(
        cli.config_dir,
        cli.database_url,
        *args,
        env={"FAKE_API_KEY": SECRET},
        secrets=[SECRET],
    )


@pytest.fixture
def engine(cli: Cli) -> Iterator[Engine]:
    """After `init`: SKUs A and B listed on both channels, no stock yet."""
    assert invoke(cli, "init").exit_code == 0
    engine = make_engine(cli.database_url)
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "strict", "A", "B")
    yield engine
    engine.dispose()


def order_to(external_id: str, country: str | None = None) -> Any:
    """2 x A and 1 x B, shipped to `country`."""
    order = make_order(external_id, [("A", 2), ("B", 1)])
    return order.model_copy(update={"ship_to": {"countryCode": country}}) if country else order


def held_at(engine: Engine, channel: str, external_id: str) -> dict[str, tuple[str, int]]:
    """The order's active reservations: channel SKU -> (location code, units held)."""
    order = order_row(engine, channel, external_id)
    with Session(engine) as session:
        rows = session.exec(
            select(Reservation, Location.code)
            .join(Location, col(Location.id) == Reservation.location_id)
            .where(Reservation.state == ReservationState.ACTIVE)
        ).all()
        lines = {
            line.id: line.channel_sku
            for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id))
        }
    return {
        lines[reservation.order_line_id]: (code, reservation.quantity)
        for reservation, code in rows
        if reservation.order_line_id in lines
    }


def route_of(cli: Cli, external_id: str) -> dict[str, Any]:
    shown = invoke(cli, "orders", "show", external_id, "--json").json()
    assert isinstance(shown["route"], dict)
    return shown["route"]


def test_split_never_keeps_the_order_whole_where_most_of_it_is(cli: Cli, engine: Engine) -> None:
    set_count(engine, "A", "main", 2)  # A only at main, B only at eu
    set_count(engine, "B", "eu", 1)
    ingest(engine, "strict", order_to("S1"))

    assert held_at(engine, "strict", "S1") == {"A": ("main", 2), "B": ("main", 0)}
    assert order_row(engine, "strict", "S1").oversold
    assert level(engine, "B", "eu") == (1, 0)  # the EU unit stays free for others
    route = route_of(cli, "S1")
    assert route["locations"] == ["main"]
    assert route["lines"] == {"S1-0": "main", "S1-1": "main"}
    assert route["split"] == "never"
    assert route["source"] == "auto"
    shown = invoke(cli, "orders", "show", "S1")
    assert shown.exit_code == 0, shown
    assert "OVERSOLD" in shown.stdout
    assert (
        "route: main (auto): no location can ship the whole order; split: never keeps it "
        "whole at main, which has 2 of its 3 unit(s) (1 oversold there)"
    ) in " ".join(shown.stdout.split())


def test_split_when_needed_ships_each_line_from_where_it_is(cli: Cli, engine: Engine) -> None:
    set_count(engine, "A", "main", 2)
    set_count(engine, "B", "eu", 1)
    ingest(engine, "shop", order_to("W1"))

    assert held_at(engine, "shop", "W1") == {"A": ("main", 2), "B": ("eu", 1)}
    assert not order_row(engine, "shop", "W1").oversold
    route = route_of(cli, "W1")
    assert route["locations"] == ["main", "eu"]
    assert route["lines"] == {"W1-0": "main", "W1-1": "eu"}
    assert route["reason"] == (
        "no location can ship the whole order; split: when_needed splits it: main (A) and eu (B)"
    )


def test_a_german_order_prefers_the_eu_warehouse_when_both_can_ship_it(
    cli: Cli, engine: Engine
) -> None:
    for location in ("main", "eu"):
        set_count(engine, "A", location, 5)
        set_count(engine, "B", location, 5)
    ingest(engine, "shop", order_to("DE1", "DE"))
    ingest(engine, "shop", order_to("US1", "US"))
    ingest(engine, "shop", order_to("XX1"))  # no address: priority decides

    assert held_at(engine, "shop", "DE1") == {"A": ("eu", 2), "B": ("eu", 1)}
    assert route_of(cli, "DE1")["reason"] == (
        "eu can ship the whole order; preferred for ship-to DE over main"
    )
    assert held_at(engine, "shop", "US1") == {"A": ("main", 2), "B": ("main", 1)}
    assert route_of(cli, "US1")["reason"] == (
        "main can ship the whole order; first in priority over eu"
    )
    assert route_of(cli, "XX1")["locations"] == ["main"]


def test_fewest_splits_wins_over_the_countrys_preference(cli: Cli, engine: Engine) -> None:
    set_count(engine, "A", "main", 5)
    set_count(engine, "B", "main", 5)
    set_count(engine, "A", "eu", 5)  # eu lacks B
    ingest(engine, "shop", order_to("DE2", "DE"))

    assert held_at(engine, "shop", "DE2") == {"A": ("main", 2), "B": ("main", 1)}
    assert route_of(cli, "DE2")["reason"] == (
        "main can ship the whole order (the only one that can)"
    )


def test_new_stock_reaches_a_never_split_order_only_where_it_is_routed(
    cli: Cli, engine: Engine
) -> None:
    set_count(engine, "A", "main", 2)
    ingest(engine, "strict", order_to("S2"))  # whole at main, B oversold there
    assert order_row(engine, "strict", "S2").oversold

    set_count(engine, "B", "eu", 3)
    assert level(engine, "B", "eu") == (3, 0)
    assert order_row(engine, "strict", "S2").oversold

    set_count(engine, "B", "main", 1)
    assert held_at(engine, "strict", "S2") == {"A": ("main", 2), "B": ("main", 1)}
    assert not order_row(engine, "strict", "S2").oversold


def test_a_split_order_waiting_takes_new_stock_elsewhere_and_says_so(
    cli: Cli, engine: Engine
) -> None:
    set_count(engine, "A", "main", 2)
    ingest(engine, "shop", order_to("W2"))  # B nowhere: waits at main (priority)
    assert held_at(engine, "shop", "W2")["B"] == ("main", 0)

    set_count(engine, "B", "eu", 1)
    assert held_at(engine, "shop", "W2") == {"A": ("main", 2), "B": ("eu", 1)}
    route = route_of(cli, "W2")
    assert route["lines"] == {"W2-0": "main", "W2-1": "eu"}
    assert route["locations"] == ["main", "eu"]
    assert route["reason"].endswith("; B moved to eu when stock came in")


def test_orders_route_moves_the_reservations_in_one_go(cli: Cli, engine: Engine) -> None:
    set_count(engine, "A", "main", 2)
    set_count(engine, "A", "eu", 2)
    set_count(engine, "B", "eu", 1)
    ingest(engine, "strict", order_to("S3", "US"))  # eu has it all: whole at eu
    assert held_at(engine, "strict", "S3") == {"A": ("eu", 2), "B": ("eu", 1)}

    moved = invoke(cli, "orders", "route", "S3", "--location", "main")
    assert moved.exit_code == 0, moved
    assert "ships from main; oversold by 1 unit(s)" in moved.stdout
    assert held_at(engine, "strict", "S3") == {"A": ("main", 2), "B": ("main", 0)}
    assert level(engine, "A", "eu") == (2, 0)
    assert level(engine, "B", "eu") == (1, 0)
    assert level(engine, "A", "main") == (2, 2)
    route = route_of(cli, "S3")
    assert route["source"] == "operator"
    assert route["reason"] == "routed by hand to main by cli (1 unit(s) oversold there)"

    # Routed by hand, it waits at main only, though eu has B free.
    assert order_row(engine, "strict", "S3").oversold
    back = invoke(cli, "orders", "route", "S3", "--location", "eu", "--json")
    assert back.exit_code == 0, back
    assert back.json()["route"]["locations"] == ["eu"]
    assert held_at(engine, "strict", "S3") == {"A": ("eu", 2), "B": ("eu", 1)}
    assert not order_row(engine, "strict", "S3").oversold


def test_orders_route_refuses_a_location_the_channel_does_not_sell_from(
    cli: Cli, engine: Engine
) -> None:
    set_count(engine, "A", "main", 2)
    ingest(engine, "shop", order_to("W3"))
    refused = invoke(cli, "orders", "route", "W3", "--location", "moon")
    assert refused.exit_code != 0
    assert "channel shop does not sell from 'moon' (its locations: main, eu)" in refused.stderr
    assert held_at(engine, "shop", "W3")["A"] == ("main", 2)


def test_a_routing_rule_naming_an_unknown_location_names_the_file_and_field(
    cli: Cli, engine: Engine
) -> None:
    assert cli.config_dir is not None
    write(cli.config_dir / "hub.yaml", HUB.replace("[eu, main]", "[eu, moon]"))
    refused = invoke(cli, "orders", "list")
    assert refused.exit_code == 2
    assert "hub.yaml: routing.prefer[0].locations: unknown location 'moon'" in refused.stderr


def test_a_changed_routing_section_applies_to_the_next_order(cli: Cli, engine: Engine) -> None:
    """The rules live on each channel's row, written whenever the config is applied (every
    command, and a running hub's reload), so an edit of hub.yaml routes the next order."""
    assert cli.config_dir is not None
    set_count(engine, "A", "main", 4)
    set_count(engine, "B", "eu", 2)
    ingest(engine, "strict", order_to("S4"))
    assert held_at(engine, "strict", "S4")["B"] == ("main", 0)

    write(cli.config_dir / "hub.yaml", HUB.replace("strict: {split: never}", "strict: {}"))
    assert invoke(cli, "orders", "list").exit_code == 0
    ingest(engine, "strict", order_to("S5"))
    assert held_at(engine, "strict", "S5") == {"A": ("main", 2), "B": ("eu", 1)}
    assert route_of(cli, "S5")["split"] == "when_needed"


def test_a_line_bound_after_intake_reserves_where_its_order_is_routed(
    cli: Cli, engine: Engine
) -> None:
    set_count(engine, "A", "main", 2)
    set_count(engine, "B", "eu", 1)
    add_listing(engine, "strict", "X-B")  # B under another name: unlinked for now
    ingest(engine, "strict", make_order("S6", [("A", 2), ("X-B", 1)]))
    assert route_of(cli, "S6")["lines"] == {"S6-0": "main"}

    linked = invoke(cli, "listings", "link", "strict", "X-B", "B")
    assert linked.exit_code == 0, linked
    # split: never: the order stays whole at main, B waits there though eu has one.
    assert held_at(engine, "strict", "S6") == {"A": ("main", 2), "X-B": ("main", 0)}
    assert level(engine, "B", "eu") == (1, 0)
    assert order_row(engine, "strict", "S6").oversold


def test_an_order_whose_lines_were_all_unbound_is_routed_when_one_binds(
    cli: Cli, engine: Engine
) -> None:
    set_count(engine, "B", "eu", 1)
    add_listing(engine, "strict", "X-B")
    ingest(engine, "strict", make_order("S7", [("X-B", 1)]))
    assert invoke(cli, "orders", "show", "S7", "--json").json()["route"] is None

    assert invoke(cli, "listings", "link", "strict", "X-B", "B").exit_code == 0
    assert held_at(engine, "strict", "S7") == {"X-B": ("eu", 1)}
    assert route_of(cli, "S7")["reason"] == "eu can ship the whole order (the only one that can)"


def test_without_a_priority_each_channels_own_location_order_breaks_the_tie(
    cli: Cli, engine: Engine
) -> None:
    assert cli.config_dir is not None
    write(cli.config_dir / "hub.yaml", HUB.replace("  priority: [main, eu]\n", ""))
    write(
        cli.config_dir / "channels" / "shop.yaml",
        CHANNEL.format(name="shop") + "locations: [eu, main]\n",
    )
    assert invoke(cli, "orders", "list").exit_code == 0  # the config applied
    for location in ("main", "eu"):
        set_count(engine, "A", location, 5)
        set_count(engine, "B", location, 5)
    ingest(engine, "shop", order_to("W4", "US"))
    ingest(engine, "strict", order_to("S8", "US"))
    assert held_at(engine, "shop", "W4") == {"A": ("eu", 2), "B": ("eu", 1)}
    assert held_at(engine, "strict", "S8") == {"A": ("main", 2), "B": ("main", 1)}
