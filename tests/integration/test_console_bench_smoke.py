"""The console benchmark (bench/console_pages.py, b6_console) on a tiny catalogue, so its
code cannot rot: it finds every console page in the app, fills its path, follows the
next pages and live fragments, signs in, gets 200 everywhere, and writes its section.
No timing is asserted; the figures are whatever this machine gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import SQLModel, col, select

import omnisync.hub.api  # noqa: F401 (the app first: hub.web.pages imports it back)
from bench import console_pages
from bench.console_data import CHANNELS, fill_console_world
from bench.report import machine, render
from bench.report_console import SECTION_TITLE, console_section
from bench.runner import MEASURES
from omnisync.core.db import transaction
from omnisync.core.models import (
    Channel,
    Listing,
    Order,
    PickList,
    Return,
    Shipment,
    TrackingEvent,
)
from omnisync.core.types import OrderStatus, PickListState
from omnisync.hub.bootstrap import bootstrap_with
from omnisync.hub.settings import load_settings
from omnisync.hub.web.pages import PAGE_ROUTERS
from tests.support.databases import migrated_sqlite_file
from tests.support.world import check_ledger_invariants

pytestmark = pytest.mark.slow

SKUS = 200
RUN = {"commit": "abc1234", "date": "2026-12-01 10:00 UTC", "machine": None}


def console_get_paths() -> list[str]:
    """Every GET path of the console's routers but the login form, read from the routers
    themselves rather than the way the benchmark reads them."""
    return [
        route.path
        for router in PAGE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()) and route.path != "/login"
    ]


def test_every_console_page_is_measured_and_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = console_pages.main(["--skus", str(SKUS), "--rounds", "1", "--no-write"])
    printed = capsys.readouterr().out
    rows = result["pages"]
    labels = {row["page"] for row in rows}
    failures = {
        row["page"]: (row["status"], row.get("error")) for row in rows if row["status"] != 200
    }
    assert failures == {}, failures
    assert result["failed"] == []
    assert result["skus"] == SKUS
    assert result["rows"]["skus"] == SKUS
    assert result["not_measured"] == []

    # Every page of every router: by its path, or (a path no real id fills, as
    # /fragments/home/{part}) through the live fragments the pages refresh.
    fragments = [row["url"] for row in rows if row["fragment"]]
    assert fragments, "no live fragment was found in the pages"
    for path in console_get_paths():
        pattern = console_pages._route_pattern(path)
        assert path in labels or any(pattern.fullmatch(url) for url in fragments), path
    paths = set(console_get_paths())
    assert result["variants"]
    for asked in result["variants"]:
        path = asked.split("?", 1)[0]
        assert (asked in labels) == (path in paths), asked
        assert (asked in result["absent_variants"]) == (path not in paths), asked
    if "/stock" in paths:  # 200 SKUs fill more than one page of 50
        assert "/stock → next page" in labels
    for row in rows:
        assert row["rounds"] == 1, row
        assert row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], row
        assert row["queries"] >= 1, row  # the session is read from the database at least
        assert row["kb"] > 0, row
        assert row["page"] in printed

    # No secret of the throwaway hub leaves the benchmark.
    everything = json.dumps(result) + printed
    assert console_pages.PASSWORD not in everything
    assert "bench-sandbox-key" not in everything

    # The section: a row per page; a page over 300 ms at p95 is marked, with its slowest
    # statement and plan.
    heaviest = [{"ms": 250.0, "sql": "SELECT 1", "plan": ["SCAN skus"]}]
    slow_row = {**rows[0], "p95_ms": 301.0, "slowest": heaviest}
    measured = {**result, "run": RUN, "pages": [slow_row, *rows[1:]]}
    section = "\n".join(console_section(measured))
    assert SECTION_TITLE.format(skus=SKUS) in section
    assert f"SQLite {result['sqlite']}" in section
    for row in rows:
        assert f"| `{row['page']}` | 200 |" in section
    assert section.count("**SLOW**") == 1
    assert f"### `{rows[0]['page']}`: 301.0 ms at p95" in section
    assert "SCAN skus" in section

    # Written into a file: added once, then replaced in place, the other sections kept;
    # and docs/benchmarks.md's renderer includes it.
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## b5_oversell: before\n\nkept\n")
    console_pages.write_section(result, output, RUN)
    output.write_text(output.read_text() + "\n## b7_later: after\n\nkept too\n")
    console_pages.write_section({**result, "skus": SKUS}, output, RUN)
    text = output.read_text()
    assert text.count("## b6_console:") == 1
    assert "## b5_oversell: before\n\nkept\n" in text
    assert text.rstrip().endswith("## b7_later: after\n\nkept too")
    document = {"machine": machine(), "b6_console": {**result, "run": RUN}}
    assert SECTION_TITLE.format(skus=SKUS) in render(document)
    assert "b6_console" in MEASURES


def test_the_catalogue_keeps_the_ledger_and_names_real_rows(tmp_path: Path) -> None:
    config = console_pages.write_config(tmp_path / "config")
    url = f"sqlite:///{tmp_path / 'omnisync.db'}"
    migrated_sqlite_file(url)
    settings = load_settings(
        config, env={console_pages.SANDBOX_KEY_VARIABLE: "key"}, database_url=url
    )
    hub = bootstrap_with(settings, create=True)
    try:
        world = fill_console_world(hub.engine, SKUS, "$argon2id$not-a-real-hash")
        with transaction(hub.engine, read_only=True) as session:
            check_ledger_invariants(session)
            for table, count in world.rows.items():
                stored = session.exec(
                    select(func.count()).select_from(SQLModel.metadata.tables[table])
                ).one()
                assert stored == count, table
            order = session.get(Order, world.order_id)
            assert order is not None
            assert order.status is OrderStatus.DELIVERED
            assert session.exec(select(Return).where(Return.order_id == order.id)).first()
            shipment = session.get(Shipment, world.shipment_id)
            assert shipment is not None
            assert shipment.order_id == order.id
            assert session.exec(
                select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)
            ).first()
            ready = session.get(Order, world.open_order_id)
            assert ready is not None
            assert ready.status is OrderStatus.ACCEPTED
            assert not ready.oversold
            oversold = session.get(Order, world.oversold_order_id)
            assert oversold is not None
            assert oversold.oversold
            pick_list = session.get(PickList, world.pick_list_id)
            assert pick_list is not None
            assert pick_list.state is PickListState.OPEN
            unlinked = session.get(Listing, world.unlinked_listing_id)
            assert unlinked is not None
            assert unlinked.sku_id is None
            assert unlinked.channel_sku == world.unlinked_listing
            paused = session.exec(select(Channel).where(Channel.name == CHANNELS[2])).one()
            assert paused.paused_by == world.user
            linked = session.exec(
                select(func.count()).select_from(Listing).where(col(Listing.sku_id).is_not(None))
            ).one()
            assert linked == 2 * SKUS
    finally:
        hub.engine.dispose()
