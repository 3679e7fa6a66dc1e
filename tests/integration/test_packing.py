"""Scan-verified packing (core/packing.py), on SQLite and PostgreSQL: a scan counts only
what the order still needs, a refused one records nothing, the order is packed when
every open unit is scanned, and a shipment claims the scans of the units it ships, no
other (core/shipping.py), `packed_at` following what the scans left (core/parcels.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.errors import Conflict, InvalidRequest
from omnisync.core.holds import hold_order
from omnisync.core.models import PackScan
from omnisync.core.packaging import add_packaging_barcode
from omnisync.core.packing import PackingState, ScanOutcome, ScanRefused, packing_state, reset, scan
from omnisync.core.shipping import record_shipment
from tests.support.world import (
    build_world,
    ingest,
    level,
    list_sku,
    make_order,
    order_row,
    set_count,
    snapshot,
)

BARCODES = {"A": "400000000001", "B": "400000000002", "C": "400000000003", "KIT": "400000000009"}
CASE_OF_6 = "1400000000016"
INNER_OF_2 = "2400000000012"


@pytest.fixture
def world(engine: Engine) -> Engine:
    """A, B, C and KIT (1 A + 2 C) with barcodes; A also in a case of 6 and an inner of 2;
    stock at main; every SKU listed on "shop"."""
    build_world(engine, skus=("A", "B", "C"), bundles={"KIT": {"A": 1, "C": 2}})
    with transaction(engine) as session:
        for code, barcode in BARCODES.items():
            upsert_sku(session, code, barcode=barcode)
        a = sku_by_code(session, "A")
        add_packaging_barcode(session, a, CASE_OF_6, 6, "case")
        add_packaging_barcode(session, a, INNER_OF_2, 2, "inner")
    for code in ("A", "B", "C"):
        set_count(engine, code, "main", 20)
    list_sku(engine, "shop", "A", "B", "C", "KIT")
    return engine


def scan_code(
    engine: Engine, external_id: str, code: str, location: str | None = None
) -> ScanOutcome:
    with transaction(engine) as session:
        return scan(
            session, order_row(engine, "shop", external_id), code, actor="test", location=location
        )


def refusal(
    engine: Engine, external_id: str, code: str, location: str | None = None
) -> ScanRefused:
    """The refusal of the scan; the whole database is as it was."""
    before = snapshot(engine)
    with pytest.raises(ScanRefused) as refused:
        scan_code(engine, external_id, code, location)
    assert snapshot(engine) == before
    return refused.value


def state(engine: Engine, external_id: str, location: str | None = None) -> PackingState:
    with Session(engine) as session:
        return packing_state(session, order_row(engine, "shop", external_id), location=location)


def progress(packing: PackingState) -> dict[str, tuple[int, int]]:
    """Line id -> (needed, scanned)."""
    return {line.external_line_id: (line.needed, line.scanned) for line in packing.lines}


def scans(engine: Engine) -> list[tuple[str, int, int | None]]:
    """(barcode, units, shipment) of every scan, oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(PackScan).order_by(col(PackScan.id)))
        return [(row.barcode, row.units, row.shipment_id) for row in rows]


def test_an_order_of_two_a_and_one_b_is_packed_scan_by_scan(world: Engine) -> None:
    ingest(world, "shop", make_order("1", [("A", 2), ("B", 1)]))

    first = scan_code(world, "1", BARCODES["B"])
    assert (first.sku, first.units, first.scanned, first.needed) == ("B", 1, 1, 1)
    assert not first.packed_now
    for _ in range(2):
        refused = refusal(world, "1", BARCODES["B"])
        assert str(refused) == "order 1 needs 1 of B; 1 scanned already"
        assert progress(refused.state) == {"1-0": (2, 0), "1-1": (1, 1)}
    case = refusal(world, "1", CASE_OF_6)
    assert str(case) == "case of 6 of A, but order 1 needs only 2"

    assert scan_code(world, "1", BARCODES["A"]).scanned == 1
    assert order_row(world, "shop", "1").packed_at is None
    last = scan_code(world, "1", "A")  # the SKU's code counts as its own barcode
    assert (last.scanned, last.needed, last.packed_now) == (2, 2, True)
    assert last.state.packed
    assert last.state.scanned_lines == {"1-0": 2, "1-1": 1}
    assert order_row(world, "shop", "1").packed_at is not None
    assert scans(world) == [(BARCODES["B"], 1, None), (BARCODES["A"], 1, None), ("A", 1, None)]

    over = refusal(world, "1", "A")
    assert str(over) == "order 1 needs 2 of A; 2 scanned already"


