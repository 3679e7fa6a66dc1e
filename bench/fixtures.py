"""Bulk set-up for measures: catalogues with stock, bound listings, stock changes.

At benchmark sizes (100,000 SKUs, 400,000 listings) the one-row-at-a-time paths
(upsert_sku, the ledger) would take minutes of set-up per round, so these write
the same rows with bulk statements. `change_stock` leaves exactly the state the
ledger leaves for the same change (a movement, the level, the affected listings
dirty through the outbox); tests/unit/test_bench_plan_oversell.py checks that
against `adjust_stock`.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, update
from sqlmodel import col, select

from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Listing, Order, Sku, StockLevel, StockMovement
from omnisync.core.models.tables import table_of
from omnisync.core.outbox import mark_listings_dirty
from omnisync.core.types import MovementKind
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.names import JobName

CHUNK = 10_000
"""Rows per statement: far below the parameter limits of SQLite and PostgreSQL."""

_listings = table_of(Listing)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def insert_catalogue(
    engine: Engine, on_hand: Mapping[str, int], location_id: int
) -> dict[str, int]:
    """SKUs (code -> on hand at `location_id`), each level explained by a receipt movement
    (invariant 1); returns code -> SKU id."""
    now = utcnow()
    codes = list(on_hand)
    with transaction(engine) as session:
        for part in chunks(codes):
            session.execute(insert(Sku), [{"code": code, "created_at": now} for code in part])
        ids: dict[str, int] = dict(session.exec(select(Sku.code, Sku.id)).all())  # type: ignore[arg-type]
        for part in chunks(codes):
            session.execute(
                insert(StockLevel),
                [
                    {
                        "sku_id": ids[code],
                        "location_id": location_id,
                        "on_hand": on_hand[code],
                        "updated_at": now,
                    }
                    for code in part
                ],
            )
            movements = [
                movement_row(ids[code], location_id, on_hand[code], MovementKind.RECEIPT, now)
                for code in part
                if on_hand[code]
            ]
            if movements:
                session.execute(insert(StockMovement), movements)
    return {code: ids[code] for code in codes}


def insert_listings(
    engine: Engine,
    channel_id: int,
    sku_ids: Mapping[str, int],
    acknowledged: Callable[[str], int | None],
    channel_ids: Callable[[str], dict[str, Any]] | None = None,
) -> None:
    """Listings of `channel_id` bound as the listings job binds them (channel SKU = code),
    clean, with the quantity the channel acknowledged for each code."""
    now = utcnow()
    codes = list(sku_ids)
    with transaction(engine) as session:
        for part in chunks(codes):
            session.execute(
                insert(Listing),
                [
                    {
                        "channel_id": channel_id,
                        "sku_id": sku_ids[code],
                        "channel_sku": code,
                        "channel_ids": channel_ids(code) if channel_ids else None,
                        "last_ack_quantity": acknowledged(code),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for code in part
                ],
            )


def change_stock(
    engine: Engine,
    sku_ids: Sequence[int],
    location_id: int,
    delta: int,
    kind: MovementKind = MovementKind.ADJUSTMENT,
) -> None:
    """What the ledger does for a change of `delta` to each SKU at one location (one
    movement, the level, the listings of channels selling from it marked dirty), in bulk.

    The ledger also hands new free stock to waiting oversold lines; there must be none,
    or this would not be the same state."""
    now = utcnow()
    with transaction(engine) as session:
        waiting = session.exec(select(func.count()).where(col(Order.oversold))).one()
        if waiting:
            raise ValueError(f"{waiting} oversold orders wait for stock: use the ledger")
        for part in chunks(sku_ids):
            changed = session.execute(
                update(StockLevel)
                .where(col(StockLevel.sku_id).in_(part), col(StockLevel.location_id) == location_id)
                .values(on_hand=StockLevel.on_hand + delta, updated_at=now)
            )
            if getattr(changed, "rowcount", 0) != len(set(part)):
                raise ValueError("every SKU needs a stock level at the location first")
            session.execute(
                insert(StockMovement),
                [movement_row(sku_id, location_id, delta, kind, now) for sku_id in part],
            )
            mark_listings_dirty(session, part, [location_id])


def acknowledge(engine: Engine, quantities: Sequence[tuple[int, int]]) -> None:
    """(listing id, quantity) pairs: as if the channel acknowledged each quantity.

    One UPDATE per quantity and chunk of listings: row-by-row statements take minutes
    for 400,000 listings on PostgreSQL, and quantities repeat."""
    by_quantity: dict[int, list[int]] = defaultdict(list)
    for listing_id, quantity in quantities:
        by_quantity[quantity].append(listing_id)
    with transaction(engine) as session:
        for quantity, listing_ids in by_quantity.items():
            for part in chunks(listing_ids):
                session.execute(
                    update(_listings)
                    .where(_listings.c.id.in_(part))
                    .values(last_ack_quantity=quantity, dirty=False, dirty_since=None)
                )


@contextmanager
def database_url(backend: str) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="omnisync-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    # The test suite's throwaway-schema helpers; bench runs from the source tree.
    from tests.support.databases import postgres_schema, postgres_schema_url

    with postgres_schema() as schema:
        yield postgres_schema_url(schema)


def movement_row(
    sku_id: int, location_id: int, delta: int, kind: MovementKind, at: Any
) -> dict[str, Any]:
    """A stock movement as a row for a bulk insert (every key, so rows share one shape)."""
    return {
        "sku_id": sku_id,
        "location_id": location_id,
        "delta": delta,
        "kind": kind,
        "reason": "bench set-up",
        "reference": None,
        "at": at,
    }


def timed_stock_run(sync: SyncEngine, channel: str) -> dict[str, Any]:
    """One stock job of `channel` through the engine: its wall time and what it counted."""
    start = time.perf_counter()
    outcome = sync.run(channel, JobName.STOCK)
    return {
        "s": time.perf_counter() - start,
        "status": outcome.status,
        "acknowledged": outcome.counts[RunCount.ACKNOWLEDGED],
        "failed": outcome.counts[RunCount.FAILED],
    }
