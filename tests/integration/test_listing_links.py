"""Links between listings and hub SKUs (core/listing_links.py), on SQLite and PostgreSQL.

Linking binds the order lines that waited under the listing's key and reserves for them,
oldest order first, through intake's path; unlinking frees what the listing's open lines
hold and keeps the listing apart from linking by code (the listings job and order intake
leave it alone) until an operator links it again. auto_link links by code and by barcode
where one answer fits; link_rows links every row or none. The `unlinked_listings` alert
names open lines at once and listings after `unlinked_after`. Every test runs on an
engine whose clock is a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.alerting import RULE_OVERSOLD, RULE_UNLINKED, current_alert
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import ChannelSpec, channel_by_name, sync_channels
from omnisync.core.clock import ManualClock, clock_of
from omnisync.core.db import transaction
from omnisync.core.dto import ChannelListing
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.listing_links import (
    ACTOR_CLI,
    ACTOR_LINKS_CSV,
    ACTOR_LISTINGS_JOB,
    AutoLinkReport,
    LinkChange,
    LinkRow,
    ListingFinder,
    auto_link,
    link_history,
    link_listing,
    link_rows,
    unlink_listing,
)
from omnisync.core.models import Alert, Listing, ListingLinkEvent, Order, OrderLine
from omnisync.core.types import AlertState, LinkAction, LinkMethod
from omnisync.hub.linking import link as hub_link
from omnisync.sync.alerts import AlertRules, evaluate_rules
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.stock import plan_stock_push
from tests.support.world import (
    add_listing,
    build_world,
    check_ledger_invariants,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
)

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
"""The engine's clock starts here (after every order make_order places)."""
GID_7 = "gid://shopify/ProductVariant/7"
SHOPIFY_KEY = f"shopify:{GID_7}"
UPC_A = "012345678905"
EAN_13 = "0012345678905"
"""The same product as UPC_A, as a 13-digit EAN."""


@register
class ListingsConnector(Connector):
    """Serves the listings the test puts in `listings`."""

    channel_type: ClassVar[str] = "linklistings"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LISTINGS})
    listings: ClassVar[list[ChannelListing]] = []

    def fetch_listings(self) -> Iterator[ChannelListing]:
        yield from type(self).listings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def link(engine: Engine, channel: str, name: str, sku: str) -> LinkChange:
    with transaction(engine) as session:
        target = channel_by_name(session, channel)
        listing = ListingFinder(session, target).find(name)
        return link_listing(
            session,
            target,
            listing,
            sku_by_code(session, sku),
            method=LinkMethod.MANUAL,
            actor=ACTOR_CLI,
        )


def unlink(engine: Engine, channel: str, name: str) -> LinkChange:
    with transaction(engine) as session:
        target = channel_by_name(session, channel)
        listing = ListingFinder(session, target).find(name)
        return unlink_listing(session, target, listing, actor=ACTOR_CLI)


def listings(engine: Engine, channel: str) -> dict[str, Listing]:
    with Session(engine) as session:
        target = channel_by_name(session, channel)
        return {
            row.channel_sku: row
            for row in session.exec(select(Listing).where(Listing.channel_id == target.id))
        }


def sku_id(engine: Engine, code: str) -> int:
    with Session(engine) as session:
        return sku_by_code(session, code).id or 0


def line_skus(engine: Engine, channel: str) -> dict[str, int | None]:
    """The SKU id each line of the channel's orders is bound to, by `<order>:<channel SKU>`."""
    with Session(engine) as session:
        rows = session.exec(
            select(Order.external_id, OrderLine.channel_sku, OrderLine.sku_id)
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(Order.channel_id == channel_by_name(session, channel).id)
        ).all()
    return {f"{order}:{channel_sku}": bound for order, channel_sku, bound in rows}


def history(engine: Engine, channel: str, key: str) -> list[ListingLinkEvent]:
    """The listing's link changes, oldest first."""
    with Session(engine) as session:
        found = link_history(session, channel=channel_by_name(session, channel), listing=key)
        return [event for event, _ in reversed(found)]


def open_alert_of(engine: Engine, rule: str, channel: str) -> Alert | None:
    with Session(engine) as session:
        return current_alert(session, rule, channel_by_name(session, channel).id)


