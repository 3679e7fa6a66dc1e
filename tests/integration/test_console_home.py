"""The console's home, "needs action" (SQLite and PostgreSQL): its counts match the
seeded world and each, of the hub or of a channel, links to a list of as many rows
(held and oversold late orders among them); late orders come first; a failing
channel shows its last error; the live parts are fragments that answer 401 without a
session. And hub/views/low_stock.py, which the home and /stock?low=1 share."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from omnisync.core.catalog import retire_sku, sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order
from omnisync.core.models import Alert, Order, SyncRun
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import create_return
from omnisync.core.types import AlertState, OrderStatus, SyncRunStatus
from omnisync.hub.views.low_stock import LowStockRow, low_stock_count, low_stock_rows
from tests.support.console import ConsoleClient, ConsoleHub, console_hub, seed_console_world
from tests.support.world import ingest, list_sku, make_order, order_row

FRAGMENT = {"X-Omnisync-Fragment": "1"}


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        seed_console_world(hub.engine)
        yield hub


def count_of(page: str, element_id: str) -> tuple[int, str]:
    """The number and the link of the count `element_id` on the page."""
    found = re.search(
        rf'<a class="count[^"]*" href="([^"]+)" id="{element_id}"><strong>(\d+)</strong>', page
    )
    assert found is not None, f"no count #{element_id} on the page"
    return int(found.group(2)), found.group(1)


ROW_CLASS = {
    "/orders": "order-row",
    "/listings": "listing-row",
    "/stock": "sku-row",
    "/returns": "return-row",
    "/channels": "alert-row",
}
"""The class of one row of each list a count of the home opens."""
_NEXT_PAGE = re.compile(r'<a href="([^"]+)" rel="next"')
_PER_CHANNEL = re.compile(r'<a class="(ready-link|late-link)" href="([^"]+)">(\d+)</a>')


def rows_behind(client: ConsoleClient, href: str) -> int:
    """How many rows the list `href` opens holds, over all its pages."""
    url, rows = html_module.unescape(href).split("#")[0], 0
    for _ in range(20):
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        path = url.split("?")[0]
        rows += page.text.count(f'class="{ROW_CLASS[path]}')
        following = _NEXT_PAGE.search(page.text)
        if following is None:
            return rows
        url = html_module.unescape(following.group(1))
    raise AssertionError(f"{href}: more than 20 pages")


def per_channel_counts(page: str) -> dict[tuple[str, str], tuple[int, str]]:
    """(channel, "ready-link" or "late-link") -> the count and its link, from the
    ready-to-ship table of the home."""
    table = page[page.index('id="ready-by-channel"') : page.index("</table>")]
    found = {}
    for row in table.split("<tr")[2:]:  # past the head row
        channel = re.search(r'data-channel="([^"]+)"', row)
        assert channel is not None, row
        for kind, href, count in _PER_CHANNEL.findall(row):
            found[(channel.group(1), kind)] = (int(count), href)
    return found


def test_home_counts_link_to_their_lists(console: ConsoleHub) -> None:
    engine = console.engine
    list_sku(engine, "market", "A")
    ingest(engine, "market", make_order("2001", [("A", 1)], minutes=5))
    ingest(engine, "shop", make_order("1005", [("A", 1)], minutes=6))
    ingest(engine, "shop", make_order("1006", [("A", 1)], minutes=7, status=OrderStatus.SHIPPED))
    # Late, due an hour ago: 1003 and 2001 (ready), 1002 (oversold) and 1005 (held).
    late_ones = [
        order_row(engine, channel, name).id
        for channel, name in (
            ("shop", "1003"),
            ("shop", "1002"),
            ("shop", "1005"),
            ("market", "2001"),
        )
    ]
    held, shipped_id = order_row(engine, "shop", "1005").id, order_row(engine, "shop", "1006").id
    with transaction(engine) as session:
        now = clock_of(session).now()
        for order_id in late_ones:
            order = session.get(Order, order_id)
            assert order is not None
            order.ship_by = now - timedelta(hours=1)
            session.add(order)
            if order_id == held:
                hold_order(session, order, "address check")
        shipped = session.get(Order, shipped_id)
        assert shipped is not None
        create_return(session, shipped, {"A": 1}, ChannelReturns(), reason="too big")
        session.add(  # market's orders job failed twice in a row
            SyncRun(
                channel_id=channel_by_name(session, "market").id,
                job="orders",
                status=SyncRunStatus.FAILED,
                finished_at=now,
                error="market could not be reached: connection refused",
            )
        )
    with Session(engine) as session:
        open_alerts = session.exec(
            select(func.count()).select_from(Alert).where(Alert.state == AlertState.OPEN)
        ).one()

    page = console.client("vera").get("/")  # any role reads it
    assert page.status_code == 200
    html = page.text
    assert count_of(html, "ready-count") == (3, "/orders?ready=1")  # 1001, 1003, 2001
    assert count_of(html, "oversold-count") == (1, "/orders?oversold=1")  # 1002
    assert count_of(html, "late-count") == (4, "/orders?late=1")  # held and oversold too
    assert count_of(html, "unlinked-count") == (1, "/listings?unlinked=1")  # NEW-1
    assert count_of(html, "low-stock-count") == (1, "/stock?low=1")  # C: 0 free, safety 2
    assert count_of(html, "returns-waiting-count") == (1, "/returns?waiting=1")  # 1006's
    assert count_of(html, "alerts-count") == (open_alerts, "/channels#alerts")
    assert open_alerts >= 1  # 1002's oversold alert
    # Ready per channel, with the late ones among them (held and oversold orders are
    # late but not ready: not counted here).
    channels = per_channel_counts(html)
    assert {key: count for key, (count, _) in channels.items()} == {
        ("market", "ready-link"): 1,
        ("market", "late-link"): 1,
        ("shop", "ready-link"): 2,
        ("shop", "late-link"): 1,
    }
    # Every count, of the whole hub and per channel, is the number of rows of the list
    # its link opens.
    operator = console.client("otto")
    counted = [
        count_of(html, found)
        for found in re.findall(r'class="count[^"]*" href="[^"]+" id="([^"]+)"', html)
    ]
    assert len(counted) == 7, counted
    for count, href in [*counted, *channels.values()]:
        assert rows_behind(operator, href) == count, (href, count)
    # The late order comes first among those to ship next.
    next_up = html[html.index('id="next-up"') :]
    assert next_up.index(">1003</a>") < next_up.index(">1001</a>")
    assert ">1002</a>" not in next_up  # oversold: not ready
    assert ">1005</a>" not in next_up  # held: not ready
    # The failing channel and its last error; the push backlog of shop (its orders moved
    # stock); the oversold alert.
    assert 'data-channel="market"' in html
    assert "market could not be reached: connection refused" in html
    assert 'class="num backlog-count"' in html
    assert "/fragments/home/backlog" in html

    # The counted lists hold what was counted.
    ready = operator.get("/orders", ready="1", channel="shop").text
    assert f'href="/orders/{order_row(engine, "shop", "1001").id}"' in ready
    assert ">1002</a>" not in ready
    assert ">2001</a>" not in ready
    oversold = operator.get("/orders", oversold="1").text
    assert ">1002</a>" in oversold
    assert ">1001</a>" not in oversold
    late_list = operator.get("/orders", late="1").text
    for late_one in ("1002", "1003", "1005", "2001"):
        assert f">{late_one}</a>" in late_list, late_one
    assert ">1001</a>" not in late_list
    shop_late = operator.get(html_module.unescape(channels[("shop", "late-link")][1])).text
    assert ">1003</a>" in shop_late
    assert ">1005</a>" not in shop_late


def test_live_parts_are_fragments_refused_without_a_session(console: ConsoleHub) -> None:
    anonymous = console.client()
    for part in ("channels", "backlog", "alerts"):
        refused = anonymous.http.get(f"/fragments/home/{part}", headers=FRAGMENT)
        assert refused.status_code == 401, part
        assert "<html" not in refused.text
    page = anonymous.get("/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")

    viewer = console.client("vera")
    backlog = viewer.http.get("/fragments/home/backlog", headers=FRAGMENT)
    assert backlog.status_code == 200
    assert "<html" not in backlog.text  # the part alone, not the page
    assert 'href="/channels/shop"' in backlog.text
    alerts = viewer.http.get("/fragments/home/alerts", headers=FRAGMENT)
    assert "oversold" in alerts.text.lower()
    assert viewer.http.get("/fragments/home/nothing", headers=FRAGMENT).status_code == 404


def test_low_stock_thresholds_paging_and_exclusions(console: ConsoleHub) -> None:
    engine = console.engine
    with transaction(engine) as session:
        sku_by_code(session, "A").low_stock_below = 50  # 18 free: low by its own line
        sku_by_code(session, "B").safety_stock = 3  # 0 free (1002 holds all 5)
        upsert_sku(session, "D", title="Retired mug", safety_stock=5)  # no stock, retired
        session.flush()
        retire_sku(session, "D")
        # A bundle holds no stock of its own (its components do): never listed.
        upsert_sku(session, "KIT", components={"A": 1, "C": 1}, safety_stock=4)
        upsert_sku(session, "E", title="Empty mug", safety_stock=1)  # no stock level at all
        # Its own line of 0 beats its safety stock: never low.
        upsert_sku(session, "F", title="Never low", safety_stock=9).low_stock_below = 0
    with Session(engine) as session:
        rows = low_stock_rows(session, limit=10)
        assert rows == [
            LowStockRow("A", "Blue mug", 18, 50, "low_stock_below"),
            LowStockRow("B", "Red mug", 0, 3, "safety_stock"),
            LowStockRow("C", "Green mug", 0, 2, "safety_stock"),
            LowStockRow("E", "Empty mug", 0, 1, "safety_stock"),
        ]
        assert low_stock_count(session) == 4
        first = low_stock_rows(session, limit=2)
        second = low_stock_rows(session, limit=2, after_code=first[-1].code)
        assert [row.code for row in first + second] == ["A", "B", "C", "E"]
        assert low_stock_rows(session, limit=5, after_code="E") == []
    html = console.client("vera").get("/").text
    assert count_of(html, "low-stock-count") == (4, "/stock?low=1")