def test_a_wrong_item_or_an_unknown_code_is_refused_and_nothing_counted(world: Engine) -> None:
    ingest(world, "shop", make_order("2", [("A", 2)]))
    assert str(refusal(world, "2", BARCODES["C"])) == "C is not in order 2"
    assert str(refusal(world, "2", "999")) == "'999' is not the barcode of any SKU or packaging"
    assert str(refusal(world, "2", "  ")) == "an empty scan: nothing counted"
    assert scans(world) == []
    assert progress(state(world, "2")) == {"2-0": (2, 0)}


def test_a_packaging_counts_its_quantity_and_must_fit(world: Engine) -> None:
    ingest(world, "shop", make_order("3", [("A", 2)]))
    scan_code(world, "3", BARCODES["A"])
    refused = refusal(world, "3", INNER_OF_2)
    assert str(refused) == "inner of 2 of A, but order 3 needs only 1 more (1 of 2 scanned)"
    assert reset_order(world, "3").lines[0].scanned == 0
    inner = scan_code(world, "3", INNER_OF_2)
    assert (inner.units, inner.scanned, inner.packed_now) == (2, 2, True)
    assert scans(world) == [(INNER_OF_2, 2, None)]


def test_a_sku_on_two_lines_fills_them_in_line_order(world: Engine) -> None:
    ingest(world, "shop", make_order("4", [("A", 1), ("B", 1), ("A", 2)]))
    inner = scan_code(world, "4", INNER_OF_2)
    assert (inner.scanned, inner.needed) == (2, 3)
    assert progress(inner.state) == {"4-0": (1, 1), "4-1": (1, 0), "4-2": (2, 1)}
    assert scans(world) == [(INNER_OF_2, 1, None), (INNER_OF_2, 1, None)]


def test_a_bundle_is_packed_by_its_own_barcode(world: Engine) -> None:
    ingest(world, "shop", make_order("5", [("KIT", 1), ("B", 1)]))
    component = refusal(world, "5", BARCODES["C"])
    assert str(component) == (
        "C is not in order 5: it is part of bundle KIT; scan the bundle's barcode"
    )
    scan_code(world, "5", BARCODES["KIT"])
    assert scan_code(world, "5", BARCODES["B"]).packed_now


def test_an_order_that_cannot_ship_refuses_scans(world: Engine) -> None:
    for external_id in ("6", "7", "8"):
        ingest(world, "shop", make_order(external_id, [("A", 1)]))
    ingest(world, "shop", make_order("9", [("A", 1)], fulfilled_by_channel=True))
    held, cancelled = order_row(world, "shop", "6"), order_row(world, "shop", "7")
    with transaction(world) as session:
        hold_order(session, held, "fraud review")
        cancel_in_hub(session, cancelled, None)
    ship(world, "8")
    expected: Mapping[str, tuple[type[Exception], str]] = {
        "6": (Conflict, "order 6 is on hold (fraud review)"),
        "7": (InvalidRequest, "order 7 is cancelled: it cannot be shipped"),
        "8": (InvalidRequest, "order 8 has nothing left to pack"),
        "9": (InvalidRequest, "order 9 is fulfilled by the channel"),
    }
    for external_id, (error, message) in expected.items():
        with pytest.raises(error) as refused:
            scan_code(world, external_id, BARCODES["A"])
        assert not isinstance(refused.value, ScanRefused)
        assert str(refused.value).startswith(message)
    assert scans(world) == []


