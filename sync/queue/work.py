"""What a worker does for each task: run one job for one channel, or tick one job kind."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from omnisync.core.db import transaction
from omnisync.core.models import JobSchedule
from omnisync.sync.engine import RunHooks, RunOutcome, SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import supports_job
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.schedule import Backoff, after_run, due_and_advance
from omnisync.sync.queue.targets import Deferral, Target, Targets
from omnisync.sync.runs import NotRun

log = logging.getLogger(__name__)
WAIT_SLACK = timedelta(seconds=1)
WAITING = "waiting out a refusal"
"""A task's run skipped: its channel asked the hub to wait (429, 5xx) and the wait is on."""
SCHEDULED_CHECK = timedelta(minutes=1)


_RETRY_AT = select(JobSchedule.next_attempt_at).where(  # type: ignore[call-overload]
    JobSchedule.channel_id == bindparam("channel_id"), JobSchedule.job == bindparam("job")
)
"""Built once: every task's run asks it."""


class Work:
    """The worker's side of the queue: `sync` runs the jobs (its guard is a PostgreSQL
    advisory lock per job and channel, beside the queue's own lock, so a run the sweeper
    re-deferred never overlaps one still going), `targets` maps channel ids to channels."""

    def __init__(self, sync: SyncEngine, targets: Targets, backoff: Backoff | None = None) -> None:
        self.sync = sync
        self.targets = targets
        self.backoff = backoff or Backoff()
        self._scheduled: dict[JobName, set[int]] = {}
        """Per job kind, the channels whose schedule row is known to exist (checked again
        every SCHEDULED_CHECK, should rows go)."""
        self._scheduled_since = self.sync.clock.now()
        self._interval_cache: dict[JobName, tuple[Mapping[int, Target], Mapping[int, timedelta]]]
        self._interval_cache = {}

    def run(self, job: JobName, channel_id: int) -> RunOutcome | None:
        """Run `job` for the channel unless it waits out a refusal (its wake-up defers it
        when the wait ends); record how it went, in the transaction that records the run.
        None: nothing ran."""
        target = self._target(channel_id)
        if target is None or target.channel.name not in self.sync.channels:
            log.info("%s for channel %s: no such channel here; dropped", job, channel_id)
            return None

        def check(session: Session) -> str | None:
            return WAITING if self._waits(session, job, target) else None

        def recorded(session: Session, outcome: RunOutcome) -> None:
            after_run(session, job, target, outcome, self.sync.clock.now(), self.backoff)

        outcome = self.sync.run(target.channel.name, job, hooks=RunHooks(check, recorded))
        if outcome.status == NotRun.SKIPPED and outcome.error == WAITING:
            return None
        return outcome

    def _target(self, channel_id: int) -> Target | None:
        """The channel's target: from the cached mapping, read afresh only when ids are
        missing (a session is opened only then)."""
        cached = self.targets.cached()
        if cached is None:
            with transaction(self.sync.database, read_only=True) as session:
                cached = self.targets.by_id(session)
        return cached.get(channel_id)

    def wake(self, job: JobName, channel_id: int) -> Deferral | None:
        """A wait after a refusal ended: defer the job now (unless one waits already)."""
        with transaction(self.sync.database) as session:
            target = self.targets.by_id(session).get(channel_id)
            if target is None:
                return None
            deferred = defer(session, [Deferral(job, target)])
        return deferred[0] if deferred else None

    def _waits(self, session: Session, job: JobName, target: Target) -> bool:
        """Whether the (channel, job) is still waiting out a refusal. A task that comes
        meanwhile (a stock change's push) ends at once: the wake-up, the tick or the sweep
        defers the job once the wait is over. WAIT_SLACK absorbs a worker clock a little
        behind the database's, which timed the wake-up."""
        retry_at = (
            session.connection()
            .execute(_RETRY_AT, {"channel_id": target.channel_id, "job": str(job)})
            .scalar()
        )
        return retry_at is not None and retry_at > self.sync.clock.now() + WAIT_SLACK

    def _intervals(self, job: JobName, targets: Mapping[int, Target]) -> Mapping[int, timedelta]:
        """The interval of `job` for each channel that runs it on a schedule; worked out
        again only when the channels change (Targets.by_id answers a new mapping)."""
        cached = self._interval_cache.get(job)
        if cached is not None and cached[0] is targets:
            return cached[1]
        intervals = {
            channel_id: interval
            for channel_id, target in targets.items()
            if target.channel.enabled
            and (interval := target.channel.intervals.get(job)) is not None
            and supports_job(target.channel.type, job)
        }
        self._interval_cache[job] = (targets, intervals)
        return intervals

    def tick(self, job: JobName) -> list[Deferral]:
        """Defer `job` for every channel whose time has come."""
        now = self.sync.clock.now()
        if now - self._scheduled_since > SCHEDULED_CHECK:
            self._scheduled, self._scheduled_since = {}, now
        with transaction(self.sync.database) as session:
            targets = self.targets.by_id(session)
            intervals = self._intervals(job, targets)
            if not intervals:
                return []
            return due_and_advance(
                session,
                job,
                targets,
                intervals,
                now,
                self._scheduled.setdefault(job, set()),
            )
