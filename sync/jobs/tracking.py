"""poll_tracking: ask a carrier channel about the parcels it tracks, until they arrive.

The shipments the channel tracks that are not delivered or returned are read
by id in batches; each batch is one `track` call and one transaction applying
the answers (core/tracking.py: events stored once, statuses, delivered orders,
alerts). A batch that fails leaves nothing half-applied and the next run asks
again; the carrier's throttling and outages are retried by the call policy, and
what still fails fails the run (AuthError pauses the channel, with an alert).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omnisync.core.db import transaction
from omnisync.core.dto import TrackingInfo
from omnisync.core.tracking import TrackingResult, apply_tracking, shipments_to_track
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.counts import RunCount

TRACKING_BATCH = 25
"""Numbers per `track` call unless the connector says otherwise (`tracking_batch_size`)."""
NOTES_KEPT = 20
"""Unknown numbers a run names in its notes; more are only counted."""
_SPACES = re.compile(r"\s+")


def poll_tracking(ctx: JobContext) -> None:
    batch_size = max(1, int(getattr(ctx.connector, "tracking_batch_size", TRACKING_BATCH)))
    after_id = 0
    unknown: list[str] = []
    while True:
        ctx.checkpoint()
        with transaction(ctx.engine, read_only=True) as session:
            batch = [
                (shipment.id or 0, shipment.tracking_number)
                for shipment in shipments_to_track(
                    session, ctx.channel_id, after_id=after_id, limit=batch_size
                )
            ]
        if not batch:
            break
        after_id = batch[-1][0]
        answers = _answers_by_number(ctx.connector.track(_distinct([n for _, n in batch])))
        ctx.checkpoint()
        with transaction(ctx.engine) as session:
            results = [
                (
                    number,
                    apply_tracking(
                        session,
                        shipment_id,
                        answers.get(_key(number)) or _unanswered(number),
                        unknown_after=ctx.channel.tracking_unknown_after,
                    ),
                )
                for shipment_id, number in batch
            ]
        for number, result in results:
            _count(ctx, result)
            if result.unknown:
                unknown.append(number)
    if unknown:
        shown = ", ".join(unknown[:NOTES_KEPT])
        more = f" and {len(unknown) - NOTES_KEPT} more" if len(unknown) > NOTES_KEPT else ""
        ctx.notes.append(f"tracking numbers unknown to the carrier: {shown}{more}")


def _key(number: str) -> str:
    """Carriers answer with numbers respaced or recased: match them loosely."""
    return _SPACES.sub("", number).upper()


def _distinct(numbers: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(numbers))


def _answers_by_number(answers: Sequence[TrackingInfo]) -> dict[str, TrackingInfo]:
    return {_key(answer.tracking_number): answer for answer in answers}


def _unanswered(number: str) -> TrackingInfo:
    return TrackingInfo(
        tracking_number=number, found=False, message="the carrier's answer left this number out"
    )


def _count(ctx: JobContext, result: TrackingResult) -> None:
    ctx.counts[RunCount.TRACKED] += 1
    ctx.counts[RunCount.EVENTS] += result.new_events
    ctx.counts[RunCount.DELIVERED] += result.delivered
    ctx.counts[RunCount.ORDERS_DELIVERED] += result.order_delivered
    ctx.counts[RunCount.EXCEPTIONS] += result.trouble
    ctx.counts[RunCount.UNKNOWN] += result.unknown
