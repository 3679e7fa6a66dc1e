"""`catalog import` in the core (core/catalog_import.py), on SQLite and PostgreSQL.

Every unlinked listing of the channel is linked: by its channel SKU, else by its barcode,
else to a hub SKU made from it (a code derived from the channel's id when the listing has
no valid SKU). With a location, the channel's quantities become counts for SKUs never
moved there. A second import changes nothing; listings an operator unlinked are left
alone. The import works on the stored listings (the caller reads them first).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.catalog import location_by_code, retire_sku, sku_by_code, upsert_sku
from omnisync.core.catalog_import import CatalogImport, import_catalog
from omnisync.core.channels import ChannelSpec, channel_by_name, sync_channels
from omnisync.core.clock import ManualClock
from omnisync.core.db import make_engine, transaction
from omnisync.core.ledger import count_stock
from omnisync.core.listing_links import ACTOR_CATALOG_IMPORT, link_history
from omnisync.core.models import Listing, Sku, StockMovement
from omnisync.core.types import LinkMethod, MovementKind
from tests.support.world import add_listing, build_world, check_ledger_invariants, level

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
GID_7 = "gid://shopify/ProductVariant/7"
EAN_B = "0012345678905"
UPC_B = "012345678905"


@pytest.fixture
def clocked(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, clock=ManualClock(NOW))
    yield engine
    engine.dispose()


@pytest.fixture
def world(clocked: Engine) -> Engine:
    """Locations main and backup; SKUs A, and B (barcode EAN_B); the Shopify channel shop."""
    build_world(clocked, channels={}, skus=("A",))
    with transaction(clocked) as session:
        sync_channels(session, [ChannelSpec("shop", "shopify", True, None, {})])
        upsert_sku(session, "B", title="Blue mug", barcode=EAN_B)
    return clocked


def run_import(engine: Engine, location: str | None = None) -> CatalogImport:
    with transaction(engine) as session:
        where = location_by_code(session, location) if location else None
        return import_catalog(session, channel_by_name(session, "shop"), location=where)


def links(engine: Engine) -> dict[str, tuple[str | None, LinkMethod | None]]:
    """Each listing of shop: the code of its SKU and how it was linked."""
    with Session(engine) as session:
        rows = session.exec(select(Listing, Sku).join(Sku, isouter=True)).all()
        return {
            listing.channel_sku: (sku.code if sku else None, listing.link_method)
            for listing, sku in rows
        }


def skus(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with Session(engine) as session:
        return {sku.code: (sku.title, sku.barcode) for sku in session.exec(select(Sku))}


def counts_at(engine: Engine, location: str) -> dict[str, int]:
    """What the import counted of each SKU at the location (the count's difference: the
    quantity itself, for a SKU never moved there)."""
    with Session(engine) as session:
        where = location_by_code(session, location)
        rows = session.exec(
            select(Sku.code, StockMovement.delta, StockMovement.reason)
            .join(Sku)
            .where(StockMovement.location_id == where.id, StockMovement.kind == MovementKind.COUNT)
        ).all()
    return {code: delta for code, delta, reason in rows if reason == "catalog import from shop"}


def test_listings_link_by_sku_then_barcode_else_make_a_sku(world: Engine) -> None:
    add_listing(world, "shop", "A", title="Red shirt")
    add_listing(world, "shop", "SHOP-B", title="Mug, blue", barcode=UPC_B)  # B's barcode as a UPC-A
    add_listing(
        world,
        "shop",
        f"shopify:{GID_7}",
        title="Green mug",
        barcode="4006381333931",
        channel_ids={"variant_id": GID_7},
    )
    add_listing(world, "shop", "RED SHIRT L", title="Red shirt, large")  # no valid code
    add_listing(world, "shop", "NEW-1", title="New thing")
    add_listing(world, "shop", "KEPT-APART", auto=False)

    report = run_import(world)

    assert report.changed
    assert report.created == 3
    made = {item.listing: (item.sku, item.method, item.created) for item in report.linked}
    assert made == {
        "A": ("A", LinkMethod.SKU, False),
        "SHOP-B": ("B", LinkMethod.BARCODE, False),
        f"shopify:{GID_7}": ("shop-7", LinkMethod.IMPORT, True),
        "RED SHIRT L": ("shop-RED-SHIRT-L", LinkMethod.IMPORT, True),
        "NEW-1": ("NEW-1", LinkMethod.IMPORT, True),
    }
    assert report.skipped == ["KEPT-APART: unlinked by an operator, left alone"]
    assert links(world) == {
        "A": ("A", LinkMethod.SKU),
        "SHOP-B": ("B", LinkMethod.BARCODE),
        f"shopify:{GID_7}": ("shop-7", LinkMethod.IMPORT),
        "RED SHIRT L": ("shop-RED-SHIRT-L", LinkMethod.IMPORT),
        "NEW-1": ("NEW-1", LinkMethod.IMPORT),
        "KEPT-APART": (None, None),
    }
    hub = skus(world)
    assert hub["shop-7"] == ("Green mug", "4006381333931")
    assert hub["shop-RED-SHIRT-L"] == ("Red shirt, large", None)
    assert hub["B"] == ("Blue mug", EAN_B)  # a matched SKU is not rewritten
    assert set(hub) == {"A", "B", "shop-7", "shop-RED-SHIRT-L", "NEW-1"}
    with Session(world) as session:
        events = link_history(session, channel=channel_by_name(session, "shop"))
    assert {event.actor for event, _ in events} == {ACTOR_CATALOG_IMPORT}
    assert len(events) == 5

    again = run_import(world)
    assert not again.changed
    assert (again.linked, again.counted) == ([], [])
    assert set(skus(world)) == set(hub)


def test_a_derived_code_a_sku_has_already_takes_a_number(world: Engine) -> None:
    with transaction(world) as session:
        upsert_sku(session, "shop-7", title="Something else")
    add_listing(world, "shop", f"shopify:{GID_7}", title="Green mug")
    report = run_import(world)
    assert [(item.sku, item.created) for item in report.linked] == [("shop-7-2", True)]
    assert skus(world)["shop-7"] == ("Something else", None)


def test_with_a_location_the_channel_quantities_count_sku_never_moved_there(
    world: Engine,
) -> None:
    with transaction(world) as session:
        upsert_sku(session, "C")
        upsert_sku(session, "KIT", components={"A": 1, "C": 1})
        count_stock(session, sku_by_code(session, "A"), location_by_code(session, "main"), 2)
        count_stock(session, sku_by_code(session, "C"), location_by_code(session, "backup"), 1)
    add_listing(world, "shop", "A", quantity=9)  # counted at main already: left as it is
    add_listing(world, "shop", "SHOP-B", barcode=UPC_B, quantity=5)
    add_listing(world, "shop", "B", quantity=3)  # a duplicate offer of B: the smaller counts
    add_listing(world, "shop", "C", quantity=4)  # moved only at backup: counted at main
    add_listing(world, "shop", "KIT", quantity=6)  # a bundle: its stock is its components'
    add_listing(world, "shop", "NEW-1", quantity=0)
    add_listing(world, "shop", "NEW-2")  # the channel said no quantity
    add_listing(world, "shop", "KEPT-APART", quantity=8, auto=False)

    report = run_import(world, "main")

    assert [(item.sku, item.quantity, item.location) for item in report.counted] == [
        ("B", 3, "main"),
        ("C", 4, "main"),
        ("NEW-1", 0, "main"),
    ]
    assert "KIT: a bundle, its stock is its components'" in report.skipped
    assert "KEPT-APART: unlinked by an operator, left alone" in report.skipped
    assert level(world, "A", "main") == (2, 0)
    assert level(world, "B", "main") == (3, 0)
    assert level(world, "C", "main") == (4, 0)
    assert level(world, "C", "backup") == (1, 0)
    assert counts_at(world, "main") == {"B": 3, "C": 4, "NEW-1": 0}
    assert "NEW-2" not in counts_at(world, "main")

    again = run_import(world, "main")
    assert not again.changed
    assert again.counted == []
    assert level(world, "B", "main") == (3, 0)
    with Session(world) as session:
        check_ledger_invariants(session)


def test_a_negative_channel_quantity_counts_as_none_in_stock(world: Engine) -> None:
    """Shopify shows oversold stock as a negative quantity: that is 0 on the shelf."""
    add_listing(world, "shop", "NEW-1", quantity=-2)
    report = run_import(world, "main")
    assert [(item.sku, item.quantity) for item in report.counted] == [("NEW-1", 0)]
    assert counts_at(world, "main") == {"NEW-1": 0}


def test_a_listing_of_a_retired_sku_is_linked_but_not_counted(world: Engine) -> None:
    with transaction(world) as session:
        upsert_sku(session, "OLD")
        retire_sku(session, "OLD")
    add_listing(world, "shop", "OLD", quantity=4)
    add_listing(world, "shop", "NEW-1", quantity=2)
    report = run_import(world, "main")
    assert {item.listing: item.sku for item in report.linked} == {"OLD": "OLD", "NEW-1": "NEW-1"}
    assert [(item.sku, item.quantity) for item in report.counted] == [("NEW-1", 2)]
    assert "OLD: retired, it takes no stock" in report.skipped
    assert level(world, "OLD", "main") == (0, 0)
