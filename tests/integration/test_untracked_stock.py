"""A listing whose stock the channel does not count (WooCommerce: a product with
`manage_stock` off) is stored and reported with why, and the hub pushes nothing to it:
neither the stock job nor reconcile, and a quantity the channel shows for it is not taken
as drift. Once the seller turns stock management on, the next listings read clears the
mark and the hub's figure goes out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.base import Capability, Connector
from omnisync.connectors.registry import register
from omnisync.core.clock import ManualClock
from omnisync.core.dto import ChannelListing
from omnisync.core.models import Listing
from omnisync.hub.views.listings import listing_view
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from tests.support.recording_push import RecordingPushes
from tests.support.world import build_world, set_count

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
UNTRACKED = "stock management is off for this product"


@register
class ShopWithoutStockConnector(RecordingPushes, Connector):
    """Lists MUG and LID; `untracked` says which of them the shop does not count."""

    channel_type: ClassVar[str] = "untracked-shop"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LISTINGS, Capability.STOCK}
    )
    untracked: ClassVar[set[str]] = set()

    def fetch_listings(self) -> Iterator[ChannelListing]:
        shown = dict(type(self).pushed)  # what the shop holds: the last figure pushed
        for code in ("MUG", "LID"):
            off = code in type(self).untracked
            yield ChannelListing(
                channel_sku=code,
                channel_ids={"product_id": code},
                # A shop may still show a figure it does not count (the last one it had).
                quantity=2 if off else shown.get(code, 7),
                untracked_stock=UNTRACKED if off else None,
            )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def sync(clocked: Engine) -> SyncEngine:
    ShopWithoutStockConnector.pushed = []
    ShopWithoutStockConnector.untracked = {"LID"}
    build_world(clocked, channels={"woo": None}, skus=("MUG", "LID"))
    set_count(clocked, "MUG", "main", 5)
    set_count(clocked, "LID", "main", 9)
    channel = SyncChannel(
        "woo", ShopWithoutStockConnector.channel_type, True, ShopWithoutStockConnector.Settings()
    )
    return SyncEngine(clocked, [channel], retry=RetryPolicy(attempts=1))


def stored(engine: Engine, code: str) -> Listing:
    with Session(engine) as session:
        return session.exec(select(Listing).where(Listing.channel_sku == code)).one()


def run(sync: SyncEngine, clock: ManualClock, job: str) -> dict[RunCount, int]:
    clock.advance(timedelta(seconds=1))
    outcome = sync.run("woo", job)
    assert outcome.completed, outcome.error
    return dict(outcome.counts)


def test_an_untracked_listing_is_reported_and_never_pushed(
    sync: SyncEngine, clocked: Engine, clock: ManualClock
) -> None:
    counts = run(sync, clock, "listings")
    assert counts[RunCount.UNTRACKED] == 1
    lid = stored(clocked, "LID")
    assert lid.sku_id is not None  # linked by its SKU like any other
    assert lid.untracked_stock == UNTRACKED
    assert stored(clocked, "MUG").untracked_stock is None
    view = listing_view(lid, "woo", "untracked-shop", "LID")
    assert view.untracked_stock == UNTRACKED

    counts = run(sync, clock, "stock")
    assert ShopWithoutStockConnector.pushed == [("MUG", 5)]
    assert counts[RunCount.UNTRACKED] == 1
    assert not stored(clocked, "LID").dirty  # nothing waits: there is nothing to send

    set_count(clocked, "LID", "main", 3)  # a stock change marks it dirty again
    run(sync, clock, "stock")
    run(sync, clock, "reconcile")
    assert ("LID", 3) not in ShopWithoutStockConnector.pushed
    assert all(code == "MUG" for code, _ in ShopWithoutStockConnector.pushed)

    # The seller turns stock management on: the next read clears the mark, and the
    # shop's figure (7) differs from the hub's (3), so the hub's goes out.
    ShopWithoutStockConnector.untracked = set()
    counts = run(sync, clock, "listings")
    assert counts.get(RunCount.UNTRACKED, 0) == 0
    assert stored(clocked, "LID").untracked_stock is None
    run(sync, clock, "stock")
    assert ("LID", 3) in ShopWithoutStockConnector.pushed


def test_a_quantity_shown_for_an_untracked_listing_is_not_drift(
    sync: SyncEngine, clocked: Engine, clock: ManualClock
) -> None:
    run(sync, clock, "listings")
    run(sync, clock, "stock")
    counts = run(sync, clock, "listings")
    assert counts.get(RunCount.DRIFTED, 0) == 0
    assert not stored(clocked, "LID").dirty
