"""SyncRun rows: every job run is recorded, from start to its outcome.

What a call to run a job can end in is SyncRunStatus (core/types.py), which is
recorded on the run's row, or NotRun.SKIPPED, which is not: the engine declined
to start the job (unsupported, disabled, paused, already running), so there is
no run to record. Keeping the two apart in the type says which outcomes a
reader of sync_runs can ever see. RUNNING is only ever a row's state while the
run is in flight, never an outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from sqlalchemy import Engine, bindparam, insert, update
from sqlmodel import Session

from omnisync.core.clock import Clock, clock_of
from omnisync.core.db import transaction
from omnisync.core.models import SyncRun
from omnisync.core.models.tables import table_of
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


_runs = table_of(SyncRun)
_r = _runs.c
# The statements of every run, built once (a worker records runs by the thousand).
_ABANDON = (
    update(_runs)
    .where(
        _r.channel_id == bindparam("for_channel"),
        _r.job == bindparam("for_job"),
        _r.status == SyncRunStatus.RUNNING,
    )
    .values(status=SyncRunStatus.FAILED, error=ABANDONED, finished_at=bindparam("now"))
)
_START = (
    insert(_runs)
    .values(
        channel_id=bindparam("for_channel"),
        job=bindparam("for_job"),
        status=SyncRunStatus.RUNNING,
        started_at=bindparam("now"),
    )
    .returning(_r.id)
)
_FINISH = (
    update(_runs)
    .where(_r.id == bindparam("run_id"))
    .values(
        status=bindparam("new_status"),
        finished_at=bindparam("now"),
        counts=bindparam("new_counts"),
        error=bindparam("new_error"),
    )
)


def start_run(engine: Engine, channel_id: int, job: str, *, clock: Clock | None = None) -> int:
    """Record a new run. The caller holds the job's lease, so a run of the same job still
    marked running belongs to a process that died: it is closed as failed first."""
    with transaction(engine) as session:
        values = {
            "for_channel": channel_id,
            "for_job": job,
            "now": (clock or clock_of(session)).now(),
        }
        connection = session.connection()
        connection.execute(_ABANDON, values)
        return int(connection.execute(_START, values).scalar_one())


def finish_run(
    engine: Engine,
    run_id: int,
    status: SyncRunStatus,
    counts: Mapping[RunCount, int],
    error: str | None,
    *,
    clock: Clock | None = None,
    also: Callable[[Session], object] | None = None,
) -> None:
    """Record the run's end; `also` does more in the same transaction (a runner's own
    record of how the run went)."""
    with transaction(engine) as session:
        finished = session.connection().execute(
            _FINISH,
            {
                "run_id": run_id,
                "new_status": status,
                "now": (clock or clock_of(session)).now(),
                "new_counts": {str(key): value for key, value in counts.items()},
                "new_error": error,
            },
        )
        if finished.rowcount != 1:
            raise LookupError(f"no run {run_id} to finish")
        if also is not None:
            also(session)
