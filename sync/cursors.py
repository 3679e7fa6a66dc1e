"""Stream cursors: how far a channel's stream has been read, stored with the data they
cover (the caller's transaction), and only ever moved forward (sync/incremental.py
holds the rules of a read; this module holds the rows).

A cursor row is (channel, stream name, value as ISO 8601 text). The stream names
and the text format are what rows already in a database hold: they never change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from omnisync.core.clock import clock_of
from omnisync.core.models import SyncCursor
from omnisync.sync.incremental import moves_forward


class CursorStream(StrEnum):
    ORDERS = "orders"
    """Orders by the channel's updated-at time (sync/jobs/orders.py)."""
    RETURNS = "returns"
    """Returns by the channel's change time (sync/jobs/returns.py)."""


def read_cursor(session: Session, channel_id: int, stream: CursorStream) -> datetime | None:
    row = session.exec(
        select(SyncCursor).where(SyncCursor.channel_id == channel_id, SyncCursor.stream == stream)
    ).first()
    return _value(row.value) if row else None


def advance_cursor(
    session: Session, channel_id: int, stream: CursorStream, value: datetime
) -> None:
    """Move the cursor forward to `value` (never back), in the caller's transaction."""
    row = session.exec(
        select(SyncCursor)
        .where(SyncCursor.channel_id == channel_id, SyncCursor.stream == stream)
        .with_for_update()
    ).first()
    if row is None:
        session.add(
            SyncCursor(
                channel_id=channel_id,
                stream=stream.value,
                value=_text(value),
                updated_at=clock_of(session).now(),
            )
        )
    elif moves_forward(_value(row.value), value):
        row.value = _text(value)
        row.updated_at = clock_of(session).now()
        session.add(row)


def _text(value: datetime) -> str:
    return value.isoformat()


def _value(text: str) -> datetime:
    return datetime.fromisoformat(text)
