"""pull_orders: orders changed since the cursor (minus the lag window), pages committed
with the cursor they complete.

Pages are upserted and the cursor advanced in one transaction, so the cursor
never passes an order that is not committed (invariant 3). Where the read starts
(the lag window, the closed start) and which orders it takes (each key once per
run) are the rules of sync/incremental.py.

Pages that come back to back (a backlog: Shopify serves 10 orders a page) are
committed together, up to BATCH_ORDERS orders or until BATCH_SECONDS have passed
since the first of them arrived: the work done once per transaction is what an
import of small pages pays for. The last page of a read is committed as soon as
it arrives (connectors know a page is the last without another call); otherwise
a page waits at most for the fetch of the next. Pages read before a failure are
committed before the failure is raised.

The first run of a channel takes the channel over (core/channels.py
take_over_orders) at its start, before it reads anything: what its backfill
finds already shipped left before then, and is stored without moving stock
(core/order_intake.py). A run that created or updated orders refreshes the
channel's `unlinked_listings` alert (core/unlinked.py) once its pages are in.

On a channel that hears its orders by events (sync/order_events.py), polling is the
backstop: the order changes it takes in that were news and older than the channel's
grace are noted as unheard, and the run ends by refreshing `order_events_missing`
(core/order_events.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from omnisync.core.alerting import quarantine_payload
from omnisync.core.channels import take_over_orders
from omnisync.core.db import exists_where, transaction
from omnisync.core.dto import OrderPage
from omnisync.core.models import Channel, QuarantinedPayload
from omnisync.core.order_events import note_unheard, refresh_unheard_alert
from omnisync.core.order_intake import intake_orders
from omnisync.core.unlinked import refresh_unlinked_alert
from omnisync.sync.cursors import CursorStream, advance_cursor, read_cursor
from omnisync.sync.incremental import Incremental
from omnisync.sync.jobs.context import JobContext, LeaseLost
from omnisync.sync.jobs.counts import RunCount

BATCH_ORDERS = 100
BATCH_SECONDS = 0.5


@dataclass
class _Batch:
    pages: list[OrderPage]
    failure: Exception | None = None
    """What the connector raised after these pages (raised once they are committed)."""
    last: bool = False


def pull_orders(ctx: JobContext) -> None:
    started = ctx.now()
    with transaction(ctx.engine, read_only=True) as session:
        cursor = read_cursor(session, ctx.channel_id, CursorStream.ORDERS)
        taken_over = _channel(session, ctx).live_since is not None
    if not taken_over:
        with transaction(ctx.engine) as session:
            take_over_orders(session, _channel(session, ctx), started)
    read = Incremental.from_cursor(
        cursor, lag=ctx.channel.lag, backfill=ctx.channel.backfill, now=started
    )
    pages = iter(ctx.connector.fetch_orders(read.start))
    while True:
        batch = _gather(ctx, pages)
        if batch.pages:
            if ctx.lease_lost.is_set():
                raise LeaseLost(f"{ctx.name}: the lease was lost")
            with transaction(ctx.engine) as session:
                _commit_pages(session, ctx, batch.pages, read)
            ctx.counts[RunCount.PAGES] += len(batch.pages)
        if batch.failure is not None:
            raise batch.failure
        if batch.last:
            _refresh_unlinked(ctx)
            _refresh_unheard(ctx)
            return
        ctx.checkpoint()  # after the commit: a shutdown finishes the pages in flight


def _gather(ctx: JobContext, pages: Iterator[OrderPage]) -> _Batch:
    """The next page, and the pages after it while they keep coming (see above)."""
    batch = _Batch([])
    started = time.monotonic()
    orders = 0
    while True:
        try:
            page = next(pages)
        except StopIteration:
            batch.last = True
            return batch
        except Exception as error:  # raised by pull_orders once the pages before it are in
            batch.failure = error
            return batch
        batch.pages.append(page)
        orders += len(page.orders) + len(page.rejected)
        if (
            orders >= BATCH_ORDERS
            or time.monotonic() - started >= BATCH_SECONDS
            or ctx.stop.is_set()
            or ctx.lease_lost.is_set()
        ):
            return batch


def _channel(session: Session, ctx: JobContext) -> Channel:
    channel = session.get(Channel, ctx.channel_id)
    assert channel is not None
    return channel


def _refresh_unlinked(ctx: JobContext) -> None:
    """Orders changed: lines bound to no SKU may have come or stopped mattering."""
    if ctx.counts[RunCount.CREATED] or ctx.counts[RunCount.UPDATED]:
        with transaction(ctx.engine) as session:
            refresh_unlinked_alert(session, ctx.channel_id, ctx.unlinked_after)


def _refresh_unheard(ctx: JobContext) -> None:
    """A channel that hears events: did this poll find what they should have brought?"""
    if ctx.connector.event_queue() is not None:
        with transaction(ctx.engine) as session:
            refresh_unheard_alert(
                session, ctx.channel_id, event_words=ctx.connector.order_event_name
            )


def _commit_pages(
    session: Session, ctx: JobContext, pages: list[OrderPage], read: Incremental
) -> None:
    channel = _channel(session, ctx)
    fresh = []
    for order in (order for page in pages for order in page.orders):
        ctx.counts[RunCount.FETCHED] += 1
        if not read.take(order.external_id, order.updated_at):
            ctx.counts[RunCount.DUPLICATES] += 1
            continue
        fresh.append(order)
    unheard: list[tuple[str, datetime]] = []
    hears_events = ctx.connector.event_queue() is not None
    late = ctx.now() - ctx.connector.event_late_after()
    for incoming, result in zip(fresh, intake_orders(session, channel, fresh), strict=True):
        if hears_events and result.newer and incoming.updated_at <= late:
            unheard.append((incoming.external_id, incoming.updated_at))
        if result.created:
            ctx.counts[RunCount.CREATED] += 1
        elif result.applied:
            ctx.counts[RunCount.UPDATED] += 1
        else:
            ctx.counts[RunCount.STALE] += 1
        if result.short_units:
            ctx.counts[RunCount.OVERSOLD_UNITS] += result.short_units
        if result.shipped_before_cut_over:
            ctx.counts[RunCount.SHIPPED_BEFORE_CUT_OVER] += result.shipped_before_cut_over
    for rejected in (rejected for page in pages for rejected in page.rejected):
        ctx.counts[RunCount.FETCHED] += 1
        if _already_quarantined(session, ctx.channel_id, rejected.kind, rejected.raw):
            continue
        quarantine_payload(
            session,
            ctx.channel_id,
            rejected.kind,
            rejected.raw,
            rejected.reason,
            external_id=rejected.external_id,
        )
        ctx.counts[RunCount.QUARANTINED] += 1
    note_unheard(session, ctx.channel_id, unheard)
    end = read.end_of(page.cursor for page in pages)
    if end is not None:
        advance_cursor(session, ctx.channel_id, CursorStream.ORDERS, end)


def _already_quarantined(session: Session, channel_id: int, kind: str, raw: str) -> bool:
    """The lag window reads a bad payload again; keep one copy. One an operator dismissed
    stays dismissed: only a changed payload (the channel updated the order) is kept anew."""
    return exists_where(
        session,
        QuarantinedPayload.channel_id == channel_id,
        QuarantinedPayload.kind == kind,
        QuarantinedPayload.raw == raw,
    )
