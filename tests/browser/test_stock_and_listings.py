"""The Stock and Listings screens in a real browser: an operator adjusts A's stock through
the form and sees the channel's quantity follow (the sandbox marketplace holds the new
figure and the SKU page, refreshing by itself, shows the channel acknowledged it); a
viewer gets no forms; an operator links the unlinked listing NEW-1 by searching a hub
SKU. Screenshots: stock-list, stock-sku, stock-sku-history, listings, listings-link."""

from __future__ import annotations

from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import Listing
from tests.support.browser import Browser, LiveConsole
from tests.support.world import level

SHOP_FIGURE = 'tr.channel-availability[data-channel="shop"] td.available'
SHOP_ACK = 'tr.listing-ack[data-channel="shop"][data-listing="A"] td.acknowledged'


def shop_figure(console: LiveConsole, code: str) -> int:
    """What the hub computes `shop` may offer of the SKU now (core's figure)."""
    with Session(console.hub.engine) as session:
        sku, shop = sku_by_code(session, code), channel_by_name(session, "shop")
        assert sku.id is not None
        return available_to_sell(session, shop, [sku.id])[sku.id]


def live_text(browser: Browser, css: str) -> str | None:
    """The element's text, or None while it is missing or being replaced by a refresh."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        found = browser.find_all(css)
        return str(found[0].text) if found else None
    except StaleElementReferenceException:
        return None


def test_operator_adjusts_stock_and_the_channel_follows(
    console: LiveConsole, browser: Browser
) -> None:
    browser.login("vera")
    browser.open("/stock/A")
    browser.wait_for("#availability")
    assert not browser.find_all("#adjust-form")
    assert not browser.find_all("#count-form")

    browser.login("otto")
    browser.open("/stock")
    browser.wait_for('tr.sku-row[data-sku="A"]')
    browser.find("#stock-search").send_keys("mug\n")
    browser.wait_until("the search lists the mugs", lambda: "q=mug" in browser.path)
    assert [row.get_attribute("data-sku") for row in browser.find_all("tr.sku-row")] == [
        "A",
        "B",
        "C",
    ]
    browser.shot("stock-list")

    browser.find('tr.sku-row[data-sku="A"] a.sku-link').click()
    browser.wait_for("#adjust-form")
    before = level(console.hub.engine, "A", "main")[0]
    browser.find("#adjust-delta").send_keys("7")
    browser.find("#adjust-reason").send_keys("found a box")
    browser.find("#adjust-submit").click()
    browser.wait_for("#flash")
    assert "A at main: +7 (found a box)." in browser.text("#flash")
    assert level(console.hub.engine, "A", "main")[0] == before + 7

    figure = shop_figure(console, "A")
    assert int(browser.text(SHOP_FIGURE)) == figure
    browser.wait_until(
        "the shop holds A's new quantity", lambda: console.marketplace.quantity("A") == figure
    )
    browser.wait_until(
        "A's page shows the shop acknowledged it",
        lambda: live_text(browser, SHOP_ACK) == str(figure),
    )
    assert "found a box" in browser.text("#movements")
    browser.shot("stock-sku")
    assert browser.find_all("#on-hand-chart svg.chart")
    browser.driver.execute_script("document.getElementById('stock-forms').scrollIntoView()")
    browser.shot("stock-sku-history")


def test_operator_links_an_unlinked_listing_by_searching(
    console: LiveConsole, browser: Browser
) -> None:
    with transaction(console.hub.engine) as session:
        upsert_sku(session, "Y", title="Yellow mug")
    browser.login("otto")
    browser.open("/listings")
    browser.wait_for('tr.listing-row.unlinked[data-listing="NEW-1"]')
    first = browser.find_all("tr.listing-row")[0]
    assert first.get_attribute("data-listing") == "NEW-1"  # unlinked first
    browser.shot("listings")

    browser.find('tr.listing-row[data-listing="NEW-1"] a.link-listing').click()
    browser.wait_for("#sku-search")
    browser.find("#sku-search").send_keys("yellow\n")
    browser.wait_for('tr.sku-match[data-sku="Y"]')
    browser.shot("listings-link")
    browser.find('button.link-button[data-sku="Y"]').click()
    browser.wait_for('tr.listing-row.linked[data-listing="NEW-1"]')
    assert "Y" in browser.text('tr.listing-row[data-listing="NEW-1"] td.linked-sku')
    with Session(console.hub.engine) as session:
        row = session.exec(select(Listing).where(Listing.channel_sku == "NEW-1")).one()
        assert row.sku_id == sku_by_code(session, "Y").id