def assert_invariants(engine: Engine) -> None:
    with Session(engine) as session:
        check_ledger_invariants(session)


# Linking ---------------------------------------------------------------------------


def test_link_binds_the_waiting_lines_oldest_order_first_and_oversells_the_later(
    clocked: Engine,
) -> None:
    build_world(clocked)
    set_count(clocked, "A", "main", 3)
    list_sku(clocked, "market", "A")  # clean: nothing to push to market yet
    add_listing(clocked, "shop", "SHOP-A")
    # The later order comes in first: placement, not arrival, decides who gets the stock.
    ingest(clocked, "shop", make_order("2", [("SHOP-A", 2)], placed_minutes=10))
    ingest(clocked, "shop", make_order("1", [("SHOP-A", 2)], placed_minutes=0))
    assert level(clocked, "A", "main") == (3, 0)
    assert not listings(clocked, "market")["A"].dirty

    change = link(clocked, "shop", "SHOP-A", "A")

    assert (change.changed, change.sku, change.method) == (True, "A", LinkMethod.MANUAL)
    assert (change.lines, change.units) == (2, 4)
    assert line_skus(clocked, "shop") == {
        "1:SHOP-A": sku_id(clocked, "A"),
        "2:SHOP-A": sku_id(clocked, "A"),
    }
    assert level(clocked, "A", "main") == (3, 3)
    assert not order_row(clocked, "shop", "1").oversold
    assert order_row(clocked, "shop", "2").oversold
    oversold = open_alert_of(clocked, RULE_OVERSOLD, "shop")
    assert oversold is not None
    assert "order 2 is oversold by 1 unit(s)" in oversold.message
    assert listings(clocked, "market")["A"].dirty  # market's A now shows 0 within a second
    linked = listings(clocked, "shop")["SHOP-A"]
    assert (linked.sku_id, linked.link_method, linked.dirty) == (
        sku_id(clocked, "A"),
        LinkMethod.MANUAL,
        True,
    )
    assert (linked.linked_at, linked.unlinked_since) == (NOW, None)
    (event,) = history(clocked, "shop", "SHOP-A")
    assert (event.action, event.sku_code, event.method, event.actor, event.at) == (
        LinkAction.LINK,
        "A",
        LinkMethod.MANUAL,
        ACTOR_CLI,
        NOW,
    )
    assert event.note == "2 waiting order line(s) bound, taking 4 open unit(s)"
    assert_invariants(clocked)


def test_a_listing_without_sku_is_found_by_its_variant_number_its_gid_and_its_key(
    clocked: Engine,
) -> None:
    build_world(clocked)
    add_listing(
        clocked,
        "shop",
        SHOPIFY_KEY,
        channel_ids={"variant_id": GID_7, "product_id": "gid://shopify/Product/3"},
    )
    add_listing(
        clocked, "shop", "OTHER", channel_ids={"variant_id": "gid://shopify/ProductVariant/8"}
    )
    with Session(clocked) as session:
        finder = ListingFinder(session, channel_by_name(session, "shop"))
        found = {name: finder.find(name).channel_sku for name in ("7", GID_7, SHOPIFY_KEY, " 7 ")}
        assert set(found.values()) == {SHOPIFY_KEY}
        assert finder.find("8").channel_sku == "OTHER"
        assert finder.find("3").channel_sku == SHOPIFY_KEY  # its product has one variant here
        with pytest.raises(NotFound):
            finder.find("9")
    # An order line carries the key; linking by the number binds it.
    ingest(clocked, "shop", make_order("1", [(SHOPIFY_KEY, 1)]))
    change = link(clocked, "shop", "7", "A")
    assert (change.listing, change.lines) == (SHOPIFY_KEY, 1)
    assert line_skus(clocked, "shop") == {f"1:{SHOPIFY_KEY}": sku_id(clocked, "A")}


