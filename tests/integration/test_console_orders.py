"""The console's orders (SQLite and PostgreSQL): the list's filters and its paging by key,
the order's page (route, reservations, parcels, returns), and what an operator does to
an order (ship, route, hold, release, label, return, cancel), each recorded with who did
it, a refusal coming back as the error; a viewer is refused every action and nothing
changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import Order, Return, Shipment, UserAction
from omnisync.core.types import OrderStatus
from omnisync.hub.api import create_app
from tests.support.api import SANDBOX_KEY, closed_channels
from tests.support.carrier_labels import BUYER, write_label_config
from tests.support.console import ConsoleHub, add_users, seed_console_world
from tests.support.hub_setup import engine_for, open_test_hub
from tests.support.world import T0, level, order_row

UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
timeout_seconds: 1
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
  account_number: A1B2C3
"""
UPS_SECRET = "ups-client-secret-7c1d"


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    """The seeded world (1001 with a ship-to address), the console's users, location
    `main` with an address to ship from, and `ups`: a carrier channel selling labels
    that nothing answers."""
    monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
    monkeypatch.setenv("UPS_SECRET", UPS_SECRET)
    channels = {**closed_channels("shop", "market"), "ups": UPS}
    config = write_label_config(tmp_path / "config", channels, tmp_path / "data")
    hub = open_test_hub(config, migrated_database_url)
    add_users(hub.engine)
    seed_console_world(hub.engine)
    with transaction(hub.engine) as session:
        first = session.get(Order, order_row(hub.engine, "shop", "1001").id)
        assert first is not None
        first.ship_to = dict(BUYER)
        session.add(first)
    sync = engine_for(hub)
    app = create_app(sync, settings=hub.settings, scheduler_running=lambda: True)
    with TestClient(app) as http:
        yield ConsoleHub(hub, sync, http)
    sync.close()
    hub.engine.dispose()


def order_id(console: ConsoleHub, external_id: str) -> int:
    found = order_row(console.engine, "shop", external_id).id
    assert found is not None
    return found


def listed(page: str) -> list[str]:
    """The order names of a list page, in order."""
    return re.findall(r'class="order-link">([^<]+)</a>', page)


def flash(client_page: str) -> str:
    found = re.search(r'id="flash">([^<]*)</p>', client_page)
    assert found is not None, "no message on the page"
    return found.group(1)


