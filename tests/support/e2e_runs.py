"""The steps the end-to-end tests of a marketplace take against the hub alike: serve a
Shopify shop beside the marketplace, open a hub whose SKUs hold stock, sync listings and
stock of every channel once, run a job that must succeed, and read back the order a
channel's external id names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, select

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import Order
from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine
from tests.support.hub_setup import engine_for, open_test_hub


@contextmanager
def listing_shop(
    token: str, secret: str, codes: Iterable[str], location: str
) -> Iterator[ShopifySimulator]:
    """A Shopify shop served on loopback, one location, a variant of each of `codes` with
    nothing in stock yet (the hub's first push gives it its figures)."""
    with ShopifySimulator(token, client_secret=secret) as simulator:
        simulator.add_location(location)
        simulator.set_catalogue([{"sku": c, "title": c, "quantity": {location: 0}} for c in codes])
        yield simulator


def open_stocked_hub(
    config_dir: Path, database_url: str, codes: Iterable[str], quantity: int
) -> Hub:
    """A hub on `config_dir` whose SKUs `codes` each count `quantity` units at "main"."""
    hub = open_test_hub(config_dir, database_url)
    with transaction(hub.engine) as session:
        main = location_by_code(session, "main")
        for code in codes:
            count_stock(session, upsert_sku(session, code), main, quantity)
    return hub


@contextmanager
def synced_engine(hub: Hub, channels: Iterable[str]) -> Iterator[SyncEngine]:
    """A sync engine for `hub` that has run listings, then stock, of each channel once
    (so every listing is linked and every channel holds the hub's figures)."""
    engine = engine_for(hub)
    try:
        for channel in channels:
            run_ok(engine, channel, "listings")
            run_ok(engine, channel, "stock")
        yield engine
    finally:
        engine.close()


def run_ok(sync: SyncEngine, channel: str, job: str) -> dict[str, int]:
    """Run `job` of `channel`, which must succeed; its counts by name."""
    outcome = sync.run(channel, job)
    assert outcome.status == "succeeded", (channel, job, outcome.error)
    return {count.value: value for count, value in outcome.counts.items()}


def stored_order(hub: Hub, external_id: str) -> Order | None:
    """The hub's order of this external id, if it has one."""
    with Session(hub.engine) as session:
        return session.exec(select(Order).where(Order.external_id == external_id)).first()
