"""The engine: runs one job for one channel under a lease, records it, handles failure.

Failure policy: TransientError and RateLimited are retried inside the call
policy; what still fails marks the run failed (the next run starts again from
the committed cursor or the still-dirty listings). AuthError pauses the
channel and raises an alert: no job of that channel runs until its config
changes or an operator runs it by hand and it succeeds. Either way the
`auth_failure` alert resolves with the pause (core/channels.py), and a success
resolves one left open on a channel that is no longer paused. A pause by hand
(`paused_by`) is lifted by neither: only a resume by hand ends it.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from omnisync.connectors.base import AuthError, Capability, Connector, ConnectorError
from omnisync.connectors.registry import connector_for
from omnisync.core.channels import channel_run_state, lift_automatic_pause, pause_channel
from omnisync.core.clock import Clock, engine_clock
from omnisync.core.db import transaction
from omnisync.core.models import Channel
from omnisync.core.redaction import redact
from omnisync.core.types import SyncRunStatus
from omnisync.core.unlinked import UNLINKED_AFTER
from omnisync.sync.calls import Cancelled, ChannelCalls, RetryPolicy
from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.context import JobContext, LeaseLost, PushObserver
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.jobs.registry import job_spec, supports_job
from omnisync.sync.leases import DEFAULT_TTL, HeldRun, Lease, new_holder_id
from omnisync.sync.log_context import mask_in_logs, run_context
from omnisync.sync.ratelimit import ChannelLimiter
from omnisync.sync.runs import COMPLETED_STATUSES, NotRun, OutcomeStatus, finish_run, start_run

log = logging.getLogger(__name__)

ALREADY_RUNNING = "already running"
"""A skipped outcome's error: this process runs the job for the channel now."""
RUNNING_ELSEWHERE = "running in another process"
"""A skipped outcome's error: another process holds the job's lease."""


@dataclass(eq=False)
class _Lent:
    """A channel's connector and how many runs use it now. `retired`: a reload replaced it;
    it closes when the last of those runs ends."""

    connector: Connector
    runs: int = 0
    retired: bool = False


@dataclass(frozen=True)
class RunHooks:
    """A runner's own steps, in the run's transactions rather than in more of their own
    (runner `procrastinate` runs a task in as few round trips to PostgreSQL as it can).

    `check(session)`: in the transaction that reads the channel's state before the run; a
    reason not to run (the outcome is SKIPPED with that error), or None to go on.
    `recorded(session, outcome)`: in the transaction that records the run's end."""

    check: Callable[[Session], str | None] | None = None
    recorded: Callable[[Session, RunOutcome], None] | None = None


@dataclass
class RunOutcome:
    channel: str
    job: str
    status: OutcomeStatus
    """The recorded run's final status, or NotRun.SKIPPED (no run: `error` says why)."""
    run_id: int | None = None
    counts: Counter[RunCount] = field(default_factory=Counter)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    failure: ConnectorError | None = None
    """The channel's error that failed the run (the queue runner paces retries by it)."""

    @property
    def failed(self) -> bool:
        return self.status == SyncRunStatus.FAILED

    @property
    def completed(self) -> bool:
        """The job ran to its end (succeeded, or partial: some items refused)."""
        return self.status in COMPLETED_STATUSES


