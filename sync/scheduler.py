"""Scheduling: each channel's jobs on its intervals, and stock pushes within a second
of any committed stock change.

Periodic jobs run on APScheduler (3.x) interval triggers. Pushes are driven by
the outbox itself: a watcher looks for due dirty listings every `push_poll`
seconds (and at once when this process commits a change) and starts a push for
each channel that has some, unless one is already running here; the lease keeps
other processes out. So a change committed by any process, the CLI included,
reaches the channels within about a second.

The "at once" hears only this hub's own transactions (CommitWake): a process may
hold other engines (tests, tools, a second hub), and their commits say nothing
about this hub's outbox.

"Sync now" (run_now) adds a one-off run of each of the channel's jobs beside its interval
job, which keeps its schedule; a one-off that finds its job running (here, or under
another process's lease) asks again a moment later until it runs.

Channels that hear orders by events get a listener per queue
(sync/order_events.py), started with the scheduler and kept in step with reloads.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, event, func, or_
from sqlmodel import Session, col, select

from omnisync.core.clock import SYSTEM_CLOCK
from omnisync.core.db import HubSession, transaction
from omnisync.core.errors import Conflict
from omnisync.core.models import Channel, Listing
from omnisync.core.outbox import LISTINGS_MARKED
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import ALREADY_RUNNING, RUNNING_ELSEWHERE, RunOutcome, SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.leases import held_elsewhere
from omnisync.sync.order_events import EventListeners
from omnisync.sync.runners import channel_changes, channel_to_run_now
from omnisync.sync.runs import NotRun

log = logging.getLogger(__name__)
PUSH_JOB = JobName.STOCK
"""The job the outbox watcher starts for a channel with due dirty listings."""
ASKED_RETRY = timedelta(seconds=1)
"""How soon a "sync now" run that found its job running asks again (until it runs)."""


class CommitWake:
    """Sets `wake` when a transaction on `database` commits listings it marked dirty."""

    def __init__(self, database: Engine, wake: threading.Event) -> None:
        self.database = database
        self.wake = wake

    def attach(self) -> None:
        event.listen(HubSession, "after_commit", self._on_commit)

    def detach(self) -> None:
        event.remove(HubSession, "after_commit", self._on_commit)

    def _on_commit(self, session: Session) -> None:
        if not isinstance(session, HubSession) or session.database is not self.database:
            return
        if session.info.pop(LISTINGS_MARKED, False):
            self.wake.set()


class Scheduler:
    def __init__(
        self,
        sync: SyncEngine,
        *,
        push_poll: float = 0.25,
        debounce: float = 0.1,
        workers: int = 8,
        event_wait: float | None = None,
    ) -> None:
        """`event_wait`: how long one receive from an order-event queue waits (the
        channel's own setting when None)."""
        self.sync = sync
        self.push_poll = push_poll
        self.debounce = debounce
        self._scheduler = BackgroundScheduler(
            executors={"default": JobExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone="UTC",
        )
        self._pushes = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push")
        self._pushing: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._commits = CommitWake(sync.database, self._wake)
        self._watcher = threading.Thread(target=self._watch_outbox, name="outbox", daemon=True)
        self.events = EventListeners(sync, wait_seconds=event_wait)

    def start(self) -> None:
        self._commits.attach()
        self._scheduler.start()
        for channel in self.sync.channels.values():
            self._schedule(channel)
        self._watcher.start()
        for change in self._refresh_events():
            log.info("%s", change)

    def stop(self) -> None:
        """Stop taking work, let running jobs reach their next safe point, wait for them."""
        self.sync.stop.set()
        self._wake.set()
        self._commits.detach()
        if self._watcher.is_alive():
            self._watcher.join()
        self.events.stop()
        self._scheduler.shutdown(wait=True)
        self._pushes.shutdown(wait=True)

    def update_channels(self, channels: list[SyncChannel], secrets: frozenset[str]) -> list[str]:
        """Apply a new channel list; returns a line per change, for the log."""
        before = dict(self.sync.channels)
        after = {channel.name: channel for channel in channels}
        self.sync.set_channels(channels, secrets)
        changes = []
        for name, change in channel_changes(before, after):
            if change != "added":
                self._unschedule(name)
            if change != "removed":
                self._schedule(after[name])
            changes.append(f"channel {name} {change}")
        return changes + self._refresh_events()

    def _refresh_events(self) -> list[str]:
        try:
            return self.events.refresh()
        except Exception as error:  # a queue that cannot be set up leaves polling to it
            log.exception("order event queues could not be set up")
            return [f"order event queues not set up: {type(error).__name__}: {error}"]

    @property
    def running(self) -> bool:
        """Started, not stopping, and both its timer and its outbox watcher alive."""
        return (
            bool(self._scheduler.running)
            and self._watcher.is_alive()
            and not self.sync.stop.is_set()
        )

    def wake(self) -> None:
        self._wake.set()

    def run_now(self, name: str) -> list[str]:
        """Sync now: a one-off run at once of each scheduled job of channel `name`, and a
        look at the push outbox now. The interval jobs keep their schedule. A job running
        at that moment is not doubled: the one-off waits for that run's end, then runs
        (ASKED_RETRY). Returns a line per job, in JobName's order: the job's name, then
        `(running now: ...)` or `(running in another process: ...)` for one that waits.
        NotFound for a channel this hub does not run; Conflict when it is disabled or
        paused, or the hub is not running."""
        channel = channel_to_run_now(self.sync.channels, name, running=self.running)
        with transaction(self.sync.database, read_only=True) as session:
            row = session.exec(
                select(Channel.id, Channel.paused_reason).where(Channel.name == name)
            ).first()
        channel_id, paused = row if row is not None else (None, None)
        if paused:
            raise Conflict(f"channel {name} is paused ({paused}): resume it first")
        elsewhere = (
            held_elsewhere(
                self.sync.database, channel_id, self.sync.holder, clock=self.sync.clock.now
            )
            if channel_id is not None
            else set()
        )
        said = []
        for job in self._scheduled_jobs(channel):
            if self.sync.is_running(name, job):
                said.append(f"{job} (running now: runs again once that run ends)")
            elif job in elsewhere:
                said.append(f"{job} (running in another process: runs here once that run ends)")
            else:
                said.append(str(job))
            self._ask(name, job, SYSTEM_CLOCK.now())  # APScheduler fires on the wall clock
        self._wake.set()
        return said

    def next_run_time(self, name: str, job: str) -> datetime | None:
        """When the interval job `job` of channel `name` runs next (None: not scheduled)."""
        scheduled = self._scheduler.get_job(f"{name}:{job}")
        return None if scheduled is None else scheduled.next_run_time

    def _ask(self, name: str, job: str, at: datetime) -> None:
        """A one-off run of `job` for `name` at `at` (wall clock), beside its interval job."""
        self._scheduler.add_job(
            self._run_asked,
            "date",
            args=(name, job),
            id=f"{name}:{job}:now",
            run_date=at,
            replace_existing=True,
            # The one-off still holding the job, and one asked meanwhile that waits for it.
            max_instances=2,
        )

    def _run_asked(self, name: str, job: str) -> RunOutcome | None:
        """The one-off run of "sync now". One that finds the job running (here, or under
        another process's lease) asks again ASKED_RETRY later, so the request is neither
        lost nor doubled; any other skip (paused, disabled) ends it."""
        outcome = self._run(name, job)
        if (
            outcome is not None
            and outcome.status == NotRun.SKIPPED
            and outcome.error in (ALREADY_RUNNING, RUNNING_ELSEWHERE)
            and not self.sync.stop.is_set()
        ):
            self._ask(name, job, SYSTEM_CLOCK.now() + ASKED_RETRY)
        return outcome

    def _scheduled_jobs(self, channel: SyncChannel) -> list[JobName]:
        """The channel's jobs on an interval, in JobName's order (none when disabled)."""
        if not channel.enabled:
            return []
        return [
            job
            for job in JobName
            if channel.intervals.get(job) is not None and self.sync.supports(channel.name, job)
        ]

    def _schedule(self, channel: SyncChannel) -> None:
        for job in self._scheduled_jobs(channel):
            interval = channel.intervals[job]
            self._scheduler.add_job(
                self._run,
                "interval",
                args=(channel.name, job),
                id=f"{channel.name}:{job}",
                seconds=interval.total_seconds(),
                # APScheduler fires on the wall clock, whatever clock the hub records with.
                next_run_time=SYSTEM_CLOCK.now() + timedelta(milliseconds=50),
                replace_existing=True,
            )

    def _unschedule(self, name: str) -> None:
        for job in self._scheduler.get_jobs():
            if job.id.startswith(f"{name}:"):
                with suppress(JobLookupError):  # a "sync now" one-off that fired meanwhile
                    job.remove()

    def _run(self, name: str, job: str) -> RunOutcome | None:
        if name not in self.sync.channels or self.sync.stop.is_set():
            return None
        try:
            return self.sync.run(name, job)
        except Exception:
            log.exception("%s %s: the run could not be started", name, job)
            return None

    def _watch_outbox(self) -> None:
        while not self.sync.stop.is_set():
            if self._wake.wait(self.push_poll):
                self._wake.clear()
                if self.sync.stop.wait(self.debounce):
                    return
            try:
                due = self._channels_with_due_pushes()
            except Exception:
                log.exception("reading the push outbox failed")
                continue
            for name in due:
                self._start_push(name)

    def _channels_with_due_pushes(self) -> list[str]:
        now = self.sync.clock.now()
        with transaction(self.sync.database, read_only=True) as session:
            rows = session.exec(
                select(Channel.name)
                .join(Listing, col(Listing.channel_id) == Channel.id)
                .where(
                    col(Listing.dirty),
                    col(Listing.sku_id).is_not(None),
                    or_(
                        col(Listing.next_attempt_at).is_(None), col(Listing.next_attempt_at) <= now
                    ),
                )
                .group_by(col(Channel.name))
                .having(func.count() > 0)
            ).all()
        channels = self.sync.channels
        return [
            name
            for name in rows
            if name in channels and channels[name].enabled and self.sync.supports(name, PUSH_JOB)
        ]

    def _start_push(self, name: str) -> None:
        with self._lock:
            if name in self._pushing or self.sync.stop.is_set():
                return
            self._pushing.add(name)
        self._pushes.submit(self._push, name)

    def _push(self, name: str) -> None:
        outcome = None
        try:
            outcome = self._run(name, PUSH_JOB)
        finally:
            with self._lock:
                self._pushing.discard(name)
        if outcome is not None and outcome.completed:
            self._wake.set()  # more may have become dirty while this push ran
