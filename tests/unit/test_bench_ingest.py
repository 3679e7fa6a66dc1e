"""b1_ingest at a smoke size: the recorded shapes map to what the measure counts, the
real path does all its work (or the measure refuses the run), and the figures add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import ingest
from omnisync.core.db import make_engine
from tests.support.databases import sqlite_url


def test_the_feeds_map_to_the_orders_and_lines_they_count() -> None:
    feeds = ingest.feeds(30)
    assert [(feed.name, feed.orders) for feed in feeds] == [("shopify", 15), ("amazon", 15)]
    for feed in feeds:
        orders = [order for text in feed.pages for order in feed.map_page(json.loads(text))]
        assert len(orders) == feed.orders
        assert sum(len(order.lines) for order in orders) == feed.lines
        assert max(len(json.loads(text)) for text in feed.pages) <= feed.orders_per_page
        assert len({order.external_id for order in orders}) == feed.orders
        for order in orders:
            assert 2 <= len(order.lines) <= 4
            assert order.total == sum(
                (line.unit_price or 0) * line.quantity for line in order.lines
            )
            assert all(line.channel_sku.startswith("SKU-") for line in order.lines)


def test_the_real_path_refuses_a_run_that_did_less_than_its_work(tmp_path: Path) -> None:
    feeds = ingest.feeds(20)
    engine = make_engine(sqlite_url(tmp_path))
    hub = ingest.prepare(engine)
    seconds = ingest.real_path(engine, hub, feeds)
    assert set(seconds) == {"shopify", "amazon"}
    with pytest.raises(RuntimeError, match="created 0 of 20 orders"):
        ingest.real_path(engine, hub, feeds)  # all known already: nothing created
    engine.dispose()


def test_a_smoke_measure_reports_every_figure() -> None:
    result = ingest.measure_backend("sqlite", 20, 1)
    assert result["orders"] == 20
    assert result["rounds"] == 1
    assert result["lines"] == sum(row["lines"] for row in result["by_channel"].values())
    for row in (result, *result["by_channel"].values()):
        assert row["orders_per_s"] > 0
        assert row["floor_rows_per_s"] > 0
        assert row["ratio"] > 0
    assert result["by_channel"]["shopify"]["orders_per_page"] == 10
    assert result["by_channel"]["amazon"]["orders_per_page"] == 100
    assert result["peak_rss_mb"] > 0
