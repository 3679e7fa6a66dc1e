"""Bins: the shelf a SKU is kept on at each location, and where that shelf comes on the
picker's walk.

A SKU has at most one bin per location (`sku_bins`, unique per SKU and location):
setting it again replaces the bin and the sequence, so re-importing a file updates
every row it names. Only stocked SKUs have bins: a bundle is picked as its
components, and a channel-managed location (Amazon FBA) has no shelf of ours.

The walk (`walk_key`): lower `sequence` first, bins without one after every numbered
bin, then by bin name, then by SKU code. Pick lists sort their rows with it; a bin's
name alone does not say where it is (A-10 may come before A-2 on the floor).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from omnisync.core.catalog import bundle_recipes, location_by_code, sku_by_code
from omnisync.core.clock import clock_of
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Location, Sku, SkuBin
from omnisync.core.types import LocationKind

BIN_MAX_LENGTH = 64
"""The column's length."""
SEQUENCE_MAX = 1_000_000_000
"""A picking sequence is a whole number from 0 to this."""


def walk_key(
    sequence: int | None, bin_name: str | None, sku: str
) -> tuple[bool, int, bool, str, str]:
    """Where a SKU's bin comes on the picker's walk: by sequence (None last), then bin
    (None last), then SKU code."""
    return (sequence is None, sequence or 0, bin_name is None, bin_name or "", sku)


def stocked_sku(session: Session, code: str) -> Sku:
    """The SKU named `code`, if it is one that is kept on a shelf (not a bundle)."""
    if not code.strip():
        raise InvalidRequest("the SKU is empty")
    return _kept_on_a_shelf(session, sku_by_code(session, code.strip()))


def _kept_on_a_shelf(session: Session, sku: Sku) -> Sku:
    assert sku.id is not None
    if bundle_recipes(session, [sku.id]):
        raise InvalidRequest(
            f"{sku.code!r} is a bundle: it is picked as its components, give them bins"
        )
    return sku


def shelf_location(session: Session, code: str) -> Location:
    """The location named `code`, if it is one of the hub's own (not channel-managed)."""
    return _with_shelves(location_by_code(session, code.strip()))


def _with_shelves(location: Location) -> Location:
    if location.kind == LocationKind.CHANNEL_MANAGED:
        raise InvalidRequest(
            f"location {location.code!r} is managed by a channel: the hub picks nothing there"
        )
    return location


def valid_bin(text: str) -> str:
    """`text` as a bin name: not empty, at most BIN_MAX_LENGTH characters, no control
    characters."""
    name = text.strip()
    if not name:
        raise InvalidRequest("bin is empty")
    if len(name) > BIN_MAX_LENGTH:
        raise InvalidRequest(
            f"bin {name[:20]!r}... is {len(name)} characters long (at most {BIN_MAX_LENGTH})"
        )
    if any(not character.isprintable() for character in name):
        raise InvalidRequest(f"bin {name!r} has a control character")
    return name


def valid_sequence(sequence: int | None) -> int | None:
    if sequence is not None and not 0 <= sequence <= SEQUENCE_MAX:
        raise InvalidRequest(f"sequence {sequence} is not between 0 and {SEQUENCE_MAX}")
    return sequence


def set_bin(
    session: Session, sku: Sku, location: Location, bin_name: str, sequence: int | None
) -> SkuBin:
    """Put `sku` in `bin_name` at `location` (replacing the bin it had there), at
    `sequence` on the walk (None: after the numbered bins)."""
    assert sku.id is not None
    assert location.id is not None
    _kept_on_a_shelf(session, sku)
    _with_shelves(location)
    name, sequence = valid_bin(bin_name), valid_sequence(sequence)
    row = session.exec(
        select(SkuBin)
        .where(SkuBin.sku_id == sku.id, SkuBin.location_id == location.id)
        .with_for_update()
    ).first()
    if row is None:
        row = SkuBin(sku_id=sku.id, location_id=location.id, bin=name)
    row.bin, row.sequence = name, sequence
    row.updated_at = clock_of(session).now()
    session.add(row)
    session.flush()
    return row


def bins_at(session: Session, location_id: int, sku_ids: Iterable[int]) -> dict[int, SkuBin]:
    """The bins of `sku_ids` at one location, by SKU id (a SKU without one is absent)."""
    wanted = sorted(set(sku_ids))
    if not wanted:
        return {}
    rows = session.exec(
        select(SkuBin).where(SkuBin.location_id == location_id, col(SkuBin.sku_id).in_(wanted))
    )
    return {row.sku_id: row for row in rows}


def bins_of(session: Session, sku_ids: Iterable[int]) -> dict[int, list[SkuBin]]:
    """Every bin of `sku_ids`, by SKU id, in location order."""
    wanted = sorted(set(sku_ids))
    found: dict[int, list[SkuBin]] = {}
    if not wanted:
        return found
    for row in session.exec(
        select(SkuBin)
        .where(col(SkuBin.sku_id).in_(wanted))
        .order_by(col(SkuBin.location_id), col(SkuBin.id))
    ):
        found.setdefault(row.sku_id, []).append(row)
    return found
