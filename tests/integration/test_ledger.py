"""Invariant 1: on_hand(S, L) equals the sum of S's movements at L, always."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, null, update
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code
from omnisync.core.db import transaction
from omnisync.core.errors import InsufficientStock, InvalidRequest
from omnisync.core.ledger import adjust_stock, count_stock, receive_stock, restock_return
from omnisync.core.models import Channel, Listing, StockMovement
from omnisync.core.outbox import MARKED_ON_CHANNELS, mark_listings_dirty
from omnisync.core.types import LocationKind, MovementKind
from tests.support.world import build_world, check_ledger_invariants, level, list_sku, set_count


def _apply(engine: Engine, action: str, sku: str, location: str, quantity: int) -> None:
    functions = {
        "receive": receive_stock,
        "adjust": adjust_stock,
        "count": count_stock,
        "restock": restock_return,
    }
    with transaction(engine) as session:
        functions[action](
            session, sku_by_code(session, sku), location_by_code(session, location), quantity
        )


def test_every_kind_of_change_writes_one_movement_and_keeps_the_level_equal_to_the_sum(
    engine: Engine,
) -> None:
    build_world(engine)
    _apply(engine, "receive", "A", "main", 10)
    _apply(engine, "adjust", "A", "main", -3)
    _apply(engine, "count", "A", "main", 4)
    _apply(engine, "restock", "A", "main", 2)
    _apply(engine, "receive", "A", "backup", 5)
    assert level(engine, "A", "main") == (6, 0)
    assert level(engine, "A", "backup") == (5, 0)
    with Session(engine) as session:
        movements = session.exec(select(StockMovement).order_by(col(StockMovement.id))).all()
        assert [(m.kind, m.delta) for m in movements] == [
            (MovementKind.RECEIPT, 10),
            (MovementKind.ADJUSTMENT, -3),
            (MovementKind.COUNT, -3),
            (MovementKind.RETURN_RESTOCK, 2),
            (MovementKind.RECEIPT, 5),
        ]
        check_ledger_invariants(session)


def test_a_count_equal_to_on_hand_is_recorded_with_a_zero_delta(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)
    set_count(engine, "A", "main", 5)
    with Session(engine) as session:
        deltas = [
            m.delta for m in session.exec(select(StockMovement).order_by(col(StockMovement.id)))
        ]
    assert deltas == [5, 0]


def test_on_hand_never_goes_below_zero_and_a_refused_change_leaves_no_movement(
    engine: Engine,
) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 2)
    with pytest.raises(InsufficientStock, match="A at main"):
        _apply(engine, "adjust", "A", "main", -3)
    assert level(engine, "A", "main") == (2, 0)
    with Session(engine) as session:
        assert len(session.exec(select(StockMovement)).all()) == 1
        check_ledger_invariants(session)


@pytest.mark.parametrize(
    ("action", "quantity"), [("receive", 0), ("receive", -1), ("adjust", 0), ("count", -1)]
)
def test_meaningless_quantities_are_refused(engine: Engine, action: str, quantity: int) -> None:
    build_world(engine)
    with pytest.raises(InvalidRequest):
        _apply(engine, action, "A", "main", quantity)


def test_a_bundle_holds_no_stock_of_its_own(engine: Engine) -> None:
    build_world(engine, bundles={"KIT": {"A": 2, "B": 1}})
    with pytest.raises(InvalidRequest, match="bundle"):
        _apply(engine, "receive", "KIT", "main", 1)


def test_a_stock_change_marks_the_listings_of_the_sku_and_its_bundles_dirty(
    engine: Engine,
) -> None:
    build_world(
        engine,
        channels={"shop": None, "market": ["backup"]},
        bundles={"KIT": {"A": 2, "B": 1}},
    )
    list_sku(engine, "shop", "A", "B", "KIT")
    list_sku(engine, "market", "A")
    set_count(engine, "A", "main", 3)
    with Session(engine) as session:
        names = {channel.id: channel.name for channel in session.exec(select(Channel))}
        dirty = {
            (names[listing.channel_id], listing.channel_sku)
            for listing in session.exec(select(Listing).where(col(Listing.dirty)))
        }
        # market sells only from backup, so a change at main leaves its listing clean
        assert dirty == {("shop", "A"), ("shop", "KIT")}
        for listing in session.exec(select(Listing).where(col(Listing.dirty))):
            assert listing.dirty_since is not None


def test_a_stock_change_names_only_the_channels_whose_listings_it_marked(
    engine: Engine,
) -> None:
    """Every channel here sells from main; only those listing the SKU (or a bundle of it)
    are named for a push (under runner procrastinate each named channel gets a task)."""
    build_world(engine, channels={"shop": None, "market": None, "outlet": None})
    list_sku(engine, "shop", "A")
    list_sku(engine, "market", "B")
    with transaction(engine) as session:
        count_stock(session, sku_by_code(session, "A"), location_by_code(session, "main"), 3)
        marked = set(session.info[MARKED_ON_CHANNELS])
        names = {channel.id: channel.name for channel in session.exec(select(Channel))}
    assert {names[channel_id] for channel_id in marked} == {"shop"}


_SELLS_FROM: dict[str, list[str] | None] = {
    "every": None,
    "every_sql_null": None,
    "main_only": ["main"],
    "backup_only": ["backup"],
    "fba_only": ["fba"],
    "main_and_fba": ["main", "fba"],
    "nowhere": [],
}
"""Channels and the locations they sell from (None: every location not channel-managed)."""
_KINDS = {"main": LocationKind.WAREHOUSE, "backup": LocationKind.WAREHOUSE}
_KINDS["fba"] = LocationKind.CHANNEL_MANAGED


def _sellers(locations: set[str]) -> set[str]:
    """The channels selling from any of `locations`, worked out the plain way."""
    return {
        name
        for name, codes in _SELLS_FROM.items()
        for code in locations
        if (codes is None and _KINDS[code] != LocationKind.CHANNEL_MANAGED)
        or (codes is not None and code in codes)
    }


@pytest.fixture
def every_kind_of_seller(engine: Engine) -> dict[int, str]:
    """A world of channels that sell from every location, some, none, or a channel-managed
    one (a channel's `locations` written as JSON null and as SQL NULL both mean every
    location), each listing A; the channels' names by id."""
    build_world(engine, locations=list(_KINDS.items()), channels=dict(_SELLS_FROM))
    with transaction(engine) as session:
        session.execute(
            update(Channel).where(col(Channel.name) == "every_sql_null").values(locations=null())
        )
        session.execute(update(Channel).where(col(Channel.name) == "every").values(locations=None))
    for name in _SELLS_FROM:
        list_sku(engine, name, "A")
    with Session(engine) as session:
        return {channel.id or 0: channel.name for channel in session.exec(select(Channel))}