def test_filters_and_paging_by_key(console: ConsoleHub) -> None:
    # Imported here: imported first, hub/web/paging.py meets an import cycle through hub.api.
    from omnisync.hub.web.paging import PAGE_SIZE

    engine = console.engine
    with transaction(engine) as session:  # more than a page of market's orders
        market = channel_by_name(session, "market").id or 0
        for number in range(PAGE_SIZE + 5):
            placed = T0 + timedelta(days=10, minutes=number)
            session.add(
                Order(
                    channel_id=market,
                    external_id=f"M-{number:03d}",
                    display_name=f"#M{number:03d}",
                    status=OrderStatus.SHIPPED if number % 2 else OrderStatus.ACCEPTED,
                    placed_at=placed,
                    updated_at=placed,
                )
            )
    viewer = console.client("vera")

    first = viewer.get("/orders", channel="market")
    assert first.status_code == 200
    names = listed(first.text)
    assert len(names) == PAGE_SIZE
    assert names[0] == f"#M{PAGE_SIZE + 4:03d}"  # newest placed first
    following = re.search(r'<a href="([^"]+)" rel="next"', first.text)
    assert following is not None
    next_url = following.group(1).replace("&amp;", "&")
    assert "cursor=" in next_url
    assert "offset" not in next_url
    assert "channel=market" in next_url  # the filters go on
    with transaction(engine) as session:  # an order arriving meanwhile shifts nothing
        session.add(
            Order(
                channel_id=market,
                external_id="M-NEW",
                status=OrderStatus.ACCEPTED,
                placed_at=T0 + timedelta(days=20),
                updated_at=T0 + timedelta(days=20),
            )
        )
    path, _, query = next_url.partition("?")
    second = viewer.get(path, **dict(parse_qsl(query)))  # ConsoleClient.get sets the query
    rest = listed(second.text)
    assert rest == [f"#M{number:03d}" for number in range(4, -1, -1)]
    assert 'rel="next"' not in second.text
    assert set(names).isdisjoint(rest)

    shop = listed(viewer.get("/orders", channel="shop").text)
    assert shop == ["1003", "1002", "1001"]
    assert listed(viewer.get("/orders", status="shipped", channel="market").text)[:2] == [
        f"#M{PAGE_SIZE + 3:03d}",  # the odd ones shipped
        f"#M{PAGE_SIZE + 1:03d}",
    ]
    # Placed from/to are days, both ends kept; search by number (with or without #) or id.
    day = (T0 + timedelta(days=10)).date().isoformat()
    on_the_day = listed(viewer.get("/orders", **{"from": day, "to": day}).text)
    assert len(on_the_day) == PAGE_SIZE
    assert "1001" not in on_the_day
    assert listed(viewer.get("/orders", to=T0.date().isoformat()).text) == ["1003", "1002", "1001"]
    assert listed(viewer.get("/orders", q="M007").text) == ["#M007"]
    assert listed(viewer.get("/orders", q="#M007").text) == ["#M007"]
    assert listed(viewer.get("/orders", q="M-007").text) == ["#M007"]
    assert listed(viewer.get("/orders", q=str(order_id(console, "1002"))).text) == ["1002"]
    assert listed(viewer.get("/orders", q="nothing-like-it").text) == []
    assert listed(viewer.get("/orders", ready="1").text) == ["1003", "1001"]
    # A filter that cannot be read is said and left out, never a 500.
    odd = viewer.get("/orders", status="lost", to="someday", channel="shop")
    assert odd.status_code == 200
    assert "status &#39;lost&#39; is not one of the order statuses" in odd.text
    assert listed(odd.text) == ["1003", "1002", "1001"]
    assert viewer.get("/orders", cursor="not-a-cursor").status_code == 422


def test_order_page_shows_route_reservations_and_no_forms_to_a_viewer(
    console: ConsoleHub,
) -> None:
    page = console.client("vera").get(f"/orders/{order_id(console, '1001')}")
    assert page.status_code == 200
    html = page.text
    assert 'id="route-locations">main</strong>' in html
    route_reason = re.search(r'<p id="route-reason">([^<]+)</p>', html)
    assert route_reason is not None
    assert route_reason.group(1).strip()
    reservations = html[html.index('id="reservations"') :]
    assert re.search(r"<td>main</td><td>A</td>.*?<td class=\"num\">2</td>", reservations)
    assert "Nothing shipped yet." in html
    assert "<form" not in html.replace('<form class="who"', "")  # only the sign-out form
    operator = console.client("otto").get(f"/orders/{order_id(console, '1001')}").text
    for form in ("ship-form", "label-form", "route-form", "hold-form", "cancel-form"):
        assert f'id="{form}"' in operator
    assert 'value="ups"' in operator  # the carrier channel to ship with
    assert console.client("vera").get("/orders/999999").status_code == 404


def actions(engine_session: Session) -> list[tuple[str, str, str]]:
    return [
        (row.user_name, row.action, row.target)
        for row in engine_session.exec(select(UserAction).order_by(col(UserAction.id)))
    ]


