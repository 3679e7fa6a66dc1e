"""The home and the orders screens in a real browser: an operator opens "needs action",
follows the oversold count to the filtered list, opens the order and ships what it
holds through the form; screenshots `home`, `orders-list`, `order-detail`.

This module's console also has `ups`, a carrier channel (nothing answers it; shipping
by hand asks it nothing), so that an order can be shipped from its page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from omnisync.core.models import Shipment, UserAction
from tests.support.browser import Browser, LiveConsole, live_console, skip_without_browser
from tests.support.world import level, order_row

UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
timeout_seconds: 1
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    """The live console of tests/support/browser.py, with the carrier channel `ups` (its
    file is in the config folder before the hub reads it)."""
    skip_without_browser()
    folder = tmp_path_factory.mktemp("console")
    (folder / "config" / "channels").mkdir(parents=True)
    (folder / "config" / "channels" / "ups.yaml").write_text(UPS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPS_SECRET", "ups-client-secret-browser")
        with live_console(folder) as live:
            yield live


def test_operator_follows_the_oversold_count_and_ships_the_order(
    console: LiveConsole, browser: Browser
) -> None:
    engine = console.hub.engine
    browser.login("otto")
    browser.open("/")
    count = browser.wait_for("#oversold-count")
    assert count.find_element("css selector", "strong").text == "1"
    assert browser.text("#ready-count strong") == "2"
    assert browser.text("#low-stock-count strong") == "1"
    assert browser.find("#home-backlog").get_attribute("data-refresh") == (
        "/fragments/home/backlog"
    )
    browser.shot("home")

    count.click()
    browser.wait_until("the oversold orders", lambda: browser.path == "/orders?oversold=1")
    names = [link.text for link in browser.find_all("a.order-link")]
    assert names == ["1002"]
    assert browser.find("#filter-oversold").is_selected()
    browser.shot("orders-list")

    browser.find("a.order-link").click()
    browser.wait_for("#ship-form")
    assert browser.text("#order-name") == "1002"
    assert browser.text("#route-locations") == "main"
    reservation = browser.find("#reservations tr.reservation")
    assert reservation.get_attribute("data-location") == "main"
    full = browser.driver.execute_script("return document.body.scrollHeight")
    browser.driver.set_window_size(1400, max(int(full) + 120, 1000))  # the forms too
    browser.shot("order-detail")
    browser.driver.set_window_size(1400, 1000)

    # 50 ordered, 5 held at main: the form offers the 5 that are there.
    browser.find("#ship-tracking").send_keys("1ZBROWSER0001")
    units = browser.find('input[name="ship:B"]')
    assert units.get_attribute("value") == "5"
    units.clear()
    units.send_keys("5")
    browser.find("#ship-submit").click()
    message = browser.wait_for("#flash")
    assert message.text == "Shipped 5 units with ups, tracking 1ZBROWSER0001."
    assert browser.text("#shipments-list .tracking-number") == "1ZBROWSER0001"
    assert browser.text("#order-status") == "partially shipped"

    assert level(engine, "B", "main") == (0, 0)
    assert order_row(engine, "shop", "1002").oversold  # 45 still wanted
    with Session(engine) as session:
        parcel = session.exec(select(Shipment)).one()
        assert parcel.tracking_number == "1ZBROWSER0001"
        done = session.exec(select(UserAction).order_by(col(UserAction.id).desc())).first()
        assert done is not None
        assert (done.user_name, done.action, done.via) == ("otto", "order.ship", "console")
