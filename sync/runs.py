"""SyncRun rows: every job run is recorded, from start to its outcome.

What a call to run a job can end in is SyncRunStatus (core/types.py), which is
recorded on the run's row, or NotRun.SKIPPED, which is not: the engine declined
to start the job (unsupported, disabled, paused, already running), so there is
no run to record. Keeping the two apart in the type says which outcomes a
reader of sync_runs can ever see. RUNNING is only ever a row's state while the
run is in flight, never an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from sqlalchemy import Engine, update
from sqlmodel import col

from omnisync.core.clock import Clock, clock_of
from omnisync.core.db import transaction
from omnisync.core.models import SyncRun
from omnisync.core.types import SyncRunStatus
from omnisync.sync.jobs.counts import RunCount

ABANDONED = "abandoned: the process running it stopped before finishing"


class NotRun(StrEnum):
    SKIPPED = "skipped"
    """The engine did not start the job; the outcome's `error` says why."""


OutcomeStatus = SyncRunStatus | NotRun
"""How a call to run a job ended (RunOutcome.status)."""

COMPLETED_STATUSES = frozenset({SyncRunStatus.SUCCEEDED, SyncRunStatus.PARTIAL})
"""A run that reached its end: partial means the channel refused some items, which keep
their own retry state; the run itself did all it set out to."""


def outcome_status(text: str) -> OutcomeStatus:
    """The status named `text` (as JSON output and sync_runs show it)."""
    return NotRun.SKIPPED if text == NotRun.SKIPPED else SyncRunStatus(text)


def start_run(
    engine: Engine, channel_id: int | None, job: str, *, clock: Clock | None = None
) -> int:
    """Record a new run. The caller holds the job's lease, so a run of the same job still
    marked running belongs to a process that died: it is closed as failed first."""
    with transaction(engine) as session:
        now = (clock or clock_of(session)).now()
        session.execute(
            update(SyncRun)
            .where(
                col(SyncRun.channel_id) == channel_id,
                col(SyncRun.job) == job,
                col(SyncRun.status) == SyncRunStatus.RUNNING,
            )
            .values(status=SyncRunStatus.FAILED, error=ABANDONED, finished_at=now)
        )
        run = SyncRun(channel_id=channel_id, job=job, status=SyncRunStatus.RUNNING, started_at=now)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def finish_run(
    engine: Engine,
    run_id: int,
    status: SyncRunStatus,
    counts: Mapping[RunCount, int],
    error: str | None,
    *,
    clock: Clock | None = None,
) -> None:
    with transaction(engine) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.status = status
        run.finished_at = (clock or clock_of(session)).now()
        run.counts = {str(key): value for key, value in counts.items()}
        run.error = error
        session.add(run)