def test_reset_drops_the_parcel_and_its_packed_mark(world: Engine) -> None:
    ingest(world, "shop", make_order("10", [("A", 1)]))
    assert scan_code(world, "10", BARCODES["A"]).packed_now
    after = reset_order(world, "10")
    assert progress(after) == {"10-0": (1, 0)}
    assert not after.packed
    assert order_row(world, "shop", "10").packed_at is None
    assert scans(world) == []
    assert scan_code(world, "10", BARCODES["A"]).packed_now


def test_the_shipment_claims_the_scans_and_the_next_parcel_starts_empty(world: Engine) -> None:
    ingest(world, "shop", make_order("11", [("A", 3), ("B", 1)]))
    scan_code(world, "11", INNER_OF_2)
    scan_code(world, "11", BARCODES["B"])
    packed = state(world, "11")
    assert not packed.packed
    assert packed.scanned_lines == {"11-0": 2, "11-1": 1}

    shipment_id = ship(world, "11", packed.scanned_lines)

    assert scans(world) == [(INNER_OF_2, 2, shipment_id), (BARCODES["B"], 1, shipment_id)]
    assert order_row(world, "shop", "11").packed_at is None
    assert level(world, "A", "main") == (18, 1)
    assert level(world, "B", "main") == (19, 0)
    after = state(world, "11")
    assert progress(after) == {"11-0": (1, 0)}
    assert str(refusal(world, "11", BARCODES["B"])) == "B is not in order 11"
    assert scan_code(world, "11", BARCODES["A"]).packed_now
    assert reset_order(world, "11").lines[0].scanned == 0
    assert [row[2] for row in scans(world)] == [shipment_id, shipment_id]  # shipped scans stay


def test_a_packed_order_shipped_whole_is_no_longer_packed(world: Engine) -> None:
    ingest(world, "shop", make_order("12", [("A", 1)]))
    scan_code(world, "12", BARCODES["A"])
    assert order_row(world, "shop", "12").packed_at is not None
    shipment_id = ship(world, "12")
    assert order_row(world, "shop", "12").packed_at is None
    assert scans(world) == [(BARCODES["A"], 1, shipment_id)]
    assert state(world, "12").lines == ()


def test_a_split_order_is_packed_per_location(engine: Engine) -> None:
    build_world(engine, skus=("A", "B"))
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code, barcode=BARCODES[code])
    set_count(engine, "A", "main", 5)
    set_count(engine, "B", "backup", 5)
    list_sku(engine, "shop", "A", "B")
    ingest(engine, "shop", make_order("20", [("A", 2), ("B", 1)]))  # A at main, B at backup

    assert progress(state(engine, "20", "main")) == {"20-0": (2, 0)}
    assert progress(state(engine, "20", "backup")) == {"20-1": (1, 0)}
    elsewhere = refusal(engine, "20", BARCODES["B"], "main")
    assert str(elsewhere) == "B is not in order 20's parcel at main: it is not reserved there"
    scan_code(engine, "20", BARCODES["A"], "main")
    done = scan_code(engine, "20", BARCODES["A"], "main")
    assert done.packed_now
    assert done.state.location == "main"
    assert done.state.scanned_lines == {"20-0": 2}
    assert not state(engine, "20").packed  # the whole order still needs B

    scan_code(engine, "20", BARCODES["B"], "backup")
    with transaction(engine) as session:
        at_main = reset(session, order_row(engine, "shop", "20"), location="main")
    assert progress(at_main) == {"20-0": (2, 0)}
    assert progress(state(engine, "20")) == {"20-0": (2, 0), "20-1": (1, 1)}  # B's scan stays


def split_world(engine: Engine) -> None:
    """A and B with barcodes, A at main and B at backup, listed on "shop"."""
    build_world(engine, skus=("A", "B"))
    with transaction(engine) as session:
        for code in ("A", "B"):
            upsert_sku(session, code, barcode=BARCODES[code])
    set_count(engine, "A", "main", 5)
    set_count(engine, "B", "backup", 5)
    list_sku(engine, "shop", "A", "B")


