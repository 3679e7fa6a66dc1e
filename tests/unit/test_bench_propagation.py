"""b3_propagation's own parts: the sale plan, the rate-limit floor, the commit clock, the
markets' records and the report's verdicts."""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bench.propagation import CommitClock, count_catalogue, plan_sales
from bench.propagation_markets import (
    CHANNELS,
    SECRET_VARIABLE,
    TOKEN_VARIABLE,
    Markets,
    patched_quantity,
    write_config,
)
from bench.rate_floor import Limit, floor_delays, floor_send_times
from bench.report import machine, render
from bench.sale_timing import missed_origins
from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import NormalisedOrder
from omnisync.core.ledger import count_stock
from omnisync.core.order_intake import upsert_order
from omnisync.hub.bootstrap import bootstrap, engine_channels
from omnisync.sync.engine import SyncEngine
from tests.support.world import build_world, ingest, list_sku, make_order, set_count

PATCHES = Limit(per_second=5.0, burst=5.0, cost=1.0, per_call=1)
BATCHES = Limit(per_second=100.0, burst=1000.0, cost=10.0, per_call=250)


def test_the_plan_sells_each_sku_once_at_increasing_moments_and_repeats_for_a_seed() -> None:
    codes = [f"S{n}" for n in range(50)]
    plan = plan_sales(40, codes, ("a", "b", "c"), per_second=4.0, seed=3)

    assert len({sale.sku for sale in plan}) == 40
    assert {sale.channel for sale in plan} == {"a", "b", "c"}
    moments = [sale.at for sale in plan]
    assert moments == sorted(moments)
    assert moments[0] == 0.0
    assert plan == plan_sales(40, codes, ("a", "b", "c"), per_second=4.0, seed=3)
    assert plan != plan_sales(40, codes, ("a", "b", "c"), per_second=4.0, seed=4)
    with pytest.raises(ValueError, match="41 sales need 41 SKUs"):
        plan_sales(41, codes[:40], ("a",), per_second=1.0, seed=3)


def test_one_sku_per_call_goes_out_in_the_burst_then_at_the_rate() -> None:
    sent = floor_send_times([10.0] * 7, PATCHES)

    assert sent[:5] == [10.0] * 5
    assert sent[5:] == pytest.approx([10.2, 10.4])


def test_the_bucket_refills_while_nothing_is_wanted_and_order_does_not_matter() -> None:
    wanted = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # six at once drain it; one 3 s later
    sent = floor_send_times(wanted, PATCHES)

    assert sorted(sent[1:]) == pytest.approx([0.0] * 5 + [0.2])
    assert sent[0] == 3.0


def test_a_call_carries_every_push_wanted_while_it_waited_for_the_bucket() -> None:
    drained = Limit(per_second=100.0, burst=10.0, cost=10.0, per_call=250)
    sent = floor_send_times([0.0, 0.01, 0.05, 0.09], drained)

    # The first call empties the bucket; the next waits 0.1 s and takes the other three.
    assert sent == pytest.approx([0.0, 0.1, 0.1, 0.1])
    capped = Limit(per_second=100.0, burst=10.0, cost=10.0, per_call=2)
    assert floor_send_times([0.0, 0.01, 0.05, 0.09], capped) == pytest.approx([0.0, 0.1, 0.1, 0.2])


def test_a_sale_waits_for_the_slowest_other_channel_never_for_its_own() -> None:
    limits = {"amazon": PATCHES, "shopify": BATCHES}
    # Six Shopify sales at once: Amazon takes five in its burst, the sixth 0.2 s later.
    # Then an Amazon sale: only Shopify must hear of it, and Shopify has room.
    committed = [("shopify", 1.0)] * 6 + [("amazon", 1.0)]
    delays = floor_delays(committed, limits)

    assert delays[:5] == pytest.approx([0.0] * 5)
    assert delays[5] == pytest.approx(0.2)
    assert delays[6] == pytest.approx(0.0)


def test_the_quantity_of_an_amazon_patch_is_its_default_channel_entry() -> None:
    patch = {
        "sku": "MUG",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [
                    {"fulfillment_channel_code": "AMAZON_NA", "quantity": 9},
                    {"fulfillment_channel_code": "DEFAULT", "quantity": 4},
                ],
            }
        ],
    }
    assert patched_quantity(patch) == 4
    with pytest.raises(ValueError, match="MUG sets no DEFAULT quantity"):
        patched_quantity({"sku": "MUG", "patches": [{"op": "delete", "path": "/attributes/x"}]})


def test_the_commit_clock_times_committed_reservations_only(engine: Engine) -> None:
    build_world(engine, channels={"shop": None}, skus=("A", "B", "C"))
    list_sku(engine, "shop", "A", "B", "C")
    for code in "ABC":
        set_count(engine, code, "main", 2)
    clock = CommitClock()
    with clock.installed():
        ingest(engine, "shop", make_order("1", [("A", 1)]))
        with pytest.raises(RuntimeError, match="rolled back"):
            ingest_then_fail(engine, make_order("2", [("B", 1)]))
    ingest(engine, "shop", make_order("3", [("C", 1)]))  # after the hooks were removed

    with transaction(engine, read_only=True) as session:
        ids = {code: sku_by_code(session, code).id for code in "ABC"}
    assert set(clock.committed) == {ids["A"]}


