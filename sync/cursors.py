"""Stream cursors: how far a channel has been read, moved with the data they cover."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from omnisync.core.clock import utcnow
from omnisync.core.models import SyncCursor


def read_cursor(session: Session, channel_id: int, stream: str) -> datetime | None:
    row = session.exec(
        select(SyncCursor).where(SyncCursor.channel_id == channel_id, SyncCursor.stream == stream)
    ).first()
    return datetime.fromisoformat(row.value) if row else None


def advance_cursor(session: Session, channel_id: int, stream: str, value: datetime) -> None:
    """Move the cursor forward to `value` (never back), in the caller's transaction."""
    row = session.exec(
        select(SyncCursor)
        .where(SyncCursor.channel_id == channel_id, SyncCursor.stream == stream)
        .with_for_update()
    ).first()
    if row is None:
        session.add(SyncCursor(channel_id=channel_id, stream=stream, value=value.isoformat()))
    elif datetime.fromisoformat(row.value) < value:
        row.value = value.isoformat()
        row.updated_at = utcnow()
        session.add(row)