@pytest.mark.parametrize("location", sorted(_KINDS))
def test_a_change_at_a_location_marks_the_listings_of_exactly_the_channels_selling_from_it(
    engine: Engine, every_kind_of_seller: dict[int, str], location: str
) -> None:
    with transaction(engine) as session:
        count_stock(session, sku_by_code(session, "A"), location_by_code(session, location), 4)
        marked = {
            every_kind_of_seller[channel_id] for channel_id in session.info[MARKED_ON_CHANNELS]
        }
    with Session(engine) as session:
        dirty = {
            every_kind_of_seller[listing.channel_id]
            for listing in session.exec(select(Listing).where(col(Listing.dirty)))
        }
    assert marked == dirty == _sellers({location})


@pytest.mark.parametrize(
    "locations", [{"main"}, {"fba"}, {"backup", "fba"}, {"main", "backup"}, set(_KINDS)]
)
def test_marking_for_several_locations_reaches_the_channels_selling_from_any(
    engine: Engine, every_kind_of_seller: dict[int, str], locations: set[str]
) -> None:
    with transaction(engine) as session:
        ids = [location_by_code(session, code).id or 0 for code in locations]
        count = mark_listings_dirty(session, [sku_by_code(session, "A").id or 0], ids)
        marked = {
            every_kind_of_seller[channel_id] for channel_id in session.info[MARKED_ON_CHANNELS]
        }
    assert marked == _sellers(locations)
    assert count == len(marked)
