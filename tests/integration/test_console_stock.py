"""The console's Stock screen in-process, on SQLite and PostgreSQL: search by code, title
and barcode, paged by SKU code; the low-stock list; a SKU's page with its levels, each
channel's figure and the rule steps that produced it (equal to core's), its movements
newest first paged by key; adjust, count and the low-stock line by an operator, each
marking listings dirty and recorded with the user's name; a viewer's or a forged post
refused with 403 and nothing changed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.ledger import adjust_stock, count_stock
from omnisync.core.models import Listing, StockMovement, UserAction
from omnisync.hub.views import movement_list
from omnisync.hub.views.availability_steps import explain_availability
from tests.support.console import (
    OPERATOR,
    VIEWER,
    ConsoleClient,
    ConsoleHub,
    console_hub,
    seed_console_world,
)
from tests.support.world import level

ROW = re.compile(r'class="sku-row[^"]*" data-sku="([^"]+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
MOVEMENT = re.compile(
    r'class="movement" data-id="(\d+)">.*?class="num delta">([^<]+)</td>\s*'
    r'<td class="num after">(-?\d+)</td>',
    re.S,
)
MINUS = "\u2212"
PAPER_CUPS = 60
"""More SKUs than a page (50) share the prefix `P-`."""


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        seed_console_world(hub.engine)
        with transaction(hub.engine) as session:
            for number in range(PAPER_CUPS):
                upsert_sku(
                    session,
                    f"P-{number:03d}",
                    title=f"Paper cup {number}",
                    barcode=f"9{number:05d}",
                )
        yield hub


def codes(page: str) -> list[str]:
    return [html.unescape(code) for code in ROW.findall(page)]


def next_link(page: str) -> str | None:
    found = NEXT.search(page)
    return html.unescape(found.group(1)) if found else None


def follow(client: ConsoleClient, url: str) -> str:
    """The page at `url` (its query passed as parameters: the client's own replace a URL's)."""
    path, _, query = url.partition("?")
    page = client.get(path, **dict(parse_qsl(query)))
    assert page.status_code == 200, page.text
    return page.text


def plain(page: str) -> str:
    """The page's text, tags dropped and spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def actions(engine: Engine) -> list[UserAction]:
    with Session(engine) as session:
        return list(session.exec(select(UserAction).order_by(col(UserAction.id))))


def dirty(engine: Engine, channel: str, key: str) -> bool:
    with Session(engine) as session:
        listing = session.exec(
            select(Listing).where(
                Listing.channel_id == channel_by_name(session, channel).id,
                Listing.channel_sku == key,
            )
        ).one()
        return listing.dirty


def clean_listings(engine: Engine) -> None:
    with transaction(engine) as session:
        for listing in session.exec(select(Listing)):
            listing.dirty = False
            session.add(listing)


def test_search_by_code_title_and_barcode_paged_by_code(console: ConsoleHub) -> None:
    viewer = console.client(VIEWER)
    assert codes(viewer.get("/stock", q="P-042").text) == ["P-042"]  # code, exact
    assert codes(viewer.get("/stock", q="P-01").text) == [f"P-{n:03d}" for n in range(10, 20)]
    assert codes(viewer.get("/stock", q="blue").text) == ["A"]  # title, any case
    assert codes(viewer.get("/stock", q="cup 42").text) == ["P-042"]
    assert codes(viewer.get("/stock", q="222").text) == ["B"]  # barcode, exact
    assert codes(viewer.get("/stock", q="900004").text) == ["P-004"]
    assert codes(viewer.get("/stock", q="90004").text) == [f"P-0{n}" for n in range(40, 50)]
    assert codes(viewer.get("/stock", q="p-0").text) == []  # a code prefix keeps its case
    empty = viewer.get("/stock", q="nothing like it")
    assert codes(empty.text) == []
    assert "No SKU has a code, barcode or title matching" in empty.text

    first = viewer.get("/stock", q="P-")
    assert first.status_code == 200
    seen = codes(first.text)
    assert len(seen) == 50
    following = next_link(first.text)
    assert following is not None
    second = follow(viewer, following)
    assert next_link(second) is None
    seen += codes(second)
    assert seen == [f"P-{n:03d}" for n in range(PAPER_CUPS)]

    everything = codes(viewer.get("/stock").text)
    assert everything[:3] == ["A", "B", "C"]
    row = re.search(r'data-sku="A">(.*?)</tr>', viewer.get("/stock", q="A").text, re.S)
    assert row is not None
    cells = plain(row.group(1))
    assert "Blue mug 111 20 2 18" in cells  # on hand, reserved (order 1001), free
    assert "shop 18" in cells
    assert "market 18" in cells

    # Low stock: C's free 0 is under its safety stock 2; A gets a line of its own.
    low = viewer.get("/stock", low="1")
    assert codes(low.text) == ["C"]
    with transaction(console.engine) as session:
        sku_by_code(session, "A").low_stock_below = 19
    assert codes(viewer.get("/stock", low="1").text) == ["A", "C"]
    assert viewer.get("/stock", cursor="not-a-cursor").status_code == 422


