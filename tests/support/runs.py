"""Run history written straight into the database, for tests of health and alert rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import SyncRun
from omnisync.core.types import SyncRunStatus


def add_runs(
    engine: Engine,
    channel: str,
    job: str,
    statuses: Sequence[SyncRunStatus | str],
    *,
    ended: datetime | None = None,
    spacing: timedelta = timedelta(seconds=1),
    error: str = "TransientError: connection failed",
) -> list[int]:
    """Finished runs in this order, the last one ending at `ended` (default: now);
    failed runs carry `error`. Returns their ids."""
    ended = ended or utcnow()
    ids = []
    with transaction(engine) as session:
        channel_id = channel_by_name(session, channel).id
        for index, status in enumerate(statuses):
            finished = ended - spacing * (len(statuses) - 1 - index)
            run = SyncRun(
                channel_id=channel_id,
                job=job,
                status=SyncRunStatus(status),
                started_at=finished - timedelta(milliseconds=100),
                finished_at=finished,
                error=error if SyncRunStatus(status) == SyncRunStatus.FAILED else None,
            )
            session.add(run)
            session.flush()
            assert run.id is not None
            ids.append(run.id)
    return ids
