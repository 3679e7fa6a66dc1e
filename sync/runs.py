"""SyncRun rows: every job run is recorded, from start to its outcome."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, update
from sqlmodel import col

from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import SyncRun
from omnisync.core.types import SyncRunStatus

ABANDONED = "abandoned: the process running it stopped before finishing"


def start_run(engine: Engine, channel_id: int | None, job: str) -> int:
    """Record a new run. The caller holds the job's lease, so a run of the same job still
    marked running belongs to a process that died: it is closed as failed first."""
    with transaction(engine) as session:
        session.execute(
            update(SyncRun)
            .where(
                col(SyncRun.channel_id) == channel_id,
                col(SyncRun.job) == job,
                col(SyncRun.status) == SyncRunStatus.RUNNING,
            )
            .values(status=SyncRunStatus.FAILED, error=ABANDONED, finished_at=utcnow())
        )
        run = SyncRun(channel_id=channel_id, job=job, status=SyncRunStatus.RUNNING)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def finish_run(
    engine: Engine, run_id: int, status: SyncRunStatus, counts: Counter[str], error: str | None
) -> None:
    with transaction(engine) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.status = status
        run.finished_at = utcnow()
        run.counts = dict(counts)
        run.error = error
        session.add(run)
