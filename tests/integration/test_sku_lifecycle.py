"""Editing, renaming and retiring SKUs (SQLite and PostgreSQL).

A rename keeps the row, so stock, history, listings and order lines stay linked. A
retired SKU is offered as 0 everywhere and takes no stock; retiring is refused, naming
what holds the SKU, while stock is on hand, open order lines want it, or a bundle still
sold contains it. New codes are checked; codes stored before the rule keep working.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.core.availability import available_to_sell
from omnisync.core.catalog import (
    edit_sku,
    location_by_code,
    retire_sku,
    sku_by_code,
    unretire_sku,
    upsert_sku,
)
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.ledger import adjust_stock, receive_stock
from omnisync.core.models import Listing, Location, Sku, StockMovement
from tests.integration.test_hub_cancellation import cancel, clean_listings, dirty
from tests.support.world import (
    build_world,
    ingest,
    level,
    list_sku,
    make_order,
    set_count,
)


@pytest.fixture
def world(engine: Engine) -> Engine:
    build_world(engine, locations=("main", "backup"), bundles={"KIT": {"A": 2}})
    set_count(engine, "A", "main", 6)
    list_sku(engine, "shop", "A", "B", "KIT")
    return engine


def available(engine: Engine, sku: str) -> int:
    with Session(engine) as session:
        sku_id = sku_by_code(session, sku).id or 0
        return available_to_sell(session, channel_by_name(session, "shop"), [sku_id])[sku_id]


def retire(engine: Engine, code: str) -> None:
    with transaction(engine) as session:
        retire_sku(session, code)


def test_a_rename_keeps_the_row_its_stock_listings_and_history(world: Engine) -> None:
    with Session(world) as session:
        before = sku_by_code(session, "A").id
    with transaction(world) as session:
        edited = edit_sku(session, "A", new_code="A-2026", title="Alpha")
        assert edited.changed == ("code", "title")
        assert edited.previous_code == "A"
    with Session(world) as session:
        renamed = sku_by_code(session, "A-2026")
        assert renamed.id == before
        assert session.exec(select(Sku).where(Sku.code == "A")).first() is None
        listing = session.exec(select(Listing).where(Listing.channel_sku == "A")).one()
        assert listing.sku_id == before
        assert {m.sku_id for m in session.exec(select(StockMovement))} == {before}
    assert level(world, "A-2026", "main") == (6, 0)
    # An order naming the listing's channel SKU still reserves the renamed SKU.
    ingest(world, "shop", make_order("1001", [("A", 2)]))
    assert level(world, "A-2026", "main") == (6, 2)


def test_a_rename_to_a_taken_or_invalid_code_is_refused(world: Engine) -> None:
    with pytest.raises(Conflict, match="'B' exists already"), transaction(world) as session:
        edit_sku(session, "A", new_code="B")
    with pytest.raises(InvalidRequest, match="whitespace"), transaction(world) as session:
        edit_sku(session, "A", new_code="A 2")
    with Session(world) as session:
        assert sku_by_code(session, "A").code == "A"


def test_a_new_safety_stock_marks_the_listings_dirty(world: Engine) -> None:
    clean_listings(world)
    with transaction(world) as session:
        assert edit_sku(session, "A", safety_stock=2).changed == ("safety_stock",)
    assert {sku for _, sku in dirty(world)} == {"A", "KIT"}
    assert available(world, "A") == 4
    clean_listings(world)
    with transaction(world) as session:
        assert edit_sku(session, "A", safety_stock=2, barcode="").changed == ()
    assert dirty(world) == set()


def test_new_codes_are_checked_and_old_odd_codes_keep_working(world: Engine) -> None:
    with pytest.raises(InvalidRequest, match="whitespace"), transaction(world) as session:
        upsert_sku(session, "NEW ONE")
    with transaction(world) as session:
        session.add(Sku(code="OLD ONE"))  # stored before the rule
    with transaction(world) as session:
        assert upsert_sku(session, "OLD ONE", title="still here").title == "still here"
        assert edit_sku(session, "OLD ONE", safety_stock=1).sku.code == "OLD ONE"
    set_count(world, "OLD ONE", "main", 3)
    assert level(world, "OLD ONE", "main") == (3, 0)


def test_retiring_is_refused_while_stock_is_on_hand_naming_where(world: Engine) -> None:
    set_count(world, "A", "backup", 2)
    with pytest.raises(Conflict, match=r"on hand \(2 at backup, 6 at main\)"):
        retire(world, "A")


def test_retiring_is_refused_while_open_order_lines_want_it(world: Engine) -> None:
    ingest(world, "shop", make_order("1001", [("KIT", 1)]))
    ingest(world, "market", make_order("2002", [("B", 3)]))
    with pytest.raises(Conflict, match=r"open order lines want it: shop order 1001 \(1 unit"):
        retire(world, "KIT")
    with pytest.raises(Conflict, match=r"market order 2002 \(3 unit\(s\)\)"):
        retire(world, "B")
    cancel(world, "market", "2002")
    retire(world, "B")


def test_retiring_a_component_of_a_bundle_still_sold_is_refused(world: Engine) -> None:
    set_count(world, "A", "main", 0)
    with pytest.raises(Conflict, match=r"bundle\(s\) KIT contain it"):
        retire(world, "A")
    retire(world, "KIT")
    retire(world, "A")


def test_a_retired_sku_is_offered_as_0_takes_no_stock_and_can_be_sold_again(
    world: Engine,
) -> None:
    clean_listings(world)
    retire(world, "B")
    assert {sku for _, sku in dirty(world)} == {"B"}
    with pytest.raises(InvalidRequest, match="retired"), transaction(world) as session:
        receive_stock(session, sku_by_code(session, "B"), _main(session), 5)
    with pytest.raises(Conflict, match="retired already"):
        retire(world, "B")
    with transaction(world) as session:
        unretire_sku(session, "B")
        receive_stock(session, sku_by_code(session, "B"), _main(session), 5)
    assert available(world, "B") == 5


def test_a_retired_bundle_is_offered_as_0_while_its_components_sell(world: Engine) -> None:
    assert available(world, "KIT") == 3
    retire(world, "KIT")
    assert available(world, "KIT") == 0
    assert available(world, "A") == 6
    with pytest.raises(InvalidRequest, match="retired"), transaction(world) as session:
        upsert_sku(session, "KIT2", components={"KIT": 1})
    with transaction(world) as session:
        adjust_stock(session, sku_by_code(session, "A"), _main(session), 1)
    assert available(world, "KIT") == 0


def _main(session: Session) -> Location:
    return location_by_code(session, "main")
