"""Pick & pack in a real browser: an operator makes a pick list and reads its walk, then
packs order 1001 (A x2; A's barcode is 111) by typing into the focused scan field exactly
as a USB barcode scanner does (the code, then Enter): a wrong item (222) is refused
loudly and counted nowhere, two 111s pack the parcel. No label is bought here (the live
console has no carrier channel)."""

from __future__ import annotations

from sqlmodel import Session, select

from omnisync.core.models import Order, PackScan, PickList
from tests.support.browser import Browser, LiveConsole


def scanned_units(console: LiveConsole) -> int:
    with Session(console.hub.engine) as session:
        return sum(row.units for row in session.exec(select(PackScan)))


def scan(browser: Browser, *codes: str) -> None:
    """Type into whatever has the focus, as a scanner does: each code then Enter."""
    from selenium.webdriver.common.keys import Keys

    focused = browser.driver.switch_to.active_element
    assert focused.get_attribute("id") in ("scan", "order-scan"), "the scan field lost the focus"
    focused.send_keys("".join(code + Keys.ENTER for code in codes))


def field_ready(browser: Browser) -> bool:
    """The scan field is empty and has the focus again."""
    field = browser.find("#scan")
    focused = browser.driver.switch_to.active_element
    return bool(field.get_attribute("value") == "" and focused.get_attribute("id") == "scan")


def test_a_pick_list_is_made_and_walked(console: LiveConsole, browser: Browser) -> None:
    browser.login("otto")
    browser.open("/pick")
    browser.wait_for("#no-pick-lists")
    browser.find("#pick-max-orders").send_keys("1")
    browser.find("#make-pick-list").click()
    browser.wait_for("#pick-walk")
    assert browser.path.startswith("/pick/")
    assert browser.text("#flash").startswith("Pick list ")
    stop = browser.find("#pick-walk tr.stop")
    assert stop.get_attribute("data-sku") == "A"
    assert "1001" in stop.text
    browser.shot("pick-list")
    with Session(console.hub.engine) as session:
        (made,) = session.exec(select(PickList)).all()
    assert made.created_by == "otto"

    browser.open("/pick")
    row = browser.wait_for("#pick-lists tr.pick-list")
    assert row.get_attribute("data-id") == str(made.id)
    assert "open" in row.text
    browser.shot("pick-lists")

    browser.open(f"/pick/{made.id}/print")
    browser.wait_for("h1")
    assert browser.text("h1") == f"Pick list {made.id} at main"


def test_an_order_is_packed_by_typing_barcodes(console: LiveConsole, browser: Browser) -> None:
    with Session(console.hub.engine) as session:
        order = session.exec(select(Order).where(Order.external_id == "1001")).one()
    browser.login("otto")
    browser.open("/pack")
    browser.wait_for("#ready-orders")
    browser.wait_until("the order field to take the focus", lambda: _focused(browser, "order-scan"))
    browser.shot("pack-start")
    scan(browser, "1001")
    browser.wait_until("the scan screen of 1001", lambda: browser.path == f"/pack/{order.id}")
    browser.wait_for("#scan")
    browser.wait_until("the scan field to take the focus", lambda: field_ready(browser))

    scan(browser, "222")
    refused = browser.wait_for("#scan-result.scan-refused")
    assert refused.get_attribute("role") == "alert"
    assert "222" in refused.text
    assert "B is not in order 1001" in refused.text
    browser.wait_until("the field to be ready again", lambda: field_ready(browser))
    assert scanned_units(console) == 0
    assert browser.find("#pack-lines .line-count").text == "0 / 2"
    browser.shot("pack-refused")

    scan(browser, "111", "111")  # back to back, as fast as a scanner types
    packed = browser.wait_for("#packed")
    assert packed.text.startswith("Packed")
    assert browser.find("#scan-result").get_attribute("class") == "scan-ok"
    assert "the parcel is packed" in browser.text("#scan-result")
    assert browser.find("#pack-lines .line-count").text == "2 / 2"
    browser.wait_until("the field to be ready again", lambda: field_ready(browser))
    assert scanned_units(console) == 2
    browser.shot("pack-done")

    browser.login("vera")
    browser.open(f"/pack/{order.id}")
    browser.wait_for("#packed")
    assert browser.find_all("#scan") == []
    assert browser.find_all("#ship-form") == []
    assert browser.find_all("#read-only") != []


def _focused(browser: Browser, element_id: str) -> bool:
    return bool(browser.driver.switch_to.active_element.get_attribute("id") == element_id)