def test_sku_page_explains_each_channel_figure(console: ConsoleHub) -> None:
    with transaction(console.engine) as session:
        sku_by_code(session, "A").safety_stock = 2
        shop = channel_by_name(session, "shop")
        shop.stock_rules = {"allocation_percent": 50, "buffer": 1}
        session.add(shop)
    viewer = console.client(VIEWER)
    page = viewer.get("/stock/A")
    assert page.status_code == 200
    text = plain(page.text)
    assert f"free 18 at main {MINUS} safety 2 = 16 → allocation 50% = 8 → buffer 1 = 7" in text
    assert f"market 16 free 18 at main {MINUS} safety 2 = 16" in text
    figures = dict(
        re.findall(
            r'data-channel="(\w+)">\s*<td>\w+</td>\s*<td class="num available">(\d+)', page.text
        )
    )
    assert figures == {"market": "16", "shop": "7"}
    assert 'id="levels"' in page.text
    assert 'data-refresh="/stock/A"' in page.text  # the channels part refreshes itself
    fragment = viewer.http.get(
        "/stock/A", headers={"X-Omnisync-Fragment": "1", "Accept": "text/html"}
    )
    assert "allocation 50% = 8" in fragment.text
    assert "<html" not in fragment.text
    assert "adjust-form" not in page.text  # a viewer gets no forms

    # The steps arrive where core does, rule by rule, for a plain SKU and a bundle.
    with transaction(console.engine) as session:
        upsert_sku(session, "MUGS", title="Two blue, one red", components={"A": 2, "B": 1})
        count_stock(session, sku_by_code(session, "B"), location_by_code(session, "backup"), 3)
    cases = [
        {},
        {"allocation_percent": 50, "buffer": 1},
        {"buffer": 20},
        {"zero_below": 9},
        {"zero_below": 3, "max_quantity": 4},
        {"allocation_percent": 33, "max_quantity": 2},
    ]
    for rules in cases:
        with transaction(console.engine) as session:
            shop = channel_by_name(session, "shop")
            shop.stock_rules = rules
            session.add(shop)
        with Session(console.engine) as session:
            shop = channel_by_name(session, "shop")
            for code in ("A", "B", "C", "MUGS"):
                sku = sku_by_code(session, code)
                assert sku.id is not None
                (explained,) = explain_availability(session, sku, [shop])
                assert explained.available == available_to_sell(session, shop, [sku.id])[sku.id], (
                    rules,
                    code,
                    explained.text,
                )
    with Session(console.engine) as session:
        shop = channel_by_name(session, "shop")
        (bundle_steps,) = explain_availability(session, sku_by_code(session, "MUGS"), [shop])
    # The last rules: A 18-2=16 ÷ 2 = 8, B (5 at main + 3 at backup, 50 reserved → 0) → 0.
    assert bundle_steps.available == 0
    assert bundle_steps.steps[0].startswith(
        f"bundle: fewest of (A: free 18 at main {MINUS} safety 2 = 16 ÷ 2 = 8; B:"
    )
    bundle_page = viewer.get("/stock/MUGS")
    assert "holds no stock of its own" in bundle_page.text
    assert "2 \u00d7 MUGS" not in bundle_page.text
    assert "2 \u00d7 A" in plain(bundle_page.text)


