"""Available to sell per channel (docs/architecture.md) and invariant 5."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.types import LocationKind
from tests.support.world import build_world, ingest, make_order, set_count


def ats(engine: Engine, channel: str, *skus: str) -> dict[str, int]:
    with Session(engine) as session:
        ids = {sku_by_code(session, code).id or 0: code for code in skus}
        result = available_to_sell(session, channel_by_name(session, channel), ids)
        return {ids[sku_id]: quantity for sku_id, quantity in result.items()}


def test_free_stock_of_the_channels_locations_minus_safety_stock_then_rules(
    engine: Engine,
) -> None:
    build_world(
        engine,
        locations=["main", "backup", ("fba", LocationKind.CHANNEL_MANAGED)],
        channels={"shop": None, "market": ["backup"], "capped": None},
        rules={"capped": {"allocation_percent": 50, "buffer": 1, "max_quantity": 4}},
    )
    set_count(engine, "A", "main", 10)
    set_count(engine, "A", "backup", 4)
    set_count(engine, "A", "fba", 100)  # channel-managed: never ours to offer
    with transaction(engine) as session:
        upsert_sku(session, "A", safety_stock=2)
    ingest(engine, "shop", make_order("1", [("A", 3)]))  # reserves 3 at main
    assert ats(engine, "shop", "A") == {"A": 10 - 3 + 4 - 2}
    assert ats(engine, "market", "A") == {"A": 4 - 2}
    assert ats(engine, "capped", "A") == {"A": 3}  # floor(9 * 50%) = 4, minus buffer 1, cap 4


def test_bundle_is_the_minimum_of_whole_bundles_its_components_allow(engine: Engine) -> None:
    build_world(engine, bundles={"KIT": {"A": 2, "B": 1}})
    set_count(engine, "A", "main", 7)
    set_count(engine, "B", "main", 5)
    assert ats(engine, "shop", "KIT", "A", "B") == {"KIT": 3, "A": 7, "B": 5}
    set_count(engine, "B", "main", 1)
    assert ats(engine, "shop", "KIT") == {"KIT": 1}


def test_availability_is_zero_not_negative_when_reservations_exceed_stock(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    ingest(engine, "shop", make_order("1", [("A", 5)]))
    set_count(engine, "A", "main", 2)  # stock found damaged after the sale
    assert ats(engine, "shop", "A") == {"A": 0}
    assert ats(engine, "market", "A") == {"A": 0}