def packed_at(engine: Engine, external_id: str) -> datetime | None:
    return order_row(engine, "shop", external_id).packed_at


def test_shipping_one_locations_parcel_leaves_the_other_locations_scans(engine: Engine) -> None:
    split_world(engine)
    ingest(engine, "shop", make_order("21", [("A", 2), ("B", 1)]))  # A at main, B at backup
    scan_code(engine, "21", BARCODES["A"], "main")  # 1 of 2 A: main's parcel is not packed
    assert scan_code(engine, "21", BARCODES["B"], "backup").packed_now
    assert packed_at(engine, "21") is not None

    shipment_id = ship(engine, "21", {"21-1": 1})  # backup's parcel leaves

    assert scans(engine) == [(BARCODES["A"], 1, None), (BARCODES["B"], 1, shipment_id)]
    assert progress(state(engine, "21", "main")) == {"21-0": (2, 1)}  # the A stays counted
    assert packed_at(engine, "21") is None  # no parcel is packed now
    done = scan_code(engine, "21", BARCODES["A"], "main")
    assert (done.scanned, done.needed, done.packed_now) == (2, 2, True)
    assert packed_at(engine, "21") is not None


def test_packed_at_stays_while_another_parcel_is_packed(engine: Engine) -> None:
    split_world(engine)
    ingest(engine, "shop", make_order("22", [("A", 1), ("B", 2)]))  # A at main, B at backup
    assert scan_code(engine, "22", BARCODES["A"], "main").packed_now
    since = packed_at(engine, "22")
    assert since is not None
    at_backup = scan_code(engine, "22", BARCODES["B"], "backup")  # backup: 1 of 2
    assert not at_backup.state.packed
    assert at_backup.state.packed_at is None  # backup's parcel is not packed ...
    assert packed_at(engine, "22") == since  # ... main's still is
    assert state(engine, "22", "main").packed_at == since

    with transaction(engine) as session:
        reset(session, order_row(engine, "shop", "22"), location="backup")
    assert packed_at(engine, "22") == since
    with transaction(engine) as session:
        reset(session, order_row(engine, "shop", "22"), location="main")
    assert packed_at(engine, "22") is None

    assert scan_code(engine, "22", BARCODES["A"], "main").packed_now
    scan_code(engine, "22", BARCODES["B"], "backup")
    assert scan_code(engine, "22", BARCODES["B"], "backup").packed_now
    ship(engine, "22", {"22-0": 1})  # main's parcel leaves; backup's is packed still
    assert packed_at(engine, "22") is not None
    assert state(engine, "22", "backup").packed


def test_a_shipment_of_fewer_units_than_a_scan_counted_takes_only_those(world: Engine) -> None:
    ingest(world, "shop", make_order("23", [("A", 3), ("B", 1)]))
    scan_code(world, "23", INNER_OF_2)  # one scan of 2 A
    scan_code(world, "23", BARCODES["B"])

    shipment_id = ship(world, "23", {"23-0": 1})  # 1 A leaves, by hand

    assert scans(world) == [  # the scan of 2 split: its shipped unit is a row of its own
        (INNER_OF_2, 1, None),
        (BARCODES["B"], 1, None),
        (INNER_OF_2, 1, shipment_id),
    ]
    assert progress(state(world, "23")) == {"23-0": (2, 1), "23-1": (1, 1)}
    assert scan_code(world, "23", BARCODES["A"]).packed_now


def reset_order(engine: Engine, external_id: str) -> PackingState:
    with transaction(engine) as session:
        return reset(session, order_row(engine, "shop", external_id))


def ship(engine: Engine, external_id: str, lines: Mapping[str, int] | None = None) -> int:
    with transaction(engine) as session:
        shipment = record_shipment(
            session,
            order_row(engine, "shop", external_id),
            lines,
            carrier="ups",
            tracking_number=f"1Z{external_id}",
        )
        assert shipment.id is not None
        return shipment.id