def test_the_channels_own_name_finds_the_listing_stored_under_its_sku_since(
    clocked: Engine,
) -> None:
    """A Shopify variant without SKU sold under `shopify:<gid>`, then got the SKU A: its
    old order lines carry the own name, which still names the listing (not a new one)."""
    build_world(clocked)
    with transaction(clocked) as session:
        spec = ChannelSpec("shopify-shop", "shopify", True, None, {})
        sync_channels(session, [spec], disable_unlisted=False)
    add_listing(clocked, "shopify-shop", "A", channel_ids={"variant_id": GID_7})
    link(clocked, "shopify-shop", "A", "A")
    ingest(clocked, "shopify-shop", make_order("1", [(SHOPIFY_KEY, 1)]))
    with Session(clocked) as session:
        finder = ListingFinder(session, channel_by_name(session, "shopify-shop"))
        assert finder.find(SHOPIFY_KEY).channel_sku == "A"
    with pytest.raises(Conflict):
        link(clocked, "shopify-shop", SHOPIFY_KEY, "B")
    assert set(listings(clocked, "shopify-shop")) == {"A"}
    # Another channel type's prefix is no own name here.
    with Session(clocked) as session, pytest.raises(NotFound):
        ListingFinder(session, channel_by_name(session, "shopify-shop")).find(f"amazon:{GID_7}")


def test_the_finder_stores_a_listing_only_an_order_line_carries(clocked: Engine) -> None:
    build_world(clocked)
    ingest(clocked, "shop", make_order("1", [("FROM-ORDER", 1)]))
    with transaction(clocked) as session:
        finder = ListingFinder(session, channel_by_name(session, "shop"))
        made = finder.find("FROM-ORDER")
        assert made.id is not None
        assert finder.find("FROM-ORDER").id == made.id  # found again, not made twice
        with pytest.raises(NotFound) as missing:
            finder.find("NOWHERE")
    assert "'shop'" in str(missing.value)
    assert "'NOWHERE'" in str(missing.value)
    stored = listings(clocked, "shop")["FROM-ORDER"]
    assert (stored.sku_id, stored.unlinked_since, stored.auto_link) == (None, NOW, True)
    with Session(clocked) as session, pytest.raises(NotFound):  # no order of market has it
        ListingFinder(session, channel_by_name(session, "market")).find("FROM-ORDER")


def test_a_channel_id_several_listings_share_is_refused_naming_them(clocked: Engine) -> None:
    build_world(clocked)
    add_listing(clocked, "market", "AMZ-1", channel_ids={"asin": "B00SHARED"})
    add_listing(clocked, "market", "AMZ-2", channel_ids={"asin": "B00SHARED"})
    with Session(clocked) as session:
        finder = ListingFinder(session, channel_by_name(session, "market"))
        with pytest.raises(InvalidRequest) as several:
            finder.find("B00SHARED")
        assert finder.find("AMZ-2").channel_sku == "AMZ-2"  # the key names one
    assert "AMZ-1, AMZ-2" in str(several.value)
    assert "'market'" in str(several.value)


def test_two_listings_of_one_channel_linked_to_one_sku_are_offered_the_same(
    clocked: Engine,
) -> None:
    build_world(clocked, rules={"shop": {"buffer": 1}})
    set_count(clocked, "A", "main", 5)
    add_listing(clocked, "shop", "A-OFFER-1")
    add_listing(clocked, "shop", "A-OFFER-2")
    link(clocked, "shop", "A-OFFER-1", "A")
    link(clocked, "shop", "A-OFFER-2", "A")

    def pushed() -> dict[str, int]:
        with Session(clocked) as session:
            shop_id = channel_by_name(session, "shop").id or 0
        plan = plan_stock_push(clocked, shop_id, everything=True)
        return {listing.channel_sku: quantity for listing, quantity in plan.push}

    assert pushed() == {"A-OFFER-1": 4, "A-OFFER-2": 4}
    ingest(clocked, "shop", make_order("1", [("A-OFFER-1", 2)]))
    assert pushed() == {"A-OFFER-1": 2, "A-OFFER-2": 2}  # a sale on one withdraws both
    assert level(clocked, "A", "main") == (5, 2)


