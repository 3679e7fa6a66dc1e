"""The Pick & pack screens in-process (SQLite and PostgreSQL): pick lists made, confirmed
with a short and cancelled through /pick; order 1001 (A x2, A's barcode 111) packed
through /pack, a wrong item refused loudly and counted nowhere; the parcel shipped by
hand; viewers and forged forms change nothing; every change is recorded with its user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from omnisync.core.models import Order, PackScan, PickList, Shipment, UserAction
from omnisync.core.types import PickListState
from tests.support.api import closed_channels
from tests.support.console import ConsoleClient, ConsoleHub, console_hub, seed_console_world

UPS_SECRET = "ups-client-secret-7d41"
UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
"""
FRAGMENT = {"X-Omnisync-Fragment": "1"}


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    """The seeded world (1001: A x2; 1002: B x50, oversold; 1003: C x1) and a carrier
    channel `ups` nothing answers (a shipment is recorded by hand)."""
    monkeypatch.setenv("UPS_SECRET", UPS_SECRET)
    channels = {**closed_channels("shop", "market"), "ups": UPS}
    with console_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as hub:
        seed_console_world(hub.engine)
        yield hub


def page(client: ConsoleClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert UPS_SECRET not in response.text
    return response.text


def followed(client: ConsoleClient, response: httpx.Response) -> str:
    """The page a post/redirect/get lands on (its one-time message shown)."""
    assert response.status_code == 303, response.text
    return page(client, response.headers["location"])


def flash(text: str) -> str:
    found = re.search(r'id="flash">([^<]*)<', text)
    assert found is not None, text
    return found.group(1)


def actions(hub: ConsoleHub, prefix: str) -> list[tuple[str, str, str]]:
    with Session(hub.engine) as session:
        rows = session.exec(
            select(UserAction)
            .where(col(UserAction.action).startswith(prefix))
            .order_by(col(UserAction.id))
        ).all()
        return [(row.user_name, row.action, row.target) for row in rows]


def lists(hub: ConsoleHub) -> dict[int, PickListState]:
    with Session(hub.engine) as session:
        return {row.id or 0: row.state for row in session.exec(select(PickList))}


def test_pick_lists_are_made_confirmed_with_a_short_and_cancelled(
    console: ConsoleHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    otto, vera = console.client("otto"), console.client("vera")
    assert 'id="no-pick-lists"' in page(otto, "/pick")
    assert 'id="create-pick-list"' not in page(vera, "/pick")

    # Refused: a viewer, a forged form, a bad number; none makes a list.
    assert vera.post("/pick", {"location": "main"}).status_code == 403
    assert otto.post("/pick", {"location": "main"}, csrf="forged").status_code == 403
    refused = followed(otto, otto.post("/pick", {"location": "main", "max_orders": "x"}))
    assert "max orders: &#39;x&#39; is not a whole number" in flash(refused)
    assert "flash-error" in refused
    assert lists(console) == {}

    first = followed(otto, otto.post("/pick", {"location": "main", "max_orders": "1"}))
    assert flash(first).startswith("Pick list 1 at main: 1 order(s), 2 unit(s)")
    assert "1 oversold order(s) left out" in flash(first)
    walk = first.split('id="pick-walk"')[1]
    assert re.search(r'data-sku="A".*?<strong>.*?</strong>.*?>A<.*?>2\b', walk, re.S)
    assert '<a href="/pack/' in walk
    assert "1001" in walk
    assert "1002" not in walk  # oversold: left out
    assert 'id="confirm-pick-list"' in first
    assert 'id="confirm-pick-list"' not in page(vera, "/pick/1")

    second = followed(otto, otto.post("/pick", {"location": "main", "channel": "shop"}))
    assert flash(second).startswith("Pick list 2 at main: 1 order(s), 1 unit(s)")
    assert "1003" in second
    nothing = followed(otto, otto.post("/pick", {"location": "main"}))
    assert flash(nothing) == "Nothing to pick at main; 1 oversold order(s) left out."

    cancelled = followed(otto, otto.post("/pick/2/cancel"))
    assert "cancelled: its units may go on another list" in flash(cancelled)
    again = followed(otto, otto.post("/pick/2/cancel"))
    assert flash(again) == "pick list 2 is cancelled already"
    assert vera.post("/pick/1/cancel").status_code == 403

    # Open first, then newest, one list a page: 1 (open, older) before 2 (cancelled).
    monkeypatch.setattr("omnisync.hub.web.pages.picking.PAGE_SIZE", 1)
    shown, path = [], "/pick"
    for _ in range(3):  # a bound: a cursor that pointed back would repeat a page
        listing = page(otto, path.replace("&amp;", "&"))
        shown += re.findall(r'class="pick-list state-(\w+)" data-id="(\d+)"', listing)
        found = re.search(r'href="([^"]+)" rel="next"', listing)
        if found is None:
            break
        path = found.group(1)
    assert shown == [("open", "1"), ("cancelled", "2")]
    monkeypatch.undo()

    # A short the list cannot have changes nothing; a real one is recorded.
    for shorts, why in (
        ("Z:1", "SKU &#39;Z&#39; is not on pick list 1"),
        ("A:3", "pick list 1 has 2 unit(s) of A: a short of 3 is more than that"),
        ("A:two", "&#39;A:two&#39; is not SKU:QTY"),
    ):
        wrong = followed(otto, otto.post("/pick/1/confirm", {"shorts": shorts}))
        assert why in flash(wrong)
    assert lists(console)[1] == PickListState.OPEN
    assert otto.post("/pick/1/confirm", {"shorts": "A:1"}, csrf="forged").status_code == 403
    assert lists(console)[1] == PickListState.OPEN

    picked = followed(otto, otto.post("/pick/1/confirm", {"shorts": "A:1"}))
    assert flash(picked).startswith("Pick list 1 picked: 1 of A short")
    assert 'id="pick-note"' in picked
    assert "1 short" in picked
    assert 'id="confirm-pick-list"' not in picked
    assert lists(console) == {1: PickListState.PICKED, 2: PickListState.CANCELLED}

    printable = vera.get("/pick/1/print")
    assert printable.status_code == 200
    assert "<h1>Pick list 1 at main</h1>" in printable.text
    assert "script" not in printable.text
    assert "default-src 'none'" in printable.headers["content-security-policy"]
    assert otto.get("/pick/99").status_code == 404
    assert console.client().get("/pick/1/print").status_code == 303  # no session: login

    assert actions(console, "pick.") == [
        ("otto", "pick.create", "pick list 1"),
        ("otto", "pick.create", "pick list 2"),
        ("otto", "pick.cancel", "pick list 2"),
        ("otto", "pick.confirm", "pick list 1"),
    ]


def scans(hub: ConsoleHub) -> int:
    with Session(hub.engine) as session:
        return sum(row.units for row in session.exec(select(PackScan)))


def test_an_order_is_packed_by_scans_and_shipped_by_hand(console: ConsoleHub) -> None:
    otto, vera = console.client("otto"), console.client("vera")
    start = page(otto, "/pack")
    ready = start.split('id="ready-orders"')[1]
    assert 'data-order="1001"' in ready
    assert 'data-order="1003"' in ready
    assert 'data-order="1002"' not in ready  # oversold: cannot ship whole
    with Session(console.engine) as session:
        order = session.exec(select(Order).where(Order.external_id == "1001")).one()
    here = f"/pack/{order.id}"

    found = otto.get("/pack", order="1001")
    assert (found.status_code, found.headers["location"]) == (303, here)
    unknown = otto.get("/pack", order="nope-9")
    assert unknown.status_code == 404
    assert 'id="order-result" class="scan-refused" role="alert"' in unknown.text

    screen = page(otto, here)
    assert re.search(r'<input name="code" id="scan" class="scan-field" data-scan autofocus', screen)
    assert 'class="scan-idle"' in screen
    assert re.search(r'class="scanned">0</span> / <span class="needed">2<', screen)

    # 222 (B) is no item of 1001: refused loudly, nothing counted or recorded.
    refused = followed(otto, otto.post(f"{here}/scan", {"code": "222"}))
    result = re.search(
        r'<div id="scan-result" class="scan-refused" role="alert">(.*?)</div>', refused
    )
    assert result is not None, refused
    assert "222" in result.group(1)
    assert "B is not in order 1001" in result.group(1)
    assert scans(console) == 0
    assert 'class="scan-idle"' in page(otto, here)  # the result is shown once

    # The script's way: the parcel's part of the page comes back.
    part = otto.http.post(
        f"{here}/scan",
        data={"code": "111", "csrf_token": otto.csrf},
        headers={**FRAGMENT, "X-CSRF-Token": otto.csrf},
    )
    assert part.status_code == 200
    assert "<html" not in part.text
    assert 'id="scan-result" class="scan-ok"' in part.text
    assert re.search(r'class="scanned">1</span> / <span class="needed">2<', part.text)
    assert 'id="packed"' not in part.text

    # Refused: a viewer (who sees the parcel but no scan field) and a forged form.
    watched = page(vera, here)
    assert 'id="scan"' not in watched
    assert 'id="read-only"' in watched
    assert vera.post(f"{here}/scan", {"code": "111"}).status_code == 403
    assert otto.post(f"{here}/scan", {"code": "111"}, csrf="forged").status_code == 403
    assert scans(console) == 1

    packed = followed(otto, otto.post(f"{here}/scan", {"code": "111"}))
    assert 'id="scan-result" class="scan-ok"' in packed
    assert "the parcel is packed" in packed
    assert '<section class="packed-banner" id="packed" role="status">Packed' in packed
    assert 'id="ship-form"' in packed
    over = followed(otto, otto.post(f"{here}/scan", {"code": "111"}))
    assert "order 1001 needs 2 of A; 2 scanned already" in over
    assert 'class="scan-refused"' in over
    assert scans(console) == 2

    # Start over, pack again, then a label form that is wrong and a shipment by hand.
    assert vera.post(f"{here}/reset").status_code == 403
    cleared = followed(otto, otto.post(f"{here}/reset"))
    assert "are cleared: start over" in flash(cleared)
    assert scans(console) == 0
    for _ in range(2):
        otto.post(f"{here}/scan", {"code": "111"})
    heavy = followed(otto, otto.post(f"{here}/label", {"carrier": "ups", "weight_kg": "heavy"}))
    assert flash(heavy).startswith("weight: ")
    assert scans(console) == 2
    shipped = otto.post(f"{here}/ship", {"carrier": "ups", "tracking_number": "1Z999AA10123456784"})
    assert shipped.headers["location"] == "/pack"
    assert "Order 1001 shipped: ups 1Z999AA10123456784." in flash(followed(otto, shipped))
    with Session(console.engine) as session:
        parcel = session.exec(select(Shipment).where(Shipment.order_id == order.id)).one()
        assert parcel.tracking_number == "1Z999AA10123456784"
    assert 'id="nothing-to-pack"' in page(otto, here)
    assert 'data-order="1001"' not in page(otto, "/pack")

    target = "order 1001"
    assert actions(console, "pack.") == [
        ("otto", "pack.scan", target),
        ("otto", "pack.scan", target),
        ("otto", "pack.reset", target),
        ("otto", "pack.scan", target),
        ("otto", "pack.scan", target),
        ("otto", "pack.ship", target),
    ]
