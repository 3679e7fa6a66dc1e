"""/api/v1/listings: listings filtered and paged by (channel, key); a link made through
the API binds the order lines waiting under the listing and reserves for them, and
resolves the `unlinked_listings` alert; unlinking releases; every change is in the
history as by "api"; keys with `/` and `:` (Shopify's own names) work in the path;
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from omnisync.core.alerting import RULE_UNLINKED
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.models import Alert, Listing
from omnisync.core.types import AlertState
from omnisync.hub.api import create_app
from omnisync.hub.settings import load_settings
from omnisync.hub.views.listings import listing_list
from omnisync.hub.views.shapes import json_data
from tests.support.api import ApiHub, api_hub
from tests.support.world import add_listing, ingest, level, list_sku, make_order, set_count

SHOPIFY_KEY = "shopify:gid://shopify/ProductVariant/123"
"""How the hub keys a Shopify variant that has no SKU: its own name, `/` and `:` in it."""


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        with transaction(hub.hub.engine) as session:
            upsert_sku(session, "A", title="Alpha")
            upsert_sku(session, "B", title="Beta", barcode="4006381333931")
        set_count(hub.hub.engine, "A", "main", 10)
        set_count(hub.hub.engine, "B", "main", 4)
        yield hub


def link_path(channel: str, listing: str) -> str:
    return f"/api/v1/listings/{channel}/{listing}/link"


def put_link(api: ApiHub, channel: str, listing: str, sku: str) -> httpx.Response:
    response: httpx.Response = api.http.put(
        link_path(channel, listing), json={"sku": sku}, headers=api.auth
    )
    return response


def delete_link(api: ApiHub, channel: str, listing: str) -> httpx.Response:
    response: httpx.Response = api.http.delete(link_path(channel, listing), headers=api.auth)
    return response


def unlinked_alert(api: ApiHub, channel: str) -> Alert | None:
    with Session(api.hub.engine) as session:
        channel_id = channel_by_name(session, channel).id
        return session.exec(
            select(Alert).where(
                Alert.rule == RULE_UNLINKED,
                Alert.channel_id == channel_id,
                Alert.state == AlertState.OPEN,
            )
        ).first()


def linked_sku(api: ApiHub, channel: str, key: str) -> int | None:
    with Session(api.hub.engine) as session:
        listing = session.exec(
            select(Listing).where(
                Listing.channel_id == channel_by_name(session, channel).id,
                Listing.channel_sku == key,
            )
        ).one()
        return listing.sku_id


def test_listings_filter_by_channel_and_link_and_page_by_channel_then_key(api: ApiHub) -> None:
    list_sku(api.hub.engine, "shop", "A", "B")
    list_sku(api.hub.engine, "market", "A")
    add_listing(api.hub.engine, "shop", "MUG", title="Blue mug", barcode="0012345678905")
    add_listing(api.hub.engine, "shop", SHOPIFY_KEY, channel_ids={"variant_id": 123})
    add_listing(api.hub.engine, "market", "M-9")
    with Session(api.hub.engine) as session:
        everything = json_data(listing_list(session))
    keys = [(row["channel"], row["listing"]) for row in everything]
    assert keys == [
        ("market", "A"),
        ("market", "M-9"),
        ("shop", "A"),
        ("shop", "B"),
        ("shop", "MUG"),
        ("shop", SHOPIFY_KEY),
    ]

    # everything: the CLI's `listings list --json`
    assert api.follow("/api/v1/listings", limit=2) == (everything, 3)
    assert api.follow("/api/v1/listings", limit=6)[1] == 1  # no Link after the last row
    shop, pages = api.follow("/api/v1/listings", channel="shop", limit=3)
    assert [row["listing"] for row in shop] == ["A", "B", "MUG", SHOPIFY_KEY]
    assert pages == 2
    unlinked, _ = api.follow("/api/v1/listings", unlinked="true", limit=1)
    assert [(row["channel"], row["listing"], row["sku"]) for row in unlinked] == [
        ("market", "M-9", None),
        ("shop", "MUG", None),
        ("shop", SHOPIFY_KEY, None),
    ]
    mug = unlinked[1]
    assert (mug["title"], mug["barcode"], mug["auto_link"]) == ("Blue mug", "0012345678905", True)
    market_unlinked = api.get("/api/v1/listings", channel="market", unlinked="true").json()
    assert [row["listing"] for row in market_unlinked] == ["M-9"]

    # A listing stored between two pages neither shifts nor repeats the next page.
    first = api.get("/api/v1/listings", limit=2)
    add_listing(api.hub.engine, "market", "0-FIRST")
    second = api.http.get(first.links["next"]["url"], headers=api.auth).json()
    assert [row["listing"] for row in first.json() + second] == ["A", "M-9", "A", "B"]


def test_bad_listing_queries_are_404_or_422_naming_what(api: ApiHub) -> None:
    unknown = api.get("/api/v1/listings", channel="nope")
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]
    history = api.get("/api/v1/listings/history", channel="nope")
    assert history.status_code == 404
    assert "nope" in history.json()["error"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"cursor": "WzFd"}, "cursor"),  # [1]: a cursor, but not of listings
        ({"unlinked": "maybe"}, "query.unlinked"),
        ({"limit": 0}, "query.limit"),
        ({"chanel": "shop"}, "query.chanel"),  # misspelt: would list every channel's
    ]
    for params, field in bad:
        response = api.get("/api/v1/listings", **params)
        assert response.status_code == 422, params
        assert response.json()["error"].startswith(field), (params, response.text)


def test_a_link_binds_the_waiting_line_reserves_and_resolves_the_alert(api: ApiHub) -> None:
    ingest(api.hub.engine, "shop", make_order("1001", [("GHOST-1", 2)]))
    alert = unlinked_alert(api, "shop")
    assert alert is not None
    assert "GHOST-1" in alert.message
    assert level(api.hub.engine, "A", "main") == (10, 0)

    linked = put_link(api, "shop", "GHOST-1", "A")

    assert linked.status_code == 200, linked.text
    assert linked.json() == {
        "channel": "shop",
        "listing": "GHOST-1",
        "sku": "A",
        "changed": True,
        "method": "manual",
        "lines": 1,
        "units": 2,
        "message": linked.json()["message"],
    }
    assert linked.json()["message"].startswith("shop listing GHOST-1 linked to A (manual)")
    assert level(api.hub.engine, "A", "main") == (10, 2)
    assert unlinked_alert(api, "shop") is None
    stock = api.get("/api/v1/stock/A").json()
    assert stock["locations"][0] == {"location": "main", "on_hand": 10, "reserved": 2, "free": 8}
    (row,) = api.get("/api/v1/listings", channel="shop").json()
    assert (row["listing"], row["sku"], row["link_method"]) == ("GHOST-1", "A", "manual")

    again = put_link(api, "shop", "GHOST-1", "A")
    assert again.status_code == 200, again.text
    assert (again.json()["changed"], again.json()["lines"]) == (False, 0)
    assert level(api.hub.engine, "A", "main") == (10, 2)


def test_a_listing_linked_elsewhere_or_an_unknown_name_is_refused_and_nothing_changes(
    api: ApiHub,
) -> None:
    list_sku(api.hub.engine, "shop", "A")
    add_listing(api.hub.engine, "shop", "LOOSE")

    elsewhere = put_link(api, "shop", "A", "B")
    assert elsewhere.status_code == 409
    assert "linked to SKU A" in elsewhere.json()["error"]
    for channel, listing, sku, named in [
        ("shop", "LOOSE", "NO-SUCH-SKU", "NO-SUCH-SKU"),
        ("shop", "NO-SUCH-LISTING", "A", "NO-SUCH-LISTING"),
        ("nowhere", "LOOSE", "A", "nowhere"),
    ]:
        refused = put_link(api, channel, listing, sku)
        assert refused.status_code == 404, (listing, refused.text)
        assert named in refused.json()["error"]
    gone = delete_link(api, "shop", "NO-SUCH-LISTING")
    assert gone.status_code == 404
    assert "NO-SUCH-LISTING" in gone.json()["error"]
    with Session(api.hub.engine) as session:
        assert linked_sku(api, "shop", "A") == sku_by_code(session, "A").id
    assert linked_sku(api, "shop", "LOOSE") is None
    assert api.get("/api/v1/listings/history").json() == []


def test_an_unlink_releases_and_the_history_shows_both_changes_by_api(api: ApiHub) -> None:
    ingest(api.hub.engine, "shop", make_order("1001", [("GHOST-1", 3)]))
    assert put_link(api, "shop", "GHOST-1", "B").status_code == 200
    assert level(api.hub.engine, "B", "main") == (4, 3)

    unlinked = delete_link(api, "shop", "GHOST-1")

    assert unlinked.status_code == 200, unlinked.text
    body = unlinked.json()
    assert (body["sku"], body["changed"], body["lines"], body["units"]) == ("B", True, 1, 3)
    assert level(api.hub.engine, "B", "main") == (4, 0)
    alert = unlinked_alert(api, "shop")  # the line waits again, reserving nothing
    assert alert is not None
    assert "1001" in alert.message
    (row,) = api.get("/api/v1/listings", channel="shop").json()
    assert (row["sku"], row["auto_link"]) == (None, False)
    assert delete_link(api, "shop", "GHOST-1").json()["changed"] is False

    history = api.get("/api/v1/listings/history", channel="shop", listing="GHOST-1")
    assert history.status_code == 200, history.text
    assert [(row["action"], row["sku"], row["actor"]) for row in history.json()] == [
        ("unlink", "B", "api"),
        ("link", "B", "api"),
    ]
    assert [row["id"] for row in api.get("/api/v1/listings/history", limit=1).json()] == [
        history.json()[0]["id"]
    ]
    assert api.get("/api/v1/listings/history", channel="market").json() == []
    assert api.get("/api/v1/listings/history", listing="OTHER").json() == []


def test_a_shopify_key_with_slashes_and_colons_is_one_listing_in_the_path(api: ApiHub) -> None:
    add_listing(api.hub.engine, "shop", SHOPIFY_KEY, channel_ids={"variant_id": SHOPIFY_KEY[8:]})
    add_listing(api.hub.engine, "shop", "history/link")  # a key that looks like other routes

    linked = put_link(api, "shop", SHOPIFY_KEY, "A")
    assert linked.status_code == 200, linked.text
    assert (linked.json()["listing"], linked.json()["sku"]) == (SHOPIFY_KEY, "A")
    # Percent-encoded slashes name the same listing.
    unlinked = delete_link(api, "shop", quote(SHOPIFY_KEY, safe=""))
    assert unlinked.status_code == 200, unlinked.text
    assert (unlinked.json()["listing"], unlinked.json()["changed"]) == (SHOPIFY_KEY, True)
    # The variant id alone names it too (core/listing_links.py ListingFinder).
    again = put_link(api, "shop", "123", "A")
    assert again.status_code == 200, again.text
    assert again.json()["listing"] == SHOPIFY_KEY
    odd = put_link(api, "shop", "history/link", "B")
    assert odd.status_code == 200, odd.text
    assert odd.json()["listing"] == "history/link"

    history = api.get("/api/v1/listings/history", listing=SHOPIFY_KEY).json()
    assert [(row["listing"], row["action"]) for row in history] == [
        (SHOPIFY_KEY, "link"),
        (SHOPIFY_KEY, "unlink"),
        (SHOPIFY_KEY, "link"),
    ]
    listed = {row["listing"]: row["sku"] for row in api.get("/api/v1/listings").json()}
    assert listed == {SHOPIFY_KEY: "A", "history/link": "B"}


def test_the_unlinked_after_of_hub_yaml_decides_when_an_unlinked_listing_is_alerted(
    api: ApiHub,
) -> None:
    list_sku(api.hub.engine, "shop", "A", "B")
    assert delete_link(api, "shop", "A").status_code == 200
    assert delete_link(api, "shop", "B").status_code == 200
    with transaction(api.hub.engine) as session:  # as if ten minutes had passed
        session.execute(
            update(Listing).values(unlinked_since=clock_of(session).now() - timedelta(minutes=10))
        )
    assert delete_link(api, "shop", "A").json()["changed"] is False  # the alert is refreshed
    assert unlinked_alert(api, "shop") is None  # the default: named after an hour

    hub_yaml = api.hub.settings.config_dir / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + "alert_rules:\n  unlinked_after: 5m\n")
    five_minutes = load_settings(
        api.hub.settings.config_dir, database_url=api.hub.settings.database_url
    )
    client = TestClient(create_app(api.sync, settings=five_minutes))
    response = client.delete(link_path("shop", "A"), headers=api.auth)

    assert response.status_code == 200, response.text
    alert = unlinked_alert(api, "shop")
    assert alert is not None
    assert alert.details is not None
    assert alert.details["listings"] == ["A", "B"]


def test_auto_link_links_by_the_rules_asked_for_and_leaves_the_rest(api: ApiHub) -> None:
    add_listing(api.hub.engine, "shop", "A")
    add_listing(api.hub.engine, "shop", "MUG-EAN", barcode="04006381333931")  # B's, as a GTIN-14
    add_listing(api.hub.engine, "shop", "UNKNOWN")

    by_sku = api.post("/api/v1/listings/auto-link", {"channel": "shop", "by": ["sku"]})
    assert by_sku.status_code == 200, by_sku.text
    assert [(row["listing"], row["sku"], row["method"]) for row in by_sku.json()["linked"]] == [
        ("A", "A", "sku")
    ]
    both = api.post("/api/v1/listings/auto-link", {"channel": "shop"})
    assert both.status_code == 200, both.text
    assert [(row["listing"], row["sku"], row["method"]) for row in both.json()["linked"]] == [
        ("MUG-EAN", "B", "barcode")
    ]
    assert linked_sku(api, "shop", "UNKNOWN") is None
    actors = {row["actor"] for row in api.get("/api/v1/listings/history").json()}
    assert actors == {"api"}

    unknown = api.post("/api/v1/listings/auto-link", {"channel": "nope"})
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]
    for body, field in [
        ({"channel": "shop", "by": ["manual"]}, "body.by.0"),
        ({"channel": "shop", "by": []}, "body.by"),
        ({"by": ["sku"]}, "body.channel"),
    ]:
        refused = api.post("/api/v1/listings/auto-link", body)
        assert refused.status_code == 422, body
        assert refused.json()["error"].startswith(field), (body, refused.text)


def test_a_link_body_must_name_a_sku_and_nothing_else(api: ApiHub) -> None:
    add_listing(api.hub.engine, "shop", "LOOSE")
    for body, field in [
        (None, "body"),
        ({}, "body.sku"),
        ({"sku": ""}, "body.sku"),
        ({"sku": "A", "method": "barcode"}, "body.method"),
    ]:
        refused = api.http.put(link_path("shop", "LOOSE"), json=body, headers=api.auth)
        assert refused.status_code == 422, body
        assert refused.json()["error"].startswith(field), (body, refused.text)
    assert linked_sku(api, "shop", "LOOSE") is None


def test_without_the_token_no_listing_route_answers_or_links(api: ApiHub) -> None:
    add_listing(api.hub.engine, "shop", "LOOSE")
    sent = [
        ("GET", "/api/v1/listings", None),
        ("GET", "/api/v1/listings/history", None),
        ("PUT", link_path("shop", "LOOSE"), {"sku": "A"}),
        ("DELETE", link_path("shop", "LOOSE"), None),
        ("POST", "/api/v1/listings/auto-link", {"channel": "shop"}),
    ]
    for method, path, body in sent:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0000000000"}):
            refused = api.http.request(method, path, json=body, headers=headers)
            assert refused.status_code == 401, (method, path, refused.text)
            assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert linked_sku(api, "shop", "LOOSE") is None