def test_a_linked_listing_keeps_its_sku_until_it_is_unlinked(clocked: Engine) -> None:
    build_world(clocked)
    add_listing(clocked, "shop", "SHOP-A")
    link(clocked, "shop", "SHOP-A", "A")
    with pytest.raises(Conflict) as other:
        link(clocked, "shop", "SHOP-A", "B")
    assert "linked to SKU A" in str(other.value)
    again = link(clocked, "shop", "SHOP-A", "A")
    assert (again.changed, again.sku, again.lines) == (False, "A", 0)
    assert listings(clocked, "shop")["SHOP-A"].sku_id == sku_id(clocked, "A")
    assert len(history(clocked, "shop", "SHOP-A")) == 1  # no change, no history


# Unlinking -------------------------------------------------------------------------


def sync_engine(engine: Engine) -> SyncEngine:
    channel = SyncChannel(
        "shop", ListingsConnector.channel_type, True, ListingsConnector.Settings()
    )
    return SyncEngine(engine, [channel], retry=RetryPolicy(attempts=1))


def test_unlink_frees_the_open_lines_and_keeps_the_listing_apart_until_linked_by_hand(
    clocked: Engine, clock: ManualClock
) -> None:
    build_world(clocked, channels={"shop": None, "market": None})
    set_count(clocked, "A", "main", 10)
    list_sku(clocked, "market", "A")
    ListingsConnector.listings = [
        ChannelListing(channel_sku="A", channel_ids={"variant_id": 1}, quantity=10, title="Mug")
    ]
    sync = sync_engine(clocked)
    outcome = sync.run("shop", "listings")
    assert outcome.status == "succeeded", outcome.error
    assert outcome.counts[RunCount.BOUND] == 1
    assert listings(clocked, "shop")["A"].link_method == LinkMethod.SKU
    # Order 1 has shipped one unit of three; order 2 holds two; market's order holds one.
    ingest(clocked, "shop", make_order("1", [("A", 3)], shipped=[1]))
    ingest(clocked, "shop", make_order("2", [("A", 2)], placed_minutes=5))
    ingest(clocked, "market", make_order("9", [("A", 1)]))
    assert level(clocked, "A", "main") == (9, 5)

    clock.advance(timedelta(minutes=1))
    change = unlink(clocked, "shop", "A")

    assert (change.changed, change.sku, change.method) == (True, "A", LinkMethod.SKU)
    assert (change.lines, change.units) == (2, 4)
    assert level(clocked, "A", "main") == (9, 1)  # shipped units stay shipped
    a = sku_id(clocked, "A")
    assert line_skus(clocked, "shop") == {"1:A": None, "2:A": None}
    assert line_skus(clocked, "market") == {"9:A": a}
    with Session(clocked) as session:
        shipped = {
            row.external_line_id: row.quantity_shipped for row in session.exec(select(OrderLine))
        }
    assert shipped["1-0"] == 1
    stored = listings(clocked, "shop")["A"]
    assert (stored.sku_id, stored.link_method, stored.auto_link, stored.dirty) == (
        None,
        None,
        False,
        False,
    )
    assert stored.unlinked_since == NOW + timedelta(minutes=1)
    alert = open_alert_of(clocked, RULE_UNLINKED, "shop")  # the lines are named at once
    assert alert is not None
    assert alert.details is not None
    assert alert.details["lines"] == [
        {"order": "1", "channel_sku": "A"},
        {"order": "2", "channel_sku": "A"},
    ]
    unlinked, linked = history(clocked, "shop", "A")[::-1][:2]
    assert (linked.action, linked.actor) == (LinkAction.LINK, ACTOR_LISTINGS_JOB)
    assert (unlinked.action, unlinked.actor, unlinked.method) == (
        LinkAction.UNLINK,
        ACTOR_CLI,
        LinkMethod.SKU,
    )
    assert unlinked.note is not None
    assert "released 4 reserved unit(s) of 2 open order line(s) (orders 1, 2)" in unlinked.note
    assert_invariants(clocked)

    # The listings job does not link it by code again, nor bind its lines.
    outcome = sync.run("shop", "listings")
    assert outcome.status == "succeeded", outcome.error
    assert (outcome.counts[RunCount.BOUND], outcome.counts[RunCount.LINES_MAPPED]) == (0, 0)
    assert listings(clocked, "shop")["A"].sku_id is None
    assert line_skus(clocked, "shop") == {"1:A": None, "2:A": None}
    # A new order line under its channel SKU stays unbound too, though A is a hub code.
    ingest(clocked, "shop", make_order("3", [("A", 1)], placed_minutes=9))
    assert line_skus(clocked, "shop")["3:A"] is None
    assert level(clocked, "A", "main") == (9, 1)
    assert_invariants(clocked)

    # An operator links it again: every waiting open line binds and reserves.
    relinked = link(clocked, "shop", "A", "A")
    assert (relinked.changed, relinked.lines, relinked.units) == (True, 3, 5)
    assert set(line_skus(clocked, "shop").values()) == {a}
    assert level(clocked, "A", "main") == (9, 6)
    assert listings(clocked, "shop")["A"].auto_link
    assert [event.action for event in history(clocked, "shop", "A")] == [
        LinkAction.LINK,
        LinkAction.UNLINK,
        LinkAction.LINK,
    ]
    assert_invariants(clocked)
    sync.close()


