"""Where each configured channel's tasks go: its id, queue and lock owner."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlmodel import Session, col, select

from omnisync.core.models import Channel
from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.names import (
    TICK_QUEUE,
    WAKE_TASK,
    lock_of,
    queue_of,
    queueing_lock_of,
    task_name,
    wake_lock_of,
)


@dataclass(frozen=True)
class Target:
    channel_id: int
    channel: SyncChannel

    @property
    def queue(self) -> str:
        return queue_of(self.channel.type)


@dataclass(frozen=True)
class Deferral:
    """One task to defer: `job` for `target`'s channel, at `at` (None: now). `wake`: instead,
    the unlocked task that defers `job` when `at` comes (a run waiting out a refusal: a
    future-dated task holding the job's lock would hold up every task of that lock queued
    behind it, procrastinate taking a lock's tasks in order whatever their time)."""

    job: JobName
    target: Target
    at: datetime | None = None
    wake: bool = False

    @property
    def queueing_lock(self) -> str:
        if self.wake:
            return wake_lock_of(self.job, self.target.channel_id)
        return queueing_lock_of(self.job, self.target.channel_id)

    def row(self) -> dict[str, object]:
        """The task's columns, args as JSON text."""
        channel_id = self.target.channel_id
        if self.wake:
            return {
                "queue": TICK_QUEUE,
                "task": WAKE_TASK,
                "lock": None,
                "queueing_lock": self.queueing_lock,
                "args": json.dumps({"job": str(self.job), "channel_id": channel_id}),
                "at": self.at,
            }
        return {
            "queue": self.target.queue,
            "task": task_name(self.job),
            "lock": lock_of(self.job, channel_id, self.target.channel.account),
            "queueing_lock": self.queueing_lock,
            "args": json.dumps({"channel_id": channel_id}),
            "at": self.at,
        }


class Targets:
    """The configured channels by id (ids read from the channels table once per name)."""

    def __init__(self, channels: Iterable[SyncChannel]) -> None:
        self._lock = threading.Lock()
        self._channels = {channel.name: channel for channel in channels}
        self._ids: dict[str, int] = {}
        self._by_id: Mapping[int, Target] | None = None
        """What by_id answers until the channels or their ids change (every task asks)."""

    def set_channels(self, channels: Iterable[SyncChannel]) -> None:
        with self._lock:
            self._channels = {channel.name: channel for channel in channels}
            self._by_id = None

    def cached(self) -> Mapping[int, Target] | None:
        """What by_id answers, when it needs no read of the database; else None."""
        with self._lock:
            return self._by_id

    def by_id(self, session: Session) -> Mapping[int, Target]:
        """The channels by id: a mapping not to be changed (it is shared)."""
        with self._lock:
            if self._by_id is not None:
                return self._by_id
            channels = self._channels  # replaced, never changed, by set_channels
            missing = [name for name in channels if name not in self._ids]
        if missing:
            rows = session.exec(
                select(Channel.name, Channel.id).where(col(Channel.name).in_(missing))
            ).all()
        with self._lock:
            if missing:
                self._ids.update({name: channel_id for name, channel_id in rows if channel_id})
            by_id = MappingProxyType(
                {
                    self._ids[name]: Target(self._ids[name], channel)
                    for name, channel in channels.items()
                    if name in self._ids
                }
            )
            if channels is self._channels and len(by_id) == len(channels):
                self._by_id = by_id  # every channel has its id: nothing left to read
            return by_id

    def named(self, session: Session, name: str) -> Target | None:
        return next((t for t in self.by_id(session).values() if t.channel.name == name), None)
