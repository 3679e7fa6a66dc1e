"""pull_orders: orders changed since the cursor (minus the lag window), a page per transaction.

Each page is upserted and the cursor advanced in one transaction, so the
cursor never passes an order that is not committed (invariant 3). The start
is closed (>=) and goes back by the lag window, so late updates are read again;
repeats are harmless (the upsert is idempotent) and skipped by key within a run.
"""

from __future__ import annotations

from sqlmodel import Session, select

from core.alerting import quarantine_payload
from core.clock import utcnow
from core.db import transaction
from core.dto import OrderPage
from core.models import Channel, QuarantinedPayload
from core.order_intake import upsert_order
from sync.cursors import advance_cursor, read_cursor
from sync.jobs.context import JobContext

STREAM = "orders"


def pull_orders(ctx: JobContext) -> None:
    with transaction(ctx.engine, read_only=True) as session:
        cursor = read_cursor(session, ctx.channel_id, STREAM)
    since = cursor - ctx.channel.lag if cursor else utcnow() - ctx.channel.backfill
    seen: set[tuple[str, str]] = set()
    for page in ctx.connector.fetch_orders(since):
        with transaction(ctx.engine) as session:
            _commit_page(session, ctx, page, seen)
        ctx.counts["pages"] += 1
        ctx.checkpoint()  # after the commit: a shutdown finishes the page in flight


def _commit_page(
    session: Session, ctx: JobContext, page: OrderPage, seen: set[tuple[str, str]]
) -> None:
    channel = session.get(Channel, ctx.channel_id)
    assert channel is not None
    for order in page.orders:
        key = (order.external_id, order.updated_at.isoformat())
        ctx.counts["fetched"] += 1
        if key in seen:
            ctx.counts["duplicates"] += 1
            continue
        seen.add(key)
        result = upsert_order(session, channel, order)
        if result.created:
            ctx.counts["created"] += 1
        elif result.applied:
            ctx.counts["updated"] += 1
        else:
            ctx.counts["stale"] += 1
        if result.short_units:
            ctx.counts["oversold_units"] += result.short_units
    for rejected in page.rejected:
        ctx.counts["fetched"] += 1
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
        ctx.counts["quarantined"] += 1
    if page.cursor is not None:
        advance_cursor(session, ctx.channel_id, STREAM, page.cursor)


def _already_quarantined(session: Session, channel_id: int, kind: str, raw: str) -> bool:
    """The lag window reads a bad payload again; keep one copy while it is unresolved."""
    return (
        session.exec(
            select(QuarantinedPayload.id).where(
                QuarantinedPayload.channel_id == channel_id,
                QuarantinedPayload.kind == kind,
                QuarantinedPayload.raw == raw,
                QuarantinedPayload.resolved_at == None,  # noqa: E711
            )
        ).first()
        is not None
    )