def test_operator_adjusts_and_counts_viewer_and_forgery_refused(console: ConsoleHub) -> None:
    clean_listings(console.engine)
    viewer, operator = console.client(VIEWER), console.client(OPERATOR)
    adjustment = {"delta": "5", "reason": "found behind the shelf", "location": "main"}

    viewer.get("/stock/A")
    refused = viewer.post("/stock/A/adjust", adjustment)
    assert refused.status_code == 403
    assert viewer.post("/stock/A/count", {"counted": "3", "reason": "x"}).status_code == 403
    assert viewer.post("/stock/A/threshold", {"low_stock_below": "4"}).status_code == 403
    page = operator.get("/stock/A")
    assert 'id="adjust-form"' in page.text
    assert operator.post("/stock/A/adjust", adjustment, csrf="forged").status_code == 403
    assert (
        operator.post("/stock/A/adjust", {k: v for k, v in adjustment.items()}, csrf="").status_code
        == 403
    )
    assert level(console.engine, "A", "main") == (20, 2)
    assert not dirty(console.engine, "shop", "A")
    assert actions(console.engine) == []

    done = operator.post("/stock/A/adjust", adjustment)
    assert done.status_code == 303
    assert done.headers["location"] == "/stock/A"
    assert level(console.engine, "A", "main") == (25, 2)
    assert dirty(console.engine, "shop", "A")
    after = operator.get("/stock/A")
    assert "A at main: +5 (found behind the shelf)." in html.unescape(after.text)
    assert "found behind the shelf" in after.text
    assert 'class="stock-chart"' in after.text

    clean_listings(console.engine)
    counted = operator.post(
        "/stock/A/count", {"counted": "12", "reason": "cycle count", "location": "main"}
    )
    assert counted.status_code == 303
    assert level(console.engine, "A", "main") == (12, 2)
    assert dirty(console.engine, "shop", "A")

    assert operator.post("/stock/A/threshold", {"low_stock_below": "11"}).status_code == 303
    assert codes(operator.get("/stock", low="1").text) == ["A", "C"]  # free 10 < 11
    assert operator.post("/stock/A/threshold", {"low_stock_below": ""}).status_code == 303
    with Session(console.engine) as session:
        assert sku_by_code(session, "A").low_stock_below is None

    recorded = [(row.user_name, row.via, row.action, row.target) for row in actions(console.engine)]
    assert recorded == [
        ("otto", "console", "stock.adjust", "A at main"),
        ("otto", "console", "stock.count", "A at main"),
        ("otto", "console", "stock.threshold", "A"),
        ("otto", "console", "stock.threshold", "A"),
    ]
    count_detail = actions(console.engine)[1].detail
    assert count_detail is not None
    with Session(console.engine) as session:
        movement = session.get(StockMovement, count_detail["movement"])
    assert movement is not None
    assert (movement.delta, movement.reason) == (-13, "cycle count")
    assert {key: count_detail[key] for key in ("counted", "delta", "reason")} == {
        "counted": 12,
        "delta": -13,
        "reason": "cycle count",
    }

    # Refusals are shown, change nothing and record nothing.
    for path, form, words in (
        ("/stock/A/adjust", {"delta": "-100", "reason": "lost", "location": "main"}, "A at main"),
        ("/stock/A/adjust", {"delta": "many", "reason": "lost"}, "a whole number"),
        ("/stock/A/adjust", {"delta": "1", "reason": ""}, "give a reason"),
        ("/stock/A/count", {"counted": "-1", "reason": "x"}, "at least 0"),
        ("/stock/A/adjust", {"delta": "1", "reason": "x", "location": "mars"}, "unknown location"),
        ("/stock/NOPE/adjust", {"delta": "1", "reason": "x"}, "unknown SKU"),
    ):
        answer = operator.post(path, form)
        assert answer.status_code == 303, (path, form)
        shown = operator.get(answer.headers["location"])
        assert words in html.unescape(shown.text), (form, words)
    assert level(console.engine, "A", "main") == (12, 2)
    assert len(actions(console.engine)) == 4


def test_movements_newest_first_paged_by_key(console: ConsoleHub) -> None:
    with transaction(console.engine) as session:
        sku, backup = sku_by_code(session, "B"), location_by_code(session, "backup")
        for number in range(1, 56):
            adjust_stock(session, sku, backup, number % 7 + 1, reason=f"delivery {number}")
    operator = console.client(OPERATOR)
    first = operator.get("/stock/B")
    rows = MOVEMENT.findall(first.text)
    assert len(rows) == 50
    following = next_link(first.text)
    assert following is not None
    rows += MOVEMENT.findall(follow(operator, following))
    with Session(console.engine) as session:
        history = movement_list(session, sku_by_code(session, "B"))  # the CLI's, oldest first
        total = len(
            session.exec(
                select(StockMovement).where(StockMovement.sku_id == sku_by_code(session, "B").id)
            ).all()
        )
    assert len(rows) == total == len(history)
    ids = [int(row_id) for row_id, _, _ in rows]
    assert ids == sorted(ids, reverse=True)
    assert [(int(delta), int(after)) for _, delta, after in rows] == [
        (row.delta, row.on_hand_after) for row in reversed(history)
    ]
    assert "delivery 55" in first.text
    assert level(console.engine, "B", "backup")[0] == int(rows[0][2])

    # A code with `/` in it: linked, shown and adjusted through its own path.
    with transaction(console.engine) as session:
        upsert_sku(session, "BOX/12", title="Box of twelve")
    assert operator.get("/stock/NOPE").status_code == 404
    listed = operator.get("/stock", q="BOX/")
    assert codes(listed.text) == ["BOX/12"]
    assert 'href="/stock/BOX%2F12"' in listed.text
    page = operator.get("/stock/BOX%2F12")
    assert page.status_code == 200
    assert 'action="/stock/BOX%2F12/adjust"' in page.text
    answer = operator.post(
        "/stock/BOX%2F12/adjust", {"delta": "4", "reason": "new", "location": "main"}
    )
    assert answer.status_code == 303
    assert level(console.engine, "BOX/12", "main") == (4, 0)