def ingest_then_fail(engine: Engine, order: NormalisedOrder) -> None:
    with transaction(engine) as session:
        upsert_order(session, channel_by_name(session, "shop"), order)
        raise RuntimeError("the order's transaction is rolled back")


def b3_results(p95_ms: float, floor_p95_ms: float, amazon_sale_p95_ms: float) -> dict[str, Any]:
    row = {"p50_ms": 1.0, "p95_ms": p95_ms, "max_ms": 2000.0, "count": 2}

    def origin(sale_p95: float, intake_p95: float, clock: dict[str, int]) -> dict[str, Any]:
        return {
            "sales": 2,
            "sale_to_everywhere": {**row, "p95_ms": sale_p95},
            "from_commit": row,
            "intake": {**row, "p95_ms": intake_p95, "max_ms": intake_p95},
            "clock": clock,
        }

    by_origin = {
        "amazon": origin(amazon_sale_p95_ms, amazon_sale_p95_ms - 100, {"call": 2}),
        "shopify": origin(300.0, 20.0, {"stamp": 2}),
    }
    return {
        "sales": 4,
        "sales_per_s": 3.0,
        "span_s": 2.0,
        "settled": True,
        "unpropagated": 0,
        **row,
        "floor_p50_ms": 0.0,
        "floor_p95_ms": floor_p95_ms,
        "floor_max_ms": 0.0,
        "floor_count": 4,
        "sale_to_everywhere": {**row, "p95_ms": amazon_sale_p95_ms},
        "by_origin": by_origin,
        "target_ms": 5000.0,
        "missed": missed_origins(by_origin, 5000.0),
        "floor_margin_ms": 1000.0,
        "sale_stamps": {"shopify": "created_at", "amazon": "PurchaseDate", "sandbox": "x"},
        "stamps_off_call": 0,
        "throttled": {"shopify": 0, "amazon": 3, "sandbox": 0},
        "amazon_backstop_s": 180,
        "amazon_order_calls": {"searchOrders": 1, "getOrder": 2, "notifications_sent": 2},
        "peak_rss_mb": 100.0,
        "run": {"commit": "abc1234", "date": "2026-11-29 20:00 UTC"},
    }


def test_the_report_gives_each_origins_verdict_and_the_floor_comparison() -> None:
    document = {"machine": machine(), "b3_propagation": b3_results(1050.0, 100.0, 400.0)}
    text = " ".join(render(document).split())
    assert "| hub | 1.0 | 1050.0 | 2000.0 |" in text
    assert "every channel of origin meets it (amazon, shopify)" in text
    assert "within 1.0 s of the floor: this run meets it." in text
    assert "Run of commit `abc1234`" in text
    assert "No order waited for a read." in text

    document["b3_propagation"] = b3_results(1250.0, 0.0, 9000.0)
    text = " ".join(render(document).split())
    assert "misses it by 250 ms" in text
    assert "amazon misses it; shopify meets it" in text
    assert "amazon misses by 4.0 s: its intake p95 is 8.9 s" in text
    assert "the intake limits it (getOrder's tokens, above)" in text


def test_an_older_result_timed_from_the_commit_only_is_rendered_as_such() -> None:
    older = {
        key: value
        for key, value in b3_results(200.0, 0.0, 300.0).items()
        if key not in ("sale_to_everywhere", "by_origin")
    }
    text = " ".join(render({"machine": machine(), "b3_propagation": older}).split())
    assert "An older run, from the commit" in text
    assert "| hub | 1.0 | 200.0 | 2000.0 |" in text


def test_the_markets_record_when_each_channel_applied_what_the_hub_pushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, secret = secrets.token_hex(16), secrets.token_hex(16)
    monkeypatch.setenv(TOKEN_VARIABLE, token)
    monkeypatch.setenv(SECRET_VARIABLE, secret)
    with ExitStack() as stack:
        markets = Markets(token, secret, ["A", "B"], stack)
        hub = bootstrap(write_config(tmp_path, markets, feed_threshold=10), create=True)
        stack.callback(hub.engine.dispose)
        count_catalogue(hub.engine, ["A", "B"])
        sync = SyncEngine(hub.engine, engine_channels(hub.settings), secrets=hub.settings.secrets)
        stack.callback(sync.close)
        for name in CHANNELS:
            assert sync.run(name, "listings").status == "succeeded"
        with transaction(hub.engine) as session:
            count_stock(session, sku_by_code(session, "A"), location_by_code(session, "main"), 4)
        before = time.time()
        for name in CHANNELS:
            assert sync.run(name, "stock").status == "succeeded"
        after = time.time()
        applied = markets.applied()

    for name in CHANNELS:
        [(moment, quantity)] = applied[name]["A"]
        assert quantity == 4
        assert before <= moment <= after
        assert "B" not in applied[name]  # unchanged: never pushed
