"""returns: tell the channel what became of its returns, then read what changed there.

The push half works the outbox core/returns.py writes (return_pushes), oldest first,
as push_fulfilments works shipments: each push carries a key stable per row, so a
retry after a lost answer changes nothing more on the channel; a refusal keeps the
channel's words on the row (and on the return's refund when it carried one), backs
off and never blocks the others; throttling, outages and refused credentials stop
the run and leave the row pending.

The pull half reads the channel's returns changed since the cursor (minus the lag
window), each page taken in with the cursor it completes (invariant 3); a return
the hub cannot place (its order is not in the hub) is quarantined with its raw
payload and the rest of the page goes on (invariant 7).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from omnisync.connectors.base import PermanentError
from omnisync.core.db import transaction
from omnisync.core.dto import PushResult, ReturnPage, ReturnUpdate, ReturnUpdateLine
from omnisync.core.models import Channel, Order, Return, ReturnPush
from omnisync.core.return_state import (
    ChannelReturns,
    note_push_acknowledged,
    note_refund_outcome,
)
from omnisync.core.types import PushState, ReturnAction
from omnisync.sync.cursors import CursorStream, advance_cursor, read_cursor
from omnisync.sync.incremental import Incremental
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.push_rows import due, keep_outcome
from omnisync.sync.returns import channel_returns, quarantine_once, take_in_returns


def idempotency_key(push: ReturnPush) -> str:
    """The same for every attempt of one push: the channel acts on it once."""
    return f"omnisync-return-{push.return_id}-{push.id}"


def sync_returns(ctx: JobContext) -> None:
    push_returns(ctx)
    pull_returns(ctx)


def push_returns(ctx: JobContext) -> None:
    for push, ret, order_external_id in _due_pushes(ctx, ctx.now()):
        ctx.checkpoint()
        told = _told_before(ctx, push)
        assert ret.external_id is not None
        update = ReturnUpdate(
            action=push.action,
            return_external_id=ret.external_id,
            order_external_id=order_external_id,
            lines=_update_lines(push, told),
            refund=push.refund,
            reason=push.reason,
            idempotency_key=idempotency_key(push),
        )
        try:
            result = ctx.connector.push_return(update)
        except PermanentError as error:
            result = PushResult(key=ret.external_id, ok=False, error=str(error))
        _record(ctx, push, result)


def _told_before(ctx: JobContext, push: ReturnPush) -> dict[str, int]:
    """Units per return line that the return's earlier PROCESS pushes told the channel."""
    told: dict[str, int] = {}
    with transaction(ctx.engine, read_only=True) as session:
        earlier = session.exec(
            select(ReturnPush).where(
                ReturnPush.return_id == push.return_id,
                ReturnPush.action == ReturnAction.PROCESS,
                ReturnPush.push_state == PushState.PUSHED,
                col(ReturnPush.id) < (push.id or 0),
            )
        )
        for row in earlier:
            for line in row.lines:
                key = str(line["external_line_id"])
                told[key] = told.get(key, 0) + int(line["quantity"])
    return told


def _update_lines(push: ReturnPush, told: dict[str, int]) -> tuple[ReturnUpdateLine, ...]:
    return tuple(
        ReturnUpdateLine.model_validate(
            {**line, "told_before": told.get(str(line["external_line_id"]), 0)}
        )
        for line in push.lines
    )


def _due_pushes(ctx: JobContext, now: datetime) -> list[tuple[ReturnPush, Return, str]]:
    with transaction(ctx.engine, read_only=True) as session:
        rows = session.exec(
            select(ReturnPush, Return, Order.external_id)
            .join(Return, col(Return.id) == ReturnPush.return_id)
            .join(Order, col(Order.id) == Return.order_id)
            .where(
                Return.channel_id == ctx.channel_id,
                due(ReturnPush, now),
            )
            .order_by(col(ReturnPush.created_at), col(ReturnPush.id))
        ).all()
        return [(push, ret, external_id) for push, ret, external_id in rows]


def _record(ctx: JobContext, read: ReturnPush, result: PushResult) -> None:
    now = ctx.now()
    with transaction(ctx.engine) as session:
        push = session.get(ReturnPush, read.id, with_for_update=True)
        if push is None:
            return
        if result.ok:
            note_push_acknowledged(session, push)
        keep_outcome(push, result, now, ctx.channel.item_backoff)
        session.add(push)
        if push.refund:
            ret = session.get(Return, push.return_id, with_for_update=True)
            assert ret is not None
            note_refund_outcome(ret, result.ok, result.error, now)
            session.add(ret)
    ctx.counts[RunCount.PUSHED if result.ok else RunCount.FAILED] += 1


def pull_returns(ctx: JobContext) -> None:
    started = ctx.now()
    with transaction(ctx.engine, read_only=True) as session:
        cursor = read_cursor(session, ctx.channel_id, CursorStream.RETURNS)
    read = Incremental.from_cursor(
        cursor, lag=ctx.channel.lag, backfill=ctx.channel.backfill, now=started
    )
    taken = channel_returns(ctx.connector)
    for page in ctx.connector.fetch_returns(read.start):
        with transaction(ctx.engine) as session:
            _commit_page(session, ctx, page, taken)
        ctx.counts[RunCount.PAGES] += 1
        ctx.checkpoint()


def _commit_page(
    session: Session, ctx: JobContext, page: ReturnPage, taken: ChannelReturns
) -> None:
    channel = session.get(Channel, ctx.channel_id)
    assert channel is not None
    ctx.counts[RunCount.FETCHED] += len(page.returns) + len(page.rejected)
    counts = take_in_returns(session, channel, page.returns, taken)
    for outcome, count in counts.items():
        ctx.counts[RunCount(outcome.value)] += count
    for rejected in page.rejected:
        if quarantine_once(session, channel, rejected):
            ctx.counts[RunCount.QUARANTINED] += 1
    if page.cursor is not None:
        advance_cursor(session, ctx.channel_id, CursorStream.RETURNS, page.cursor)
