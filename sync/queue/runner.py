"""The hub's side of runner `procrastinate` (`omnisync run`): no job runs here. It sweeps
(sweeps.py) every `sweep_every`, hears order events, and turns "sync now" into tasks."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from omnisync.core.db import transaction
from omnisync.core.errors import Conflict, NotFound
from omnisync.core.models import Channel, JobSchedule
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.order_events import EventListeners
from omnisync.sync.queue.defer import defer, waiting
from omnisync.sync.queue.names import lock_of
from omnisync.sync.queue.sweeps import (
    Recovered,
    refresh_queue_statistics,
    sweep_dirty,
    sweep_stalled,
)
from omnisync.sync.queue.targets import Deferral, Target, Targets
from omnisync.sync.runners import channel_changes, channel_to_run_now

log = logging.getLogger(__name__)
_RUNNING_LOCKS = text(
    "SELECT lock FROM procrastinate_jobs WHERE status = 'doing' AND lock IN :locks"
).bindparams(bindparam("locks", expanding=True))


@dataclass(frozen=True)
class SweepOptions:
    every: timedelta = timedelta(seconds=1)
    stalled_after: timedelta = timedelta(seconds=10)


@dataclass
class Swept:
    pushes: list[Deferral] = field(default_factory=list)
    recovered: list[Recovered] = field(default_factory=list)
    analysed: bool = False
    """Whether the task table's statistics were gathered again (sweeps.py)."""


class QueueRunner:
    def __init__(
        self,
        sync: SyncEngine,
        targets: Targets,
        options: SweepOptions | None = None,
        *,
        event_wait: float | None = None,
    ) -> None:
        self.sync = sync
        self.targets = targets
        self.options = options or SweepOptions()
        self._wake = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_until_stopped, name="queue-sweeps")
        self._sweeper.daemon = True
        self.events = EventListeners(sync, wait_seconds=event_wait)

    def start(self) -> None:
        self._sweeper.start()
        try:
            changes = self.events.refresh()
        except Exception:  # a queue that cannot be set up leaves polling to it
            log.exception("order event queues could not be set up")
            changes = []
        for change in changes:
            log.info("%s", change)

    def stop(self) -> None:
        self.sync.stop.set()
        self._wake.set()
        if self._sweeper.is_alive():
            self._sweeper.join()
        self.events.stop()

    @property
    def running(self) -> bool:
        return self._sweeper.is_alive() and not self.sync.stop.is_set()

    def wake(self) -> None:
        self._wake.set()

    def update_channels(self, channels: list[SyncChannel], secrets: frozenset[str]) -> list[str]:
        before = dict(self.sync.channels)
        self.sync.set_channels(channels, secrets)
        self.targets.set_channels(channels)
        after = {channel.name: channel for channel in channels}
        lines = [f"channel {name} {change}" for name, change in channel_changes(before, after)]
        try:
            return lines + self.events.refresh()
        except Exception as error:
            log.exception("order event queues could not be set up")
            return [*lines, f"order event queues not set up: {type(error).__name__}: {error}"]

    def sweep(self) -> Swept:
        """One round of both sweeps (each in its own transaction)."""
        swept = Swept()
        with transaction(self.sync.database) as session:
            swept.recovered = sweep_stalled(session, self.options.stalled_after)
        with transaction(self.sync.database) as session:
            swept.pushes = sweep_dirty(session, self.targets, self.sync.clock.now())
        with transaction(self.sync.database) as session:
            swept.analysed = refresh_queue_statistics(session)
        return swept

    def _sweep_until_stopped(self) -> None:
        while not self.sync.stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("the queue sweep failed")
            self._wake.wait(self.options.every.total_seconds())
            self._wake.clear()

    def run_now(self, name: str) -> list[str]:
        """Sync now: a task now for each scheduled job of the channel. A job already waiting
        runs once; one running runs again after (its task is queued behind the lock)."""
        channel = channel_to_run_now(self.sync.channels, name, running=self.running)
        jobs = [
            job
            for job in JobName
            if channel.intervals.get(job) is not None and self.sync.supports(name, job)
        ]
        with transaction(self.sync.database) as session:
            paused = session.exec(select(Channel.paused_reason).where(Channel.name == name)).first()
            if paused:
                raise Conflict(f"channel {name} is paused ({paused}): resume it first")
            target = self.targets.named(session, name)
            if target is None:
                raise NotFound(f"unknown channel {name!r}: this hub does not run it")
            asked = [Deferral(job, target) for job in jobs]
            already = waiting(session, (deferral.queueing_lock for deferral in asked))
            running = self._running_locks(session, target, jobs)
            defer(session, asked)
        said = []
        for deferral in asked:
            if deferral.queueing_lock in already:
                said.append(f"{deferral.job} (already waiting: runs once)")
            elif lock_of(deferral.job, target.channel_id, channel.account) in running:
                said.append(f"{deferral.job} (running now: runs again once that run ends)")
            else:
                said.append(str(deferral.job))
        return said

    @staticmethod
    def _running_locks(session: Session, target: Target, jobs: list[JobName]) -> set[str]:
        locks = [lock_of(job, target.channel_id, target.channel.account) for job in jobs]
        if not locks:
            return set()
        return set(session.execute(_RUNNING_LOCKS, {"locks": locks}).scalars())

    def next_run_time(self, name: str, job: str) -> datetime | None:
        """When the job's tick next defers it for channel `name` (None: not scheduled)."""
        with transaction(self.sync.database, read_only=True) as session:
            return session.exec(
                select(JobSchedule.next_run_at)
                .join(Channel, Channel.id == JobSchedule.channel_id)  # type: ignore[arg-type]
                .where(Channel.name == name, JobSchedule.job == job)
            ).first()