def test_lines_sold_before_the_listing_had_a_sku_follow_its_link_both_ways(
    clocked: Engine,
) -> None:
    """Variant 7 sold without a SKU (its lines carry the channel's own name for it), then
    got the SKU A on the channel: the listings job links it and binds those lines; an
    unlink frees them too, and a link binds them again."""
    build_world(clocked)
    set_count(clocked, "A", "main", 5)
    set_count(clocked, "B", "main", 5)
    own_name = f"test:{GID_7}"  # `<channel type>:<id>`, as connectors name it (build_world's type)
    ids = {"variant_id": GID_7}
    ingest(clocked, "shop", make_order("1", [(own_name, 2)]))
    ListingsConnector.listings = [
        ChannelListing(channel_sku="A", channel_ids=ids, own_key=own_name)
    ]
    sync = sync_engine(clocked)
    assert sync.run("shop", "listings").status == "succeeded"
    assert line_skus(clocked, "shop") == {f"1:{own_name}": sku_id(clocked, "A")}
    assert level(clocked, "A", "main") == (5, 2)

    change = unlink(clocked, "shop", "A")
    assert (change.lines, change.units) == (1, 2)
    assert line_skus(clocked, "shop") == {f"1:{own_name}": None}
    assert level(clocked, "A", "main") == (5, 0)
    alert = open_alert_of(clocked, RULE_UNLINKED, "shop")
    assert alert is not None
    assert alert.details is not None
    assert alert.details["lines"] == [{"order": "1", "channel_sku": own_name}]

    relinked = link(clocked, "shop", "A", "B")
    assert (relinked.lines, relinked.units) == (1, 2)
    assert line_skus(clocked, "shop") == {f"1:{own_name}": sku_id(clocked, "B")}
    assert (level(clocked, "A", "main"), level(clocked, "B", "main")) == ((5, 0), (5, 2))
    assert_invariants(clocked)
    sync.close()


def test_unlinking_an_unlinked_listing_keeps_it_apart_and_changes_nothing_else(
    clocked: Engine,
) -> None:
    build_world(clocked)
    add_listing(clocked, "shop", "A")
    change = unlink(clocked, "shop", "A")
    assert (change.changed, change.sku) == (False, "")
    assert not listings(clocked, "shop")["A"].auto_link
    assert history(clocked, "shop", "A") == []
    ingest(clocked, "shop", make_order("1", [("A", 1)]))
    assert line_skus(clocked, "shop") == {"1:A": None}  # not bound by code


# Automatic linking ----------------------------------------------------------------