def test_an_operators_actions_are_done_and_recorded(console: ConsoleHub) -> None:
    engine = console.engine
    otto = console.client("otto")
    first, third = order_id(console, "1001"), order_id(console, "1003")
    page = f"/orders/{first}"

    # Held, it cannot ship: the refusal is the message, and nothing changed.
    held = otto.post(f"{page}/hold", {"reason": "address check"})
    assert held.status_code == 303
    assert held.headers["location"] == page
    refused = otto.post(f"{page}/ship", {"carrier": "ups", "tracking_number": "1Z1", "ship:A": "2"})
    assert refused.status_code == 303
    shown = otto.get(page).text
    assert 'class="flash flash-error"' in shown
    assert "hold" in flash(shown)
    assert 'id="release-form"' in shown
    assert 'id="ship-form"' not in shown
    assert otto.post(f"{page}/release").status_code == 303

    # A label from a carrier nobody answers: the error, nothing shipped.
    label = otto.post(f"{page}/label", {"carrier": "ups", "weight_kg": "1.5"})
    assert label.status_code == 303
    unreachable = otto.get(page).text
    assert 'class="flash flash-error"' in unreachable
    assert "carrier channel ups" in flash(unreachable)
    assert "Connection refused" in flash(unreachable)
    assert UPS_SECRET not in unreachable
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Shipment)).one() == 0

    # Ship 1001 whole.
    shipped = otto.post(
        f"{page}/ship",
        {"carrier": "ups", "tracking_number": "1Z999AA10123456784", "ship:A": "2"},
    )
    assert shipped.status_code == 303
    after = otto.get(page).text
    assert "Shipped 2 units with ups, tracking 1Z999AA10123456784." in flash(after)
    assert 'class="tracking-number">1Z999AA10123456784</strong>' in after
    assert level(engine, "A", "main") == (18, 0)
    assert order_row(engine, "shop", "1001").status == OrderStatus.SHIPPED

    # A return of one unit of what shipped.
    returned = otto.post(f"{page}/return", {"return:A": "1", "reason": "chipped"})
    assert returned.status_code == 303
    assert "Return" in flash(otto.get(page).text)
    with Session(engine) as session:
        made = session.exec(select(Return)).one()
        assert made.order_id == first
        assert made.created_by == "otto"

    # Route 1003 to backup, where C is not: it is oversold there.
    routed = otto.post(f"/orders/{third}/route", {"location": "backup"})
    assert routed.status_code == 303
    third_page = otto.get(f"/orders/{third}").text
    assert "now ships from backup" in flash(third_page)
    assert 'id="route-locations">backup</strong>' in third_page
    assert "(by hand" in third_page
    assert order_row(engine, "shop", "1003").oversold

    # Cancel 1002 in the hub, the channel not asked.
    second = order_id(console, "1002")
    cancelled = otto.post(f"/orders/{second}/cancel", {"reason": "out of stock"})
    assert cancelled.status_code == 303
    message = flash(otto.get(f"/orders/{second}").text)
    assert "Cancelled in the hub" in message
    assert "shop was not told" in message
    assert order_row(engine, "shop", "1002").status == OrderStatus.CANCELLED

    with Session(engine) as session:
        done = actions(session)
    assert [(who, what) for who, what, _ in done] == [
        ("otto", "order.hold"),
        ("otto", "order.release"),
        ("otto", "order.ship"),
        ("otto", "return.create"),
        ("otto", "order.route"),
        ("otto", "order.cancel"),
    ]
    assert all("shop order" in target for _, _, target in done)


ACTIONS = {
    "ship": {"carrier": "ups", "tracking_number": "1Z1", "ship:A": "2"},
    "route": {"location": "backup"},
    "hold": {"reason": "x"},
    "release": {},
    "cancel": {"reason": "x"},
    "label": {"carrier": "ups", "weight_kg": "1"},
    "return": {"return:A": "1", "reason": "x"},
}


def test_a_viewer_is_refused_every_action_and_nothing_changes(console: ConsoleHub) -> None:
    engine = console.engine
    first = order_id(console, "1001")

    def state() -> tuple[object, ...]:
        stock = level(engine, "A", "main")
        with Session(engine) as session:
            order = session.get(Order, first)
            assert order is not None
            return (
                order.status,
                order.held_at,
                order.route,
                order.cancelled_by_hub_at,
                session.exec(select(func.count()).select_from(UserAction)).one(),
                session.exec(select(func.count()).select_from(Shipment)).one(),
                session.exec(select(func.count()).select_from(Return)).one(),
                stock,
            )

    before = state()
    vera = console.client("vera")
    for action, body in ACTIONS.items():
        answer = vera.post(f"/orders/{first}/{action}", body)
        assert answer.status_code == 403, action
    otto = console.client("otto")
    for action, body in ACTIONS.items():  # an operator with a forged token: refused too
        assert otto.post(f"/orders/{first}/{action}", body, csrf="forged").status_code == 403
    assert state() == before
