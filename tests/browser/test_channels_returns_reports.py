"""The Channels, Returns and Reports screens in a real browser: an admin pauses the shop
with a reason and resumes it (the hub's row follows; a viewer gets no buttons); an
operator receives a return, restocking it; the reports page draws its charts from
orders placed this week. Screenshots: channels, channel-detail, returns-list,
return-detail, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Return
from omnisync.core.types import OrderStatus, ReturnStatus
from omnisync.hub.bootstrap import Hub
from omnisync.hub.returns import NewReturn, open_return
from tests.support.browser import Browser, LiveConsole, live_console, skip_without_browser
from tests.support.world import ingest, level, make_order

RETURNED = "R-9"


def seed(hub: Hub) -> None:
    """Orders placed in the last days (one shipped, with a return of 2 units of A)."""
    now = utcnow()
    placed = (
        ("W-1", [("A", 3)], 0, OrderStatus.ACCEPTED),
        ("W-2", [("B", 1), ("C", 1)], 1, OrderStatus.ACCEPTED),
        ("W-3", [("A", 1)], 2, OrderStatus.ACCEPTED),
        (RETURNED, [("A", 2)], 3, OrderStatus.SHIPPED),
    )
    for external_id, lines, days_ago, status in placed:
        at = now - timedelta(days=days_ago, minutes=5)
        shipped = [quantity for _, quantity in lines] if status == OrderStatus.SHIPPED else None
        order = make_order(external_id, lines, status=status, shipped=shipped)
        ingest(hub.engine, "shop", order.model_copy(update={"placed_at": at, "updated_at": at}))
    with transaction(hub.engine) as session:
        open_return(
            session, NewReturn(order=RETURNED, units={"A": 2}, reason="wrong colour"), by="shop"
        )


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    """The module's live console: the default world and `seed`."""
    skip_without_browser()
    with live_console(tmp_path_factory.mktemp("console"), seed=seed) as live:
        yield live


def paused(console: LiveConsole) -> tuple[str | None, str | None]:
    with Session(console.hub.engine) as session:
        channel = channel_by_name(session, "shop")
        return channel.paused_by, channel.paused_reason


def test_admin_pauses_and_resumes_a_channel(console: LiveConsole, browser: Browser) -> None:
    browser.login("vera")
    browser.open("/channels/shop")
    browser.wait_for("#channel-facts")
    assert not browser.find_all("#channel-actions")

    browser.login("ada")
    browser.open("/channels")
    browser.wait_for('tr.channel-row[data-channel="shop"]')
    assert browser.find_all("#alerts")
    browser.shot("channels")

    browser.find('tr.channel-row[data-channel="shop"] a.channel-link').click()
    browser.wait_for("#pause-form")
    browser.find("#pause-reason").send_keys("stock take in the warehouse")
    browser.find("#pause").click()
    browser.wait_for("#flash")
    assert "paused by ada: stock take in the warehouse" in browser.text("#flash")
    assert paused(console) == ("ada", "paused by ada: stock take in the warehouse")
    assert "by hand: until someone resumes it" in browser.text("#channel-state")
    assert browser.find_all("#resume-form")
    browser.shot("channel-detail")

    browser.open("/channels")
    browser.wait_for('tr.channel-row[data-channel="shop"][data-state="paused"]')
    browser.open("/channels/shop")
    browser.find("#resume").click()
    browser.wait_until("the pause form is back", lambda: bool(browser.find_all("#pause-form")))
    assert "shop is resumed" in browser.text("#flash")
    assert paused(console) == (None, None)


def test_operator_receives_a_return(console: LiveConsole, browser: Browser) -> None:
    browser.login("otto")
    browser.open("/returns?waiting=1")
    browser.wait_for("#returns-table")
    rows = browser.find_all("tr.return-row")
    assert [row.get_attribute("data-status") for row in rows] == ["approved"]
    browser.shot("returns-list")

    before = level(console.hub.engine, "A", "main")[0]
    browser.find("tr.return-row a.return-link").click()
    browser.wait_for("#receive-form")
    line = browser.find("tr.return-line").get_attribute("data-line")
    restock = browser.find(f"#units-{line}-restock")
    restock.clear()
    restock.send_keys("1")
    damaged = browser.find(f"#units-{line}-damaged")
    damaged.clear()
    damaged.send_keys("1")
    browser.shot("return-detail")
    browser.find("#receive").click()
    browser.wait_for("#flash")
    assert "received: 1 A restock, 1 A damaged; it is received" in browser.text("#flash")
    assert browser.find("#return-status").get_attribute("data-status") == "received"
    assert not browser.find_all("#receive-form")
    assert level(console.hub.engine, "A", "main")[0] == before + 1
    with Session(console.hub.engine) as session:
        (ret,) = session.exec(select(Return)).all()
        assert ret.status == ReturnStatus.RECEIVED


def test_reports_show_charts(console: LiveConsole, browser: Browser) -> None:
    browser.login("vera")
    browser.open("/reports?days=7")
    browser.wait_for("#orders-chart svg.chart")
    assert len(browser.find_all("svg.chart")) == 4
    assert browser.find_all("#orders-chart polyline")
    assert [row.get_attribute("data-sku") for row in browser.find_all("tr.top-product")] == [
        "A",
        "B",
        "C",
    ]
    assert "4 orders" in browser.text("#report-totals")
    browser.shot("reports")