class SyncEngine:
    def __init__(
        self,
        database: Engine,
        channels: Iterable[SyncChannel],
        *,
        holder: str | None = None,
        retry: RetryPolicy | None = None,
        lease_ttl: timedelta = DEFAULT_TTL,
        secrets: Iterable[str] = (),
        stop: threading.Event | None = None,
        on_push: PushObserver | None = None,
        clock: Clock | None = None,
        unlinked_after: timedelta = UNLINKED_AFTER,
        guard: Callable[[int, SyncChannel, str], HeldRun] | None = None,
    ) -> None:
        """`guard(channel_id, channel, job)`: what keeps a (channel, job) to one run at a
        time across processes; a lease row by default (runner `procrastinate` passes the
        task's advisory lock: sync/queue/guard.py)."""
        self.database = database
        self.guard = guard
        """The hub's SQLAlchemy engine (runs, leases, cursors, stock)."""
        self.clock = clock or engine_clock(database)
        """Where jobs, leases and run records read the time: the database engine's clock
        by default (bootstrap passes that same clock). Core code a job calls reads its
        session's clock, which is the database engine's: pass no other in production."""
        self.holder = holder or new_holder_id()
        self.retry = retry or RetryPolicy()
        self.lease_ttl = lease_ttl
        self.secrets = frozenset(secrets)
        self.stop = stop or threading.Event()
        self.on_push = on_push
        self.unlinked_after = unlinked_after
        """hub.yaml `alert_rules.unlinked_after`: jobs refresh the unlinked_listings alert."""
        self.channels: dict[str, SyncChannel] = {}
        self._connectors: dict[str, _Lent] = {}
        """The current connector of each channel that has been used."""
        self._running: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.set_channels(channels)

    def set_channels(self, channels: Iterable[SyncChannel], secrets: Iterable[str] = ()) -> None:
        """Take a new channel list (config reload). A changed channel gets a new connector
        for its next run; the old one closes once the runs still using it have ended."""
        idle: list[Connector] = []
        with self._lock:
            fresh = {channel.name: channel for channel in channels}
            for name, lent in list(self._connectors.items()):
                if fresh.get(name) != self.channels.get(name):
                    del self._connectors[name]
                    lent.retired = True
                    if lent.runs == 0:
                        idle.append(lent.connector)
            self.channels = fresh
            self.secrets |= frozenset(secrets)
            mask_in_logs(self.secrets)
        for connector in idle:
            connector.close()

    def connector(self, name: str) -> Connector:
        """The channel's current connector, for a short use (a run borrows it instead)."""
        return self._current(name).connector

    @contextmanager
    def borrowed(self, name: str) -> Iterator[Connector]:
        """The channel's connector for the length of one run: a reload meanwhile gives later
        runs a new one, and this one stays open until the last run using it ends."""
        lent = self._current(name, borrow=True)
        try:
            yield lent.connector
        finally:
            with self._lock:
                lent.runs -= 1
                unused = lent.retired and lent.runs == 0
            if unused:
                lent.connector.close()

    def _current(self, name: str, *, borrow: bool = False) -> _Lent:
        """The channel's connector, made on first use; `borrow` counts a run using it.
        It is made outside the lock (other channels' runs go on meanwhile); of two made
        at once for one channel, the first kept wins and the other is closed, as is one
        made from settings a reload replaced meanwhile."""
        while True:
            with self._lock:
                lent = self._connectors.get(name)
                if lent is not None:
                    lent.runs += borrow
                    return lent
                channel = self.channels[name]
            made = _Lent(self._make_connector(name, channel))
            with self._lock:
                if name not in self._connectors and self.channels.get(name) == channel:
                    self._connectors[name] = made
                    made.runs += borrow
                    return made
            made.connector.close()

    def _make_connector(self, name: str, channel: SyncChannel) -> Connector:
        cls = connector_for(channel.type)
        if cls is None:
            raise KeyError(f"unknown channel type {channel.type!r}")
        limiter = ChannelLimiter(cls.limits_for(channel.settings))
        return cls(
            channel.settings,
            calls=ChannelCalls(name, limiter, self.retry, self.stop),
            hub_locations=dict(channel.locations),
        )

    def supports(self, name: str, job: str) -> bool:
        return supports_job(self.channels[name].type, job)

    def is_running(self, name: str, job: str) -> bool:
        """True while this process runs `job` for channel `name` (other processes: the lease)."""
        with self._lock:
            return (name, job) in self._running

    def has_capability(self, name: str, capability: Capability) -> bool:
        cls = connector_for(self.channels[name].type)
        return cls is not None and capability in cls.capabilities

    def close(self) -> None:
        with self._lock:
            for lent in self._connectors.values():
                lent.connector.close()
            self._connectors.clear()

    def run(
        self,
        name: str,
        job: str,
        *,
        force: bool = False,
        progress: Callable[[JobContext], None] | None = None,
        hooks: RunHooks | None = None,
    ) -> RunOutcome:
        """Run `job` for channel `name` once. `force` runs a paused or disabled channel."""
        channel = self.channels[name]
        hooks = hooks or RunHooks()
        if not self.supports(name, job):
            return RunOutcome(name, job, NotRun.SKIPPED, error=f"{channel.type} has no {job} job")
        with transaction(self.database, read_only=True) as session:
            state = channel_run_state(session, name)
            refusal = hooks.check(session) if hooks.check is not None else None
        channel_id, paused = state.channel_id, state.paused_reason
        # A success resumes the channel: it clears a pause, and an auth alert left open
        # while the channel was resumed some other way.
        resume_on_success = bool(paused) or state.auth_alert_open
        if not force and not channel.enabled:
            return RunOutcome(name, job, NotRun.SKIPPED, error="channel disabled")
        if not force and paused:
            return RunOutcome(name, job, NotRun.SKIPPED, error=f"paused: {paused}")
        if refusal is not None:
            return RunOutcome(name, job, NotRun.SKIPPED, error=refusal)
        with self._lock:
            if (name, job) in self._running:  # the lease is per process; this is per thread
                return RunOutcome(name, job, NotRun.SKIPPED, error=ALREADY_RUNNING)
            self._running.add((name, job))
        try:
            held: HeldRun = (
                self.guard(channel_id, channel, job)
                if self.guard is not None
                else Lease(
                    self.database,
                    channel_id,
                    job,
                    self.holder,
                    self.lease_ttl,
                    clock=self.clock.now,
                )
            )
            with held as lease:
                if not lease.acquired:
                    return RunOutcome(name, job, NotRun.SKIPPED, error=RUNNING_ELSEWHERE)
                return self._run_held(
                    channel, channel_id, job, resume_on_success, lease, progress, hooks
                )
        finally:
            with self._lock:
                self._running.discard((name, job))

    def _run_held(
        self,
        channel: SyncChannel,
        channel_id: int,
        job: str,
        resume_on_success: bool,
        lease: HeldRun,
        progress: Callable[[JobContext], None] | None,
        hooks: RunHooks,
    ) -> RunOutcome:
        run_id = start_run(self.database, channel_id, job, clock=self.clock)
        with run_context(channel.name, job, run_id), self.borrowed(channel.name) as connector:
            ctx = JobContext(
                engine=self.database,
                channel_id=channel_id,
                channel=channel,
                connector=connector,
                stop=self.stop,
                lease_lost=lease.lost,
                progress=progress,
                on_push=self.on_push,
                clock=self.clock,
                unlinked_after=self.unlinked_after,
            )
            return self._run_recorded(ctx, job, run_id, resume_on_success, hooks)

    def _run_recorded(
        self, ctx: JobContext, job: str, run_id: int, resume_on_success: bool, hooks: RunHooks
    ) -> RunOutcome:
        channel, channel_id = ctx.channel, ctx.channel_id
        error: str | None = None
        failure: ConnectorError | None = None
        try:
            spec = job_spec(job)
            assert spec is not None  # run() skipped a job no channel supports
            spec.run(ctx)
            status = (
                SyncRunStatus.PARTIAL if ctx.counts[RunCount.FAILED] else SyncRunStatus.SUCCEEDED
            )
            if resume_on_success:
                self._resume(channel_id)
        except AuthError as denied:
            status, error = SyncRunStatus.FAILED, self._say(denied)
            self._pause(channel_id, error)
        except Cancelled:
            status, error = SyncRunStatus.CANCELLED, "stopped by shutdown"
        except ConnectorError as refused:
            status, error, failure = SyncRunStatus.FAILED, self._say(refused), refused
        except LeaseLost as lost:
            status, error = SyncRunStatus.FAILED, self._say(lost)
        except Exception as unexpected:
            log.exception("%s %s: unexpected failure", channel.name, job)
            status, error = SyncRunStatus.FAILED, self._say(unexpected)
        outcome = RunOutcome(
            channel.name, job, status, run_id, ctx.counts, error, ctx.notes, failure
        )
        recorded = hooks.recorded
        finish_run(
            self.database,
            run_id,
            status,
            ctx.counts,
            error,
            clock=self.clock,
            also=None if recorded is None else lambda session: recorded(session, outcome),
        )
        if status == SyncRunStatus.CANCELLED:
            log.info("%s %s: cancelled by shutdown", channel.name, job)
        elif error:
            log.warning("%s %s: %s: %s", channel.name, job, status.value, error)
        return outcome

    def _say(self, failure: BaseException) -> str:
        return redact(f"{type(failure).__name__}: {failure}", self.secrets)

    def _pause(self, channel_id: int, reason: str) -> None:
        with transaction(self.database) as session:
            row = session.get(Channel, channel_id)
            assert row is not None
            pause_channel(session, row, reason)

    def _resume(self, channel_id: int) -> None:
        with transaction(self.database) as session:
            row = session.get(Channel, channel_id)
            if row is not None:
                lift_automatic_pause(session, row)  # a pause by hand stays
