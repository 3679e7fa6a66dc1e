"""What the outboxes of items told to a channel one by one share (shipments' fulfilments,
returns' updates): which rows are due, and how an answer is kept on a row.

A row is due while pending, or failed and past its `next_push_at`. A refusal keeps the
channel's words, counts the attempt and backs off (sync/jobs/backoff.py); an
acknowledgement clears them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from omnisync.core.dto import PushResult
from omnisync.core.types import PushState
from omnisync.sync.jobs.backoff import item_backoff


class PushRow(Protocol):
    push_state: PushState
    push_attempts: int
    push_error: str | None
    next_push_at: datetime | None
    pushed_at: datetime | None


def due(model: Any, now: datetime) -> ColumnElement[bool]:
    """The rows of `model` (a table with the PushRow columns) due for a push at `now`."""
    return or_(
        col(model.push_state) == PushState.PENDING,
        and_(
            col(model.push_state) == PushState.FAILED,
            or_(col(model.next_push_at).is_(None), col(model.next_push_at) <= now),
        ),
    )


def keep_outcome(row: PushRow, result: PushResult, now: datetime, backoff: timedelta) -> None:
    """Keep the channel's answer on the (locked) row."""
    if result.ok:
        row.push_state = PushState.PUSHED
        row.pushed_at = now
        row.push_error = None
        row.next_push_at = None
    else:
        row.push_state = PushState.FAILED
        row.push_attempts += 1
        row.push_error = (result.error or "refused")[:2000]
        row.next_push_at = now + item_backoff(backoff, row.push_attempts)
