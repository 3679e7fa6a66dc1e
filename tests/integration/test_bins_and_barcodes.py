"""Bins (core/bins.py) and packaging barcodes (core/packaging.py) on SQLite and
PostgreSQL: one bin per SKU and location, the walking order, and a scanned code that
means one thing only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from omnisync.core.bins import set_bin
from omnisync.core.catalog import edit_sku, location_by_code, sku_by_code, upsert_sku
from omnisync.core.catalog_import import import_catalog
from omnisync.core.channels import channel_by_name
from omnisync.core.db import make_engine, transaction
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.models import Sku
from omnisync.core.packaging import (
    add_packaging_barcode,
    packaging_barcodes,
    remove_packaging_barcode,
    resolve_barcode,
)
from omnisync.core.types import LocationKind
from omnisync.hub.views import stock_list
from omnisync.hub.views.warehouse import bin_list
from tests.support.world import add_listing, build_world


@pytest.fixture
def world(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    build_world(
        engine,
        locations=("main", "backup", ("fba", LocationKind.CHANNEL_MANAGED)),
        skus=("A", "B", "C"),
        bundles={"KIT": {"A": 2}},
    )
    with transaction(engine) as session:
        upsert_sku(session, "A", barcode="4006381333931")
        upsert_sku(session, "B", barcode="0012345678905")
    yield engine
    engine.dispose()


def put(engine: Engine, sku: str, location: str, shelf: str, sequence: int | None) -> None:
    with transaction(engine) as session:
        set_bin(
            session,
            sku_by_code(session, sku),
            location_by_code(session, location),
            shelf,
            sequence,
        )


def test_a_sku_has_one_bin_per_location_and_setting_it_again_replaces_it(world: Engine) -> None:
    put(world, "A", "main", "A-10", 20)
    put(world, "B", "main", "A-2", None)
    put(world, "C", "main", "B-1", 10)
    put(world, "A", "backup", "X-1", 1)
    put(world, "A", "main", "A-11", 5)  # moved

    with Session(world) as session:
        rows = [(row.location, row.sequence, row.bin, row.sku) for row in bin_list(session)]
        at_main = bin_list(session, location=location_by_code(session, "main"))
        (stock,) = stock_list(session, [sku_by_code(session, "A")])
        (kit,) = stock_list(session, [sku_by_code(session, "KIT")])
    assert rows == [
        ("backup", 1, "X-1", "A"),
        ("main", 5, "A-11", "A"),
        ("main", 10, "B-1", "C"),
        ("main", None, "A-2", "B"),  # no sequence: after every numbered bin
    ]
    assert [row.sku for row in at_main] == ["A", "C", "B"]
    assert [(shelf.location, shelf.bin, shelf.sequence) for shelf in stock.bins] == [
        ("main", "A-11", 5),
        ("backup", "X-1", 1),
    ]
    assert kit.bins == []


@pytest.mark.parametrize(
    ("sku", "location", "shelf", "sequence", "problem"),
    [
        ("KIT", "main", "K-1", None, "'KIT' is a bundle: it is picked as its components"),
        ("A", "fba", "F-1", None, "location 'fba' is managed by a channel"),
        ("A", "main", "  ", None, "bin is empty"),
        ("A", "main", "X" * 65, None, "is 65 characters long (at most 64)"),
        ("A", "main", "A-1", -1, "sequence -1 is not between 0 and 1000000000"),
    ],
    ids=["bundle", "channel-managed", "empty", "too long", "negative sequence"],
)
def test_a_bin_that_cannot_be_is_refused(
    world: Engine, sku: str, location: str, shelf: str, sequence: int | None, problem: str
) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(problem)):
        put(world, sku, location, shelf, sequence)
    with Session(world) as session:
        assert bin_list(session) == []


def add(engine: Engine, sku: str, barcode: str, quantity: int, name: str = "") -> None:
    with transaction(engine) as session:
        add_packaging_barcode(session, sku_by_code(session, sku), barcode, quantity, name)


def resolve(engine: Engine, code: str) -> tuple[str, int] | None:
    """(SKU code, units) a scan of `code` counts."""
    with Session(engine) as session:
        found = resolve_barcode(session, code)
        if found is None:
            return None
        sku_id, units = found
        codes = {sku.id: sku.code for sku in [sku_by_code(session, c) for c in "ABC"]}
        return codes[sku_id], units


def test_a_scan_counts_a_packagings_quantity_and_the_skus_own_barcode_or_code_counts_one(
    world: Engine,
) -> None:
    add(world, "A", "14006381333938", 6, "case")
    add(world, "A", "24006381333935", 24, "pallet layer")

    assert resolve(world, "14006381333938") == ("A", 6)
    assert resolve(world, " 24006381333935 ") == ("A", 24)
    assert resolve(world, "4006381333931") == ("A", 1)
    assert resolve(world, "C") == ("C", 1)  # the SKU code typed or scanned
    assert resolve(world, "99999") is None
    assert resolve(world, "") is None
    with Session(world) as session:
        listed = packaging_barcodes(session, sku_by_code(session, "A"))
    assert [(row.barcode, row.quantity, row.name) for row in listed] == [
        ("14006381333938", 6, "case"),
        ("24006381333935", 24, "pallet layer"),
    ]

    with transaction(world) as session:
        removed, owner = remove_packaging_barcode(session, "14006381333938")
    assert (removed.barcode, owner.code) == ("14006381333938", "A")
    assert resolve(world, "14006381333938") is None
    with transaction(world) as session, pytest.raises(NotFound, match="no packaging barcode"):
        remove_packaging_barcode(session, "14006381333938")


def test_a_barcode_several_skus_share_as_their_own_is_ambiguous(world: Engine) -> None:
    with transaction(world) as session:
        upsert_sku(session, "C", barcode="4006381333931")
    with Session(world) as session, pytest.raises(InvalidRequest, match=r"several SKUs \(A, C\)"):
        resolve_barcode(session, "4006381333931")


@pytest.mark.parametrize(
    ("barcode", "problem"),
    [
        ("4006381333931", "barcode '4006381333931' is SKU A's own barcode"),
        ("B", "barcode 'B' is a SKU code"),
        ("14006381333938", "barcode '14006381333938' is already the barcode of SKU A's case of 6"),
    ],
    ids=["own barcode", "sku code", "packaging"],
)
def test_a_packaging_barcode_that_already_means_something_is_a_conflict(
    world: Engine, barcode: str, problem: str
) -> None:
    add(world, "A", "14006381333938", 6, "case")
    with pytest.raises(Conflict, match=re.escape(problem)):
        add(world, "C", barcode, 12)
    with Session(world) as session:
        assert packaging_barcodes(session, sku_by_code(session, "C")) == []


def test_a_packaging_barcode_needs_a_code_and_a_quantity(world: Engine) -> None:
    with pytest.raises(InvalidRequest, match="barcode is empty"):
        add(world, "A", " ", 6)
    with pytest.raises(InvalidRequest, match="quantity 0 is not between 1 and"):
        add(world, "A", "123", 0)
    with pytest.raises(InvalidRequest, match="whitespace"):
        add(world, "A", "12 3", 2)


def refused(engine: Engine, problem: str, change: Callable[[Session], object]) -> None:
    """`change` is a Conflict saying `problem`, and its transaction is rolled back."""
    with pytest.raises(Conflict, match=re.escape(problem)), transaction(engine) as session:
        change(session)


def test_a_sku_barcode_or_new_code_that_is_a_packaging_barcode_is_a_conflict(
    world: Engine,
) -> None:
    add(world, "A", "14006381333938", 6, "case")
    clash = "'14006381333938' is already the barcode of SKU A's case of 6 (a scan of it counts 6)"
    add_listing(world, "shop", "NEW-1", title="New", barcode="14006381333938")

    barcode = f"barcode {clash}: one code must mean one thing"
    refused(world, barcode, lambda session: upsert_sku(session, "B", barcode="14006381333938"))
    refused(world, barcode, lambda session: edit_sku(session, "C", barcode=" 14006381333938 "))
    refused(
        world, barcode, lambda session: import_catalog(session, channel_by_name(session, "shop"))
    )
    code = f"SKU code {clash}: one code must mean one thing"
    refused(world, code, lambda session: upsert_sku(session, "14006381333938"))
    refused(world, code, lambda session: edit_sku(session, "C", new_code="14006381333938"))

    with Session(world) as session:
        skus = session.exec(select(Sku.code, Sku.barcode).order_by(col(Sku.code))).all()
    assert [tuple(row) for row in skus] == [
        ("A", "4006381333931"),
        ("B", "0012345678905"),
        ("C", None),
        ("KIT", None),
    ]
    assert resolve(world, "14006381333938") == ("A", 6)


@pytest.mark.parametrize(
    ("column", "meaning"),
    [("barcode", "SKU B's own barcode"), ("code", "the code of SKU 999")],
    ids=["own barcode", "sku code"],
)
def test_a_code_that_means_two_things_is_never_read_as_either(
    world: Engine, column: str, meaning: str
) -> None:
    add(world, "A", "999", 6, "case")
    with transaction(world) as session:  # made before the checks existed
        session.execute(update(Sku).where(col(Sku.code) == "B").values({column: "999"}))

    with Session(world) as session, pytest.raises(InvalidRequest) as ambiguous:
        resolve_barcode(session, "999")

    assert str(ambiguous.value) == (
        f"barcode '999' means two things: the barcode of SKU A's case of 6 and {meaning}; "
        "nothing is counted until one of them changes"
    )
