"""The console's reports screen in-process (SQLite and PostgreSQL): over the last 7, 30 or
90 days on the hub's clock, the orders and units it shows per channel per day are those
of the orders seeded (cancelled ones left out, cancelled units too), the top products
are ranked by units, and the return rate per channel is `report returns`' figure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from omnisync.core.catalog import upsert_sku
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.types import OrderStatus
from omnisync.hub.returns import NewReturn, open_return
from omnisync.hub.views.return_rates import returns_report
from tests.support.console import VIEWER, console_hub
from tests.support.world import ingest, list_sku, make_order, set_count

SALES = re.compile(
    r'data-day="([0-9-]+)" data-channel="([^"]+)" data-orders="(\d+)" data-units="(\d+)"'
)
PRODUCTS = re.compile(r'class="top-product" data-sku="([^"]+)" data-units="(\d+)"')
RATES = re.compile(r'class="return-rate" data-channel="([^"]+)" data-rate="([^"]*)"')

ORDERS = (
    # channel, id, lines (sku, quantity, cancelled), days ago, status
    ("shop", "S1", [("A", 2, 0)], 0, OrderStatus.ACCEPTED),
    ("shop", "S2", [("B", 1, 0), ("A", 1, 0)], 1, OrderStatus.ACCEPTED),
    ("shop", "S3", [("B", 9, 0)], 1, OrderStatus.CANCELLED),
    ("shop", "S4", [("C", 5, 2)], 2, OrderStatus.ACCEPTED),
    ("market", "M1", [("A", 4, 0)], 1, OrderStatus.SHIPPED),
    ("market", "M2", [("A", 1, 0)], 40, OrderStatus.ACCEPTED),
)


def test_reports_show_the_seeded_orders_per_channel_per_day(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        engine = console.engine
        with transaction(engine) as session:
            for code in "ABC":
                upsert_sku(session, code, title=f"Mug {code}")
        for code in "ABC":
            set_count(engine, code, "main", 50)
        list_sku(engine, "shop", "A", "B", "C")
        list_sku(engine, "market", "A", "B", "C")
        now = utcnow()
        expected: dict[int, dict[tuple[str, str], tuple[int, int]]] = {7: {}, 30: {}, 90: {}}
        for channel, external_id, lines, days_ago, status in ORDERS:
            placed = now - timedelta(days=days_ago, minutes=1)
            order = make_order(
                external_id,
                [(sku, quantity) for sku, quantity, _ in lines],
                status=status,
                shipped=[quantity for _, quantity, _ in lines]
                if status == OrderStatus.SHIPPED
                else None,
                cancelled=[cancelled for _, _, cancelled in lines],
            ).model_copy(update={"placed_at": placed, "updated_at": placed})
            ingest(engine, channel, order)
            if status == OrderStatus.CANCELLED:
                continue
            units = sum(quantity - cancelled for _, quantity, cancelled in lines)
            for period, figures in expected.items():
                first = datetime.combine((now - timedelta(days=period - 1)).date(), time.min, UTC)
                if placed >= first:
                    key = (placed.date().isoformat(), channel)
                    orders, sold = figures.get(key, (0, 0))
                    figures[key] = (orders + 1, sold + units)
        with transaction(engine) as session:
            open_return(session, NewReturn(order="M1", units={"A": 1}, reason="chipped"), by="t")

        viewer = console.client(VIEWER)
        for period, figures in expected.items():
            page = viewer.get("/reports", days=str(period))
            assert page.status_code == 200, page.text
            shown = {
                (day, channel): (int(orders), int(units))
                for day, channel, orders, units in SALES.findall(page.text)
                if (int(orders), int(units)) != (0, 0)
            }
            assert shown == figures, period
            assert page.text.count('<svg class="chart"') == 4  # orders, units, products, rates
            assert "<polyline" in page.text
        assert sum(orders for orders, _ in expected[30].values()) == 4
        assert sum(orders for orders, _ in expected[90].values()) == 5

        page = viewer.get("/reports")  # 30 days
        assert 'class="count current" id="period-30"' in page.text
        assert PRODUCTS.findall(page.text) == [("A", "7"), ("C", "3"), ("B", "1")]
        assert dict(RATES.findall(page.text)) == {"market": "0.25"}
        assert PRODUCTS.findall(viewer.get("/reports", days="90").text)[0] == ("A", "8")
        assert viewer.get("/reports", days="12").status_code == 422
        with Session(engine) as session:  # the page's figures without the SKUs' rows
            since = now - timedelta(days=90)
            full = returns_report(session, since, utcnow())
            quick = returns_report(session, since, utcnow(), per_sku=False)
        assert (quick.channels, quick.total, quick.skus) == (full.channels, full.total, [])
        assert full.skus
