"""push_stock and reconcile: tell each channel what it may sell.

push_stock takes the dirty listings that are due, computes available to sell,
drops those equal to what the channel last acknowledged, and pushes the rest
in the connector's batch size, sold-out listings first. A listing's dirty flag
is cleared only if no stock change touched it since it was read (its
change_seq), so a sale during a push is never lost (invariant 6). An item the
channel refuses keeps its error and backs off; the others go on.

reconcile pushes every bound listing, dirty or not: the backstop for drift. A listing whose
stock the channel does not count (WooCommerce's manage_stock off) is never pushed: its
dirty flag is cleared and the listings job reports it.
plan_stock_push is the reading half of both, callable alone (b2_plan times it).

A channel with a daily revision limit per listing (eBay) spends it through
sync/jobs/revision_budget.py: each listing's pushes are counted per day, coalesced as
the count nears the limit, and held (dirty, never refused) at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Date, Engine, bindparam, case, func, or_, update
from sqlmodel import Session, col, select

from omnisync.connectors.base import PermanentError
from omnisync.core.availability import available_to_sell
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.dto import PushResult, StockUpdate
from omnisync.core.models import Channel, Listing
from omnisync.core.models.tables import table_of
from omnisync.core.revision_cap import raise_revision_cap_alert
from omnisync.core.types import UTCDateTime
from omnisync.sync.jobs.backoff import item_backoff
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.revision_budget import Decision, RevisionBudget

_listings = table_of(Listing)
_c = _listings.c


def push_stock(ctx: JobContext) -> None:
    _push(ctx, everything=False)


def reconcile(ctx: JobContext) -> None:
    _push(ctx, everything=True)


AVAILABILITY_CHUNK = 10_000
"""SKUs per availability query: IN lists stay far below the drivers' parameter limits
(PostgreSQL takes at most 65,535 per statement)."""


@dataclass
class StockPlan:
    """What a push will send: listings with the quantity to set, in push order, and the
    dirty listings whose quantity the channel already acknowledged."""

    push: list[tuple[Listing, int]] = field(default_factory=list)
    unchanged: list[Listing] = field(default_factory=list)
    untracked: list[Listing] = field(default_factory=list)
    """Listings whose stock the channel does not count (Listing.untracked_stock): their
    dirty flag is cleared and nothing is sent."""


def plan_stock_push(
    engine: Engine, channel_id: int, *, everything: bool, now: datetime | None = None
) -> StockPlan:
    """Read the due dirty listings (every bound one with `everything`), compute available
    to sell, and diff against what the channel acknowledged. Reads only. `now` (the
    engine's clock by default) says which listings are due."""
    with transaction(engine, read_only=True) as session:
        query = select(Listing).where(
            Listing.channel_id == channel_id, col(Listing.sku_id).is_not(None)
        )
        if not everything:
            now = now or clock_of(session).now()
            query = query.where(
                col(Listing.dirty),
                or_(col(Listing.next_attempt_at).is_(None), col(Listing.next_attempt_at) <= now),
            )
        # Listings (with their change_seq) are read before the stock they depend on:
        # a change committed in between re-dirties them, and the push is repeated.
        listings = list(session.exec(query))
        channel = session.get(Channel, channel_id)
        assert channel is not None
        available = _available_in_chunks(
            session, channel, {listing.sku_id for listing in listings if listing.sku_id}
        )
    plan = StockPlan()
    for listing in listings:
        quantity = available[listing.sku_id or 0]
        if listing.untracked_stock:
            plan.untracked.append(listing)
        elif not everything and quantity == listing.last_ack_quantity:
            plan.unchanged.append(listing)
        else:
            plan.push.append((listing, quantity))
    # Sold-out first, then decreases: those are the ones that prevent overselling.
    plan.push.sort(key=lambda item: (item[1] != 0, item[1] - (item[0].last_ack_quantity or 0)))
    return plan


def _available_in_chunks(session: Session, channel: Channel, sku_ids: set[int]) -> dict[int, int]:
    ordered = sorted(sku_ids)
    available: dict[int, int] = {}
    for first in range(0, len(ordered), AVAILABILITY_CHUNK):
        chunk = ordered[first : first + AVAILABILITY_CHUNK]
        available.update(available_to_sell(session, channel, chunk))
    return available


def _push(ctx: JobContext, *, everything: bool) -> None:
    planned = plan_stock_push(ctx.engine, ctx.channel_id, everything=everything, now=ctx.now())
    plan, unchanged = planned.push, planned.unchanged
    ctx.counts[RunCount.UNCHANGED] += len(unchanged)
    ctx.counts[RunCount.UNTRACKED] += len(planned.untracked)
    _clear_unchanged(ctx, unchanged + planned.untracked)
    budget = _budget(ctx)
    notes: dict[int, str | None] = {}
    if budget is not None:
        plan, notes = _within_budget(ctx, budget, plan)
    size = max(ctx.connector.stock_batch_size, 1)
    for first in range(0, len(plan), size):
        ctx.checkpoint()
        batch = plan[first : first + size]
        updates = [
            StockUpdate(
                channel_sku=listing.channel_sku,
                quantity=quantity,
                channel_ids=listing.channel_ids or {},
                last_acknowledged=listing.last_ack_quantity,
            )
            for listing, quantity in batch
        ]
        try:
            results = ctx.connector.push_stock(updates)
        except PermanentError as error:
            results = [PushResult(key=u.channel_sku, ok=False, error=str(error)) for u in updates]
        _record(ctx, batch, results)
        if budget is not None:
            _count_revisions(ctx, budget, batch, results, notes)


def _budget(ctx: JobContext) -> RevisionBudget | None:
    limit = type(ctx.connector).daily_revision_limit
    return RevisionBudget(limit) if limit else None


def _within_budget(
    ctx: JobContext,
    budget: RevisionBudget,
    plan: list[tuple[Listing, int]],
) -> tuple[list[tuple[Listing, int]], dict[int, str | None]]:
    """The planned pushes the listings' daily revisions allow now, with the note each
    listing's state will carry; the others are held (dirty stays) with theirs, written
    only where it changed (a held listing is decided again on every run)."""
    now = ctx.now()
    going: list[tuple[Listing, int]] = []
    notes: dict[int, str | None] = {}
    held: list[dict[str, object]] = []
    for listing, quantity in plan:
        assert listing.id is not None
        decision = budget.decide(listing, quantity, now)
        if decision.push:
            going.append((listing, quantity))
            notes[listing.id] = decision.note
            continue
        ctx.counts[RunCount.HELD] += 1
        if (decision.hold_until, decision.note) != (listing.held_until, listing.push_note):
            held.append(_held_row(listing.id, decision))
    _hold(ctx, held)
    return going, notes


def _held_row(listing_id: int, decision: Decision) -> dict[str, object]:
    return {"listing_id": listing_id, "held_until": decision.hold_until, "note": decision.note}


_HOLD = (
    update(_listings)
    .where(_c.id == bindparam("listing_id"))
    .values(
        held_until=bindparam("held_until", type_=UTCDateTime()),
        push_note=bindparam("note"),
    )
)


def _hold(ctx: JobContext, rows: list[dict[str, object]]) -> None:
    """Record why these listings wait, and raise (or refresh) the channel's warning."""
    if not rows:
        return
    with transaction(ctx.engine) as session:
        session.connection().execute(_HOLD, rows)
        raise_revision_cap_alert(session, ctx.channel_id)


_COUNT_REVISION = (
    update(_listings)
    .where(_c.id == bindparam("listing_id"))
    .values(
        revisions=case(
            (_c.revision_day == bindparam("today", type_=Date()), _c.revisions + bindparam("bump")),
            else_=bindparam("bump"),
        ),
        revision_day=bindparam("today", type_=Date()),
        held_until=None,
        push_note=bindparam("note"),
    )
)


def _count_revisions(
    ctx: JobContext,
    budget: RevisionBudget,
    batch: list[tuple[Listing, int]],
    results: list[PushResult],
    notes: dict[int, str | None],
) -> None:
    """Count a revision for each quantity the channel took that differs from the one the
    hub last pushed (reconcile's push of the same figure revises nothing the hub knows
    of; where the channel had drifted it does, and the channel's own refusal at its limit
    is the backstop); hold until tomorrow each listing the channel refused for its limit."""
    now = ctx.now()
    counted: list[dict[str, object]] = []
    held: list[dict[str, object]] = []
    for (listing, quantity), result in zip(batch, results, strict=True):
        assert listing.id is not None
        if result.ok:
            counted.append(
                {
                    "listing_id": listing.id,
                    "today": now.date(),
                    "note": notes.get(listing.id),
                    "bump": int(quantity != listing.last_ack_quantity),
                }
            )
        elif result.daily_limit_reached:
            held.append(_held_row(listing.id, budget.refused_for_limit(now)))
    if counted:
        with transaction(ctx.engine) as session:
            session.connection().execute(_COUNT_REVISION, counted)
    if held:
        with transaction(ctx.engine) as session:
            session.connection().execute(
                update(_listings)
                .where(_c.id == bindparam("listing_id"))
                .values(revisions=budget.limit, revision_day=now.date()),
                [{"listing_id": row["listing_id"]} for row in held],
            )
        _hold(ctx, held)


def _clear_unchanged(ctx: JobContext, listings: list[Listing]) -> None:
    if not listings:
        return
    with transaction(ctx.engine) as session:
        for listing in listings:
            session.execute(
                update(_listings)
                .where(_c.id == listing.id, _c.change_seq == listing.change_seq)
                .values(dirty=False, dirty_since=None)
            )


_unchanged_since_read = _c.change_seq == bindparam("seen_seq")

_ACKNOWLEDGED = (
    update(_listings)
    .where(_c.id == bindparam("listing_id"))
    .values(
        last_ack_quantity=bindparam("quantity"),
        last_ack_at=bindparam("now", type_=UTCDateTime()),
        attempts=0,
        last_error=None,
        next_attempt_at=None,
        dirty=case((_unchanged_since_read, False), else_=_c.dirty),
        dirty_since=case((_unchanged_since_read, None), else_=_c.dirty_since),
    )
)
"""One statement for every acknowledged listing of a batch (executemany)."""

_REFUSED = (
    update(_listings)
    .where(_c.id == bindparam("listing_id"))
    .values(
        attempts=bindparam("attempt_count"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at", type_=UTCDateTime()),
        dirty=True,
        dirty_since=func.coalesce(_c.dirty_since, bindparam("now", type_=UTCDateTime())),
    )
)


def _record(ctx: JobContext, batch: list[tuple[Listing, int]], results: list[PushResult]) -> None:
    now = ctx.now()  # the channel has answered: from now on it holds these quantities
    acknowledged: list[dict[str, object]] = []
    refused: list[dict[str, object]] = []
    for (listing, quantity), result in zip(batch, results, strict=True):
        if result.daily_limit_reached:
            continue  # not a failure: held until the channel's next day (_count_revisions)
        if result.ok:
            if ctx.on_push is not None:
                ctx.on_push(ctx.name, listing.channel_sku, quantity, listing.dirty_since, now)
            acknowledged.append(
                {
                    "listing_id": listing.id,
                    "seen_seq": listing.change_seq,
                    "quantity": quantity if result.quantity is None else result.quantity,
                    "now": now,
                }
            )
        else:
            attempts = listing.attempts + 1
            refused.append(
                {
                    "listing_id": listing.id,
                    "attempt_count": attempts,
                    "error": (result.error or "refused")[:2000],
                    "retry_at": now + item_backoff(ctx.channel.item_backoff, attempts),
                    "now": now,
                }
            )
    ctx.counts[RunCount.ACKNOWLEDGED] += len(acknowledged)
    ctx.counts[RunCount.FAILED] += len(refused)
    with transaction(ctx.engine) as session:
        connection = session.connection()
        for statement, rows in ((_ACKNOWLEDGED, acknowledged), (_REFUSED, refused)):
            if rows:
                connection.execute(statement, rows)
