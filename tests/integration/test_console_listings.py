"""The console's Listings screen in-process, on SQLite and PostgreSQL: unlinked listings
first, then by channel and key, filtered by channel and `unlinked`, paged by key; an
operator links an unlinked listing by searching a hub SKU, unlinks, and auto-links a
channel by barcode (hub/linking.py, as the CLI and the API), each recorded with the
user's name; a viewer's or a forged post is refused with 403 and nothing changes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import Listing, ListingLinkEvent, UserAction
from omnisync.core.types import LinkMethod
from tests.support.console import (
    OPERATOR,
    VIEWER,
    ConsoleClient,
    ConsoleHub,
    console_hub,
    seed_console_world,
)

ROW = re.compile(r'class="listing-row ([^"]*)" data-channel="([^"]+)" data-listing="([^"]+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
MATCH = re.compile(r'class="sku-match" data-sku="([^"]+)"')
WAITING = 55
"""Unlinked listings of `market`: with `NEW-1` of `shop`, more than a page (50)."""


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        seed_console_world(hub.engine)
        yield hub


def rows(page: str) -> list[tuple[str, str, str]]:
    """(linked or unlinked, channel, listing) of each row shown."""
    return [
        ("unlinked" if "unlinked" in kind.split() else "linked", channel, html.unescape(key))
        for kind, channel, key in ROW.findall(page)
    ]


def every_page(client: ConsoleClient, path: str, **params: str) -> list[tuple[str, str, str]]:
    page = client.get(path, **params)
    assert page.status_code == 200, page.text
    shown = rows(page.text)
    while (following := NEXT.search(page.text)) is not None:
        target, _, query = html.unescape(following.group(1)).partition("?")
        page = client.get(target, **dict(parse_qsl(query)))
        assert page.status_code == 200, page.text
        shown += rows(page.text)
    return shown


def listing(engine: Engine, channel: str, key: str) -> Listing:
    with Session(engine) as session:
        return session.exec(
            select(Listing).where(
                Listing.channel_id == channel_by_name(session, channel).id,
                Listing.channel_sku == key,
            )
        ).one()


def actions(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        return [
            (row.user_name, row.via, row.action, row.target)
            for row in session.exec(select(UserAction).order_by(col(UserAction.id)))
        ]


def test_unlinked_first_then_by_channel_and_key_paged(console: ConsoleHub) -> None:
    with transaction(console.engine) as session:
        market = channel_by_name(session, "market")
        for number in range(WAITING):
            session.add(
                Listing(
                    channel_id=market.id or 0, channel_sku=f"U-{number:03d}", title=f"Cup {number}"
                )
            )
    viewer = console.client(VIEWER)
    first = viewer.get("/listings")
    assert len(rows(first.text)) == 50
    assert 'rel="next"' in first.text
    assert re.search(r'id="unlinked-count"><strong>56</strong>', first.text)
    shown = every_page(viewer, "/listings")
    assert shown == [
        *[("unlinked", "market", f"U-{n:03d}") for n in range(WAITING)],
        ("unlinked", "shop", "NEW-1"),
        ("linked", "shop", "A"),
        ("linked", "shop", "B"),
        ("linked", "shop", "C"),
    ]
    assert every_page(viewer, "/listings", unlinked="1") == shown[: WAITING + 1]
    assert every_page(viewer, "/listings", channel="shop") == shown[WAITING:]
    shop_page = viewer.get("/listings", channel="shop")
    assert re.search(r'id="unlinked-count"><strong>1</strong>', shop_page.text)
    assert "auto-link-form" not in shop_page.text  # a viewer gets no buttons
    assert "unlink-form" not in shop_page.text
    assert viewer.get("/listings", channel="nowhere").status_code == 404


def test_operator_links_unlinks_and_auto_links(console: ConsoleHub) -> None:
    with transaction(console.engine) as session:
        upsert_sku(session, "D", title="Yellow mug", barcode="555")
    with transaction(console.engine) as session:
        session.add(
            Listing(
                channel_id=channel_by_name(session, "shop").id or 0,
                channel_sku="NEW-2",
                title="Yellow mug, large",
                barcode="555",
            )
        )
    new_1 = listing(console.engine, "shop", "NEW-1").id
    viewer, operator = console.client(VIEWER), console.client(OPERATOR)

    # A viewer finds SKUs but may not link: no button, and the post is refused.
    looked = viewer.get(f"/listings/{new_1}/link", q="mug")
    assert MATCH.findall(looked.text) == ["A", "B", "C", "D"]
    assert "link-button" not in looked.text
    for path, form in (
        (f"/listings/{new_1}/link", {"sku": "A"}),
        (f"/listings/{listing(console.engine, 'shop', 'A').id}/unlink", {}),
        ("/listings/auto-link", {"channel": "shop", "by": "barcode"}),
    ):
        assert viewer.post(path, form).status_code == 403, path
        assert operator.post(path, form, csrf="forged").status_code == 403, path
    assert listing(console.engine, "shop", "NEW-1").sku_id is None
    assert listing(console.engine, "shop", "A").sku_id is not None
    assert listing(console.engine, "shop", "NEW-2").sku_id is None
    assert actions(console.engine) == []

    # The operator searches (by title, then by barcode) and links.
    search = operator.get(f"/listings/{new_1}/link", q="yellow")
    assert MATCH.findall(search.text) == ["D"]
    assert MATCH.findall(operator.get(f"/listings/{new_1}/link", q="11").text) == ["A"]
    assert 'class="link-button" data-sku="D"' in search.text
    refused = operator.post(f"/listings/{new_1}/link", {"sku": "NOPE", "q": "yellow"})
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/listings/{new_1}/link?q=yellow"
    assert "unknown SKU" in html.unescape(operator.get(f"/listings/{new_1}/link", q="yellow").text)
    done = operator.post(
        f"/listings/{new_1}/link", {"sku": "D", "q": "yellow", "back": "/listings"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/listings"
    with Session(console.engine) as session:
        assert listing(console.engine, "shop", "NEW-1").sku_id == sku_by_code(session, "D").id
        event = session.exec(
            select(ListingLinkEvent).order_by(col(ListingLinkEvent.id).desc())
        ).first()
    assert event is not None
    assert event.actor == "otto (console)"
    assert event.listing_key == "NEW-1"
    after = operator.get("/listings")
    assert ("linked", "shop", "NEW-1") in rows(after.text)
    assert 'id="flash"' in after.text

    # Unlinked again by hand: left alone by auto-link, which links NEW-2 by its barcode.
    unlinked = operator.post(f"/listings/{new_1}/unlink", {"back": "/listings?channel=shop"})
    assert unlinked.status_code == 303
    assert unlinked.headers["location"] == "/listings?channel=shop"
    assert listing(console.engine, "shop", "NEW-1").sku_id is None
    assert not listing(console.engine, "shop", "NEW-1").auto_link
    auto = operator.post("/listings/auto-link", {"channel": "shop", "by": "barcode"})
    assert auto.status_code == 303
    linked = listing(console.engine, "shop", "NEW-2")
    assert linked.link_method == LinkMethod.BARCODE
    with Session(console.engine) as session:
        assert linked.sku_id == sku_by_code(session, "D").id
    assert listing(console.engine, "shop", "NEW-1").sku_id is None
    assert "1 linked" in html.unescape(operator.get("/listings").text)
    assert (
        operator.post("/listings/auto-link", {"channel": "shop", "by": "guess"}).status_code == 303
    )

    assert actions(console.engine) == [
        ("otto", "console", "listing.link", "shop NEW-1"),
        ("otto", "console", "listing.unlink", "shop NEW-1"),
        ("otto", "console", "listing.auto_link", "shop"),
    ]
    with Session(console.engine) as session:
        auto_row = session.exec(
            select(UserAction).where(UserAction.action == "listing.auto_link")
        ).one()
    assert auto_row.detail is not None
    assert auto_row.detail["by"] == "barcode"
    assert auto_row.detail["linked"] == 1
    assert auto_row.detail["listings"] == ["NEW-2 → D"]