def test_auto_link_links_by_code_then_by_barcode_only_where_one_answer_fits(
    clocked: Engine,
) -> None:
    build_world(clocked, skus=())
    with transaction(clocked) as session:
        upsert_sku(session, "A", barcode=EAN_13)
        upsert_sku(session, "B")
        upsert_sku(session, "C1", barcode="4006381333931")
        upsert_sku(session, "C2", barcode="4006381333931")
        upsert_sku(session, "D", barcode="5012345678900")
        upsert_sku(session, "E", barcode="96385074")
    add_listing(clocked, "shop", "SHOP-A", barcode=UPC_A)  # A's barcode as a UPC-A
    add_listing(clocked, "shop", "B")
    add_listing(clocked, "shop", "SHOP-C", barcode="4006381333931")  # on two hub SKUs
    add_listing(clocked, "shop", "SHOP-D1", barcode="5012345678900")  # on two listings
    add_listing(clocked, "shop", "SHOP-D2", barcode="5012345678900")
    add_listing(clocked, "shop", "D", auto=False)  # kept apart: its code is a hub SKU's
    add_listing(clocked, "shop", "SHOP-E", barcode="96385074", auto=False)
    add_listing(clocked, "market", "SHOP-D3", barcode="5012345678900")  # another channel

    def run(*by: LinkMethod) -> AutoLinkReport:
        with transaction(clocked) as session:
            return auto_link(session, channel_by_name(session, "shop"), by=by, actor=ACTOR_CLI)

    by_code = run(LinkMethod.SKU)
    assert [(change.listing, change.sku) for change in by_code.linked] == [("B", "B")]
    assert by_code.not_linked == []
    both = run(LinkMethod.SKU, LinkMethod.BARCODE)
    assert [(change.listing, change.sku, change.method) for change in both.linked] == [
        ("SHOP-A", "A", LinkMethod.BARCODE)
    ]
    assert len(both.not_linked) == 3
    shop_c, shop_d1, shop_d2 = both.not_linked
    assert shop_c.startswith("SHOP-C: barcode 4006381333931 is on 2 hub SKUs (C1, C2)")
    assert shop_d1.startswith("SHOP-D1: barcode 5012345678900 is on 2 listings of shop")
    assert shop_d2.startswith("SHOP-D2:")

    stored = listings(clocked, "shop")
    linked = {key: row.link_method for key, row in stored.items() if row.sku_id is not None}
    assert linked == {"B": LinkMethod.SKU, "SHOP-A": LinkMethod.BARCODE}
    # The market's listing with D's barcode is alone there: market links it.
    with transaction(clocked) as session:
        report = auto_link(
            session, channel_by_name(session, "market"), by=[LinkMethod.BARCODE], actor=ACTOR_CLI
        )
    assert [(change.listing, change.sku) for change in report.linked] == [("SHOP-D3", "D")]
    assert run(LinkMethod.SKU, LinkMethod.BARCODE).linked == []  # nothing more to link


# Links CSV ------------------------------------------------------------------------


def test_link_rows_links_every_row_or_none_naming_each_bad_row(clocked: Engine) -> None:
    build_world(clocked)
    add_listing(clocked, "shop", "SHOP-A", channel_ids={"variant_id": 11})
    add_listing(clocked, "shop", "SHOP-B")
    add_listing(clocked, "market", "MKT-A")
    add_listing(clocked, "market", "MKT-LINKED")
    link(clocked, "market", "MKT-LINKED", "B")
    good = [
        LinkRow("shop", "SHOP-A", "A", "links.csv:2"),
        LinkRow("shop", "SHOP-B", "B", "links.csv:3"),
        LinkRow("market", "MKT-A", "A", "links.csv:4"),
    ]
    bad = [
        LinkRow("shop", "NO-SUCH-LISTING", "A", "links.csv:5"),
        LinkRow("nowhere", "X", "A", "links.csv:6"),
        LinkRow("market", "MKT-A", "NO-SUCH-SKU", "links.csv:7"),
        LinkRow("market", "MKT-LINKED", "A", "links.csv:8"),
    ]
    before = {key: row.sku_id for key, row in listings(clocked, "shop").items()}
    with pytest.raises(InvalidRequest) as refused, transaction(clocked) as session:
        link_rows(session, [*good, *bad], actor=ACTOR_LINKS_CSV)
    message = str(refused.value)
    assert message.startswith("nothing linked:")
    for row in bad:
        assert row.where in message
    for row in good:
        assert row.where not in message
    assert {key: row.sku_id for key, row in listings(clocked, "shop").items()} == before
    assert listings(clocked, "market")["MKT-A"].sku_id is None

    # One listing given two SKUs, though named two ways (its key and its variant id).
    with pytest.raises(InvalidRequest) as twice, transaction(clocked) as session:
        link_rows(
            session,
            [good[0], LinkRow("shop", "11", "B", "links.csv:9")],
            actor=ACTOR_LINKS_CSV,
        )
    assert "links.csv:9" in str(twice.value)
    assert "links.csv:2" in str(twice.value)
    assert "a listing sells one SKU" in str(twice.value)
    assert listings(clocked, "shop")["SHOP-A"].sku_id is None

    with transaction(clocked) as session:
        changes = link_rows(session, good, actor=ACTOR_LINKS_CSV)
    assert [(change.listing, change.sku, change.changed) for change in changes] == [
        ("SHOP-A", "A", True),
        ("SHOP-B", "B", True),
        ("MKT-A", "A", True),
    ]
    assert history(clocked, "shop", "SHOP-A")[0].actor == ACTOR_LINKS_CSV
    with transaction(clocked) as session:
        again = link_rows(session, good, actor=ACTOR_LINKS_CSV)
    assert [change.changed for change in again] == [False, False, False]
    with Session(clocked) as session:
        assert len(session.exec(select(ListingLinkEvent)).all()) == 4  # MKT-LINKED and 3


