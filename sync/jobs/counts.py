"""The counters a job run keeps (`JobContext.counts`, stored in `sync_runs.counts`).

The names are part of what users read: the JSON of `omnisync sync --json` and
`/api/v1/runs`, the `result` label of omnisync_stock_pushes_total (hub/metrics.py)
and the benchmarks. A StrEnum keeps each value the very string stored and shown,
while a misspelt key no longer counts silently into a counter nobody reads.
"""

from __future__ import annotations

from enum import StrEnum


class RunCount(StrEnum):
    # read by every pulling job
    FETCHED = "fetched"
    """Items the channel returned (orders, rejected payloads, listings)."""
    # orders
    PAGES = "pages"
    DUPLICATES = "duplicates"
    """Orders read again within the run (the lag window), skipped by key."""
    CREATED = "created"
    UPDATED = "updated"
    STALE = "stale"
    """Orders older than the version the hub has."""
    OVERSOLD_UNITS = "oversold_units"
    SHIPPED_BEFORE_CUT_OVER = "shipped_before_cut_over"
    QUARANTINED = "quarantined"
    # listings
    WITHOUT_SKU = "without_sku"
    UNKNOWN_SKU = "unknown_sku"
    DRIFTED = "drifted"
    RENAMED = "renamed"
    NEW = "new"
    BOUND = "bound"
    LINES_MAPPED = "lines_mapped"
    FORGOTTEN = "forgotten"
    # stock and reconcile
    UNCHANGED = "unchanged"
    ACKNOWLEDGED = "acknowledged"
    """Quantities the channel took."""
    FAILED = "failed"
    """Items the channel refused (stock, reconcile, fulfilments): the run is partial."""
    HELD = "held"
    """Listings held back within the channel's daily revision limit (still dirty)."""
    UNTRACKED = "untracked"
    """Listings whose stock the channel does not count (WooCommerce's manage_stock off):
    reported by the listings job, never pushed."""
    # fulfilments
    PUSHED = "pushed"
    # tracking
    TRACKED = "tracked"
    EVENTS = "events"
    DELIVERED = "delivered"
    ORDERS_DELIVERED = "orders_delivered"
    EXCEPTIONS = "exceptions"
    UNKNOWN = "unknown"
