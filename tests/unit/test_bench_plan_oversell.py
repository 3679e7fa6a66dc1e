"""Benchmarks b2_plan and b5_oversell at small sizes: their set-up is the state the hub's
own paths leave, the plan is exactly the changed listings, the replay counts oversells."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bench.fixtures import change_stock
from bench.intake import IntakeDelays
from bench.order_stream import OrderStream, Sale, generate_stream
from bench.oversell import BASELINE, HUB, HUB_WEBHOOKS, Replay, intake_paths_mode
from bench.plan import CHANNELS, Catalogue, measure
from omnisync.core.availability import StockRules
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.db import make_engine, transaction
from omnisync.core.ledger import adjust_stock
from omnisync.core.models import Channel, Listing, StockLevel, StockMovement
from omnisync.sync.jobs.stock import plan_stock_push
from tests.support.world import (
    build_world,
    check_ledger_invariants,
    ingest,
    list_sku,
    make_order,
    set_count,
)

SELLERS: dict[str, Sequence[str] | None] = {
    "everywhere": None,
    "main-only": ["main"],
    "backup-only": ["backup"],
}


def _stock_state(engine: Engine, code: str) -> dict[str, object]:
    with Session(engine) as session:
        sku_id = sku_by_code(session, code).id
        levels = session.exec(
            select(StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.sku_id == sku_id
            )
        ).all()
        moved = session.exec(
            select(StockMovement.location_id, StockMovement.kind, func.sum(StockMovement.delta))
            .where(StockMovement.sku_id == sku_id)
            .group_by(col(StockMovement.location_id), col(StockMovement.kind))
        ).all()
        listings = session.exec(
            select(Channel.name, Listing)
            .join(Channel, col(Channel.id) == Listing.channel_id)
            .where(Listing.sku_id == sku_id)
        ).all()
        return {
            "levels": sorted(levels),
            "movements": sorted(moved),
            "listings": {
                name: (listing.dirty, listing.change_seq, listing.dirty_since is not None)
                for name, listing in listings
            },
        }


def test_a_bulk_stock_change_leaves_the_state_the_ledger_leaves(engine: Engine) -> None:
    build_world(engine, channels=SELLERS, skus=("LEDGER", "BULK"))
    for code in ("LEDGER", "BULK"):
        set_count(engine, code, "main", 10)
        for channel in SELLERS:
            list_sku(engine, channel, code)
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        adjust_stock(session, sku_by_code(session, "LEDGER"), main, -3)
        bulk_id = sku_by_code(session, "BULK").id or 0
    change_stock(engine, [bulk_id], main.id or 0, -3)

    ledger, bulk = _stock_state(engine, "LEDGER"), _stock_state(engine, "BULK")
    assert bulk == ledger
    assert bulk["listings"] == {
        "everywhere": (True, 1, True),
        "main-only": (True, 1, True),
        "backup-only": (False, 0, False),  # it does not sell from main
    }
    with Session(engine) as session:
        check_ledger_invariants(session)


def test_a_bulk_stock_change_refuses_while_oversold_orders_wait(engine: Engine) -> None:
    build_world(engine, skus=("A",))
    set_count(engine, "A", "main", 1)
    assert ingest(engine, "shop", make_order("1", [("A", 2)])).short_units == 1
    with Session(engine) as session:
        sku_id = sku_by_code(session, "A").id or 0
        main_id = location_by_code(session, "main").id or 0
    with pytest.raises(ValueError, match="oversold orders wait"):
        change_stock(engine, [sku_id], main_id, 1)


def test_the_push_plan_holds_each_channels_quantity_for_exactly_the_changed_skus(
    engine: Engine,
) -> None:
    catalogue = Catalogue(engine, 300)
    before = dict(catalogue.on_hand)
    assert catalogue.change(0.1) == 30
    changed = {sku_id for sku_id, units in catalogue.on_hand.items() if units != before[sku_id]}
    assert len(changed) == 30
    for spec, channel_id in zip(CHANNELS, catalogue.channel_ids, strict=True):
        rules = StockRules.from_mapping(spec.stock_rules)
        plan = plan_stock_push(engine, channel_id, everything=False)
        planned: dict[int | None, int | None] = {
            listing.sku_id: quantity for listing, quantity in plan.push
        }
        planned |= {listing.sku_id: listing.last_ack_quantity for listing in plan.unchanged}
        assert planned == {sku_id: rules.apply(catalogue.on_hand[sku_id]) for sku_id in changed}
        assert all(listing.last_ack_quantity != quantity for listing, quantity in plan.push)
    # max_quantity 50 hides changes above 50 from that channel: some are unchanged there.
    capped = plan_stock_push(engine, catalogue.channel_ids[2], everything=False)
    assert capped.unchanged


def test_the_plan_measure_plans_each_share_and_leaves_every_listing_acknowledged(
    database_url: str,
) -> None:
    result = measure(database_url, 400, rounds=1)
    assert result["dirty_listings"] == {"1pct": 16, "10pct": 160, "100pct": 1600}
    for share, dirty in result["dirty_listings"].items():
        assert 0 < result["pushed_listings"][share] <= dirty
    assert result["s_1pct"] > 0
    assert result["ratio_1pct_to_100pct"] > 0
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            assert session.exec(select(func.count()).where(col(Listing.dirty))).one() == 0
            check_ledger_invariants(session)
    finally:
        engine.dispose()


def test_the_order_stream_is_reproducible_and_each_burst_takes_a_fresh_scarce_sku() -> None:
    stream = generate_stream(3, hours=3)
    assert stream == generate_stream(3, hours=3)
    assert stream.sales != generate_stream(4, hours=3).sales
    assert list(stream.sales) == sorted(stream.sales)
    assert all(0 <= sale.at <= stream.seconds for sale in stream.sales)
    bursts: dict[int, list[Sale]] = {}
    for sale in stream.sales:
        if sale.burst >= 0:
            bursts.setdefault(sale.burst, []).append(sale)
    assert len(bursts) > 5
    skus = [buyers[0].sku for buyers in bursts.values()]
    assert len(set(skus)) == len(skus)
    assert all(1 <= stream.stock[sku] <= 5 for sku in skus)
    for buyers in bursts.values():
        assert 3 <= len(buyers) <= 6
        assert {sale.sku for sale in buyers} == {buyers[0].sku}
        assert len({sale.channel for sale in buyers}) == min(len(buyers), stream.channels)
        assert max(s.at for s in buyers) - min(s.at for s in buyers) <= 240


@pytest.mark.slow
def test_a_replay_counts_what_each_push_cadence_and_intake_path_oversells() -> None:
    # Channels ch-1..ch-4 are polled at 0, 15, 30 and 45 s past each minute.
    # X (1 unit): ch-1 sells at 10 s, ch-2 at 14 s; only webhooks (order in at 12 s,
    #   pushed at 13 s) stop the second buyer.
    # Y (1 unit): ch-3 sells at 200 s (polled at 210 s, pushed at 211 s); the ch-4 buyer
    #   at 300 s is stopped by the hub, not by a push every 15 minutes.
    # Z (2 units): ch-2 sells both at 16 and 17 s, ch-1 one more at 20 s. Polled, ch-1's
    #   sale is read first (60 s): the push of 1 unit raises ch-2 from 0 back to 1.
    # The demo's intake paths: ch-1 by webhook and ch-2 by notification after 0.1 s and
    #   0.5 s, ch-3 and ch-4 polled every second: X's and Z's sales are pushed before
    #   the next buyer comes (11.1 s, 17.5 s), Y's after ch-3's pull at 200.5 s.
    stream = OrderStream(
        seed=0,
        seconds=1000.0,
        channels=4,
        stock={"X": 1, "Y": 1, "Z": 2, "PLENTY": 9},
        scarce=("X", "Y", "Z"),
        sales=tuple(
            sorted(
                [
                    *(Sale(10, 0, "X", 1), Sale(14, 1, "X", 1)),
                    *(Sale(200, 2, "Y", 1), Sale(300, 3, "Y", 1)),
                    *(Sale(16, 1, "Z", 1), Sale(17, 1, "Z", 1), Sale(20, 0, "Z", 1)),
                ]
            )
        ),
    )
    paths = intake_paths_mode(IntakeDelays(0.1, 0.5, "a test"))
    polled, webhooks, intake_paths, baseline = (
        Replay(stream, mode, push_delay=1.0).run() for mode in (HUB, HUB_WEBHOOKS, paths, BASELINE)
    )
    seen = [
        (run.orders, run.refused_buyers, run.oversold_orders, run.oversold_units, run.stale_raises)
        for run in (polled, webhooks, intake_paths, baseline)
    ]
    assert seen == [(6, 1, 2, 2, 1), (4, 3, 0, 0, 0), (4, 3, 0, 0, 0), (7, 0, 3, 3, 0)]
    assert baseline.runs["stock"] == 4  # one push of every channel, at 15 minutes
    # Polled, the order read last goes short: X's on ch-1 (read at 60 s, ch-2's at 15 s),
    # Z's second on ch-2 (read at 75 s, ch-1's at 60 s).
    assert polled.oversold_by_channel == {"ch-1": 1, "ch-2": 1, "ch-3": 0, "ch-4": 0}
