"""job_schedules: when each (channel, job) runs next, and how a refused run waits.

The job kind's tick (every second, in one worker) defers the channels whose `next_run_at`
has come and moves it one interval on; a run the channel refused with 429 or 5xx records
`next_attempt_at` (Retry-After when the channel gave one, else exponential backoff with
jitter) and defers, for then (procrastinate's `schedule_in`, not its `retry=`:
procrastinate#1446, #1543), an unlocked wake-up that defers the job when the wait ends."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlmodel import Session

from omnisync.connectors.base import ConnectorError, RateLimited, TransientError
from omnisync.core.db import insert_ignoring_conflict
from omnisync.core.models import Channel, JobSchedule
from omnisync.core.models.tables import table_of
from omnisync.core.types import SyncRunStatus
from omnisync.sync.engine import RunOutcome
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.targets import Deferral, Target
from omnisync.sync.runs import NotRun

_schedules = table_of(JobSchedule)
_s = _schedules.c
_channels = table_of(Channel)


@dataclass(frozen=True)
class Backoff:
    initial: timedelta = timedelta(seconds=1)
    maximum: timedelta = timedelta(minutes=5)

    def after(self, failures: int, failure: ConnectorError) -> timedelta:
        """How long the `failures`-th refusal in a row waits: the channel's Retry-After
        (plus a little jitter), else full jitter up to a doubling ceiling."""
        if isinstance(failure, RateLimited) and failure.retry_after > 0:
            return timedelta(seconds=failure.retry_after + random.uniform(0, 0.25))  # noqa: S311
        ceiling = min(self.maximum, self.initial * (1 << min(max(failures - 1, 0), 20)))
        seconds = random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds())  # noqa: S311
        return timedelta(seconds=seconds)


def is_retryable(failure: ConnectorError | None) -> bool:
    return isinstance(failure, RateLimited | TransientError)


def due_and_advance(
    session: Session,
    job: JobName,
    targets: Mapping[int, Target],
    intervals: Mapping[int, timedelta],
    now: datetime,
    scheduled: set[int] | None = None,
) -> list[Deferral]:
    """The tick's work for `job`: make missing schedule rows (due now), defer every channel
    whose time has come and is not waiting out a refusal or paused, and move each one's
    next_run_at an interval on. Returns what was deferred. `scheduled`: the channels known
    to have their row (the caller's cache across ticks; rows are made for the others and
    it is filled in), so a tick reads only the rows due, by the (job, next_run_at) index."""
    known = scheduled if scheduled is not None else set()
    if not known >= intervals.keys():
        known |= set(session.execute(select(_s.channel_id).where(_s.job == job)).scalars())
        for channel_id in sorted(intervals.keys() - known):
            insert_ignoring_conflict(
                session,
                _schedules,
                {"channel_id": channel_id, "job": str(job), "next_run_at": now, "failures": 0},
                ("channel_id", "job"),
            )
        known |= intervals.keys()
    rows = session.execute(
        select(_s.channel_id)
        .join(_channels, _channels.c.id == _s.channel_id)
        .where(
            _s.job == job,
            _s.next_run_at <= now,
            or_(_s.next_attempt_at.is_(None), _s.next_attempt_at <= now),
            _channels.c.paused_reason.is_(None),
        )
        .order_by(_s.channel_id)
        .with_for_update(of=_schedules, skip_locked=True)
    ).scalars()
    # A row of a channel this process does not schedule (not configured here, disabled,
    # no such job) stays as it is.
    deferrals = [Deferral(job, targets[cid]) for cid in rows if cid in intervals]
    if deferrals:
        session.connection().execute(
            update(_schedules)
            .where(_s.channel_id == bindparam("cid"), _s.job == job)
            .values(next_run_at=bindparam("next_run"), last_deferred_at=now),
            [
                {"cid": d.target.channel_id, "next_run": now + intervals[d.target.channel_id]}
                for d in deferrals
            ],
        )
    return defer(session, deferrals)


_ONE = and_(_s.channel_id == bindparam("for_channel"), _s.job == bindparam("for_job"))
_COMPLETED = (
    update(_schedules)
    .where(_ONE, or_(_s.failures != 0, _s.next_attempt_at.is_not(None)))
    .values(failures=0, next_attempt_at=None)
)
"""A completed run clears the count of refusals (built once: most runs end here)."""
_COMPLETED_MOVED = (
    update(_schedules)
    .where(_ONE)
    .values(failures=0, next_attempt_at=None, next_run_at=bindparam("next_run"))
)
"""... and moves the next scheduled run an interval on."""


def after_run(
    session: Session,
    job: JobName,
    target: Target,
    outcome: RunOutcome,
    now: datetime,
    backoff: Backoff,
) -> Deferral | None:
    """Record how the run went; returns the follow-up deferred, if any.

    - Completed: the count of refusals is cleared.
    - Cancelled (the worker is stopping): the job is deferred again at once, for another
      worker.
    - Refused with 429 or 5xx: the run waits (next_attempt_at: Retry-After, else backoff
      with jitter) and a wake-up is deferred for then (`schedule_in`), which defers the job
      itself when the wait ends.
    """
    channel_id = target.channel_id
    where = and_(_s.channel_id == channel_id, _s.job == job)
    interval = target.channel.intervals.get(job)
    # The next scheduled run is an interval after this one ended, not after the tick
    # queued it: a run that waited in a backlog is not followed at once by the next.
    next_run = now + interval if interval is not None and outcome.status != NotRun.SKIPPED else None
    if outcome.completed:
        # One statement, which changes no row for a run with no interval and nothing to clear.
        keys = {"for_channel": channel_id, "for_job": str(job)}
        if next_run is None:
            session.connection().execute(_COMPLETED, keys)
        else:
            session.connection().execute(_COMPLETED_MOVED, {**keys, "next_run": next_run})
        return None
    if next_run is not None:
        session.execute(update(_schedules).where(where).values(next_run_at=next_run))
    if outcome.status == SyncRunStatus.CANCELLED:
        again = Deferral(job, target)
        return again if defer(session, [again]) else None
    failure = outcome.failure
    if failure is None or not is_retryable(failure):
        return None
    insert_ignoring_conflict(
        session,
        _schedules,
        {"channel_id": channel_id, "job": str(job), "next_run_at": now, "failures": 0},
        ("channel_id", "job"),
    )
    failures = 1 + int(
        session.execute(select(_s.failures).where(where).with_for_update()).scalar_one()
    )
    retry_at = now + backoff.after(failures, failure)
    session.execute(
        update(_schedules).where(where).values(failures=failures, next_attempt_at=retry_at)
    )
    wake = Deferral(job, target, at=retry_at, wake=True)
    return wake if defer(session, [wake]) else None