# The alert's grace -----------------------------------------------------------------


def evaluate(engine: Engine, rules: AlertRules | None = None) -> None:
    with transaction(engine) as session:
        now = clock_of(session).now()
        evaluate_rules(
            session, rules or AlertRules(), now, schedules={}, watching_since=now, secrets=()
        )


def test_a_listing_is_named_once_unlinked_for_unlinked_after_and_linking_resolves_it(
    clocked: Engine, clock: ManualClock
) -> None:
    build_world(clocked)
    add_listing(clocked, "shop", "NEW-LISTING")
    evaluate(clocked)
    assert open_alert_of(clocked, RULE_UNLINKED, "shop") is None
    clock.advance(timedelta(minutes=59))
    evaluate(clocked)
    assert open_alert_of(clocked, RULE_UNLINKED, "shop") is None
    evaluate(clocked, AlertRules(unlinked_after=timedelta(minutes=30)))  # hub.yaml says so
    shorter = open_alert_of(clocked, RULE_UNLINKED, "shop")
    assert shorter is not None
    assert shorter.details is not None
    assert shorter.details["listings"] == ["NEW-LISTING"]
    evaluate(clocked)  # back to an hour: in its grace again
    assert open_alert_of(clocked, RULE_UNLINKED, "shop") is None

    clock.advance(timedelta(minutes=1))  # an hour unlinked
    evaluate(clocked)
    alert = open_alert_of(clocked, RULE_UNLINKED, "shop")
    assert alert is not None
    assert alert.details is not None
    assert (alert.details["listings"], alert.details["lines"]) == (["NEW-LISTING"], [])
    assert "NEW-LISTING" in alert.message
    assert open_alert_of(clocked, RULE_UNLINKED, "market") is None

    with transaction(clocked) as session:
        hub_link(
            session, "shop", "NEW-LISTING", "A", actor=ACTOR_CLI, unlinked_after=timedelta(hours=1)
        )
    assert open_alert_of(clocked, RULE_UNLINKED, "shop") is None
    with Session(clocked) as session:
        states = session.exec(
            select(Alert.state).where(Alert.rule == RULE_UNLINKED, Alert.id == alert.id)
        ).all()
    assert states == [AlertState.RESOLVED]
    evaluate(clocked)
    assert open_alert_of(clocked, RULE_UNLINKED, "shop") is None


def test_an_unbound_open_line_is_named_at_once_whatever_the_grace(clocked: Engine) -> None:
    build_world(clocked)
    add_listing(clocked, "shop", "NEW-LISTING")
    ingest(clocked, "shop", make_order("1", [("NEW-LISTING", 1)]))
    evaluate(clocked)
    alert = open_alert_of(clocked, RULE_UNLINKED, "shop")
    assert alert is not None
    assert alert.details is not None
    assert alert.details["lines"] == [{"order": "1", "channel_sku": "NEW-LISTING"}]
    assert alert.details["listings"] == []  # the listing is in its hour of grace
