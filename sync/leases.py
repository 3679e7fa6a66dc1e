"""Job leases: a row per (channel, job) says who runs it until when (invariant 8).

Taking a lease is one conditional UPDATE (free, expired, or already ours), so
two processes can never both hold it. The holder renews it from a heartbeat
thread while the job runs; a holder that dies stops renewing and the lease
expires after `ttl`. Every function reads the time from `clock` (the engine's clock's `now`
unless the caller passes another, as the sync engine and tests that step it do).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from sqlalchemy import Engine, or_, select, update

from omnisync.core.clock import engine_clock
from omnisync.core.db import insert_ignoring_conflict, transaction
from omnisync.core.models import SyncLease
from omnisync.core.models.tables import table_of

log = logging.getLogger(__name__)
_leases = table_of(SyncLease)
_c = _leases.c

DEFAULT_TTL = timedelta(seconds=60)


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True when `holder` was a process on this machine that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _now(engine: Engine, clock: Callable[[], datetime] | None) -> datetime:
    return clock() if clock is not None else engine_clock(engine).now()


def try_acquire(
    engine: Engine,
    channel_id: int,
    job: str,
    holder: str,
    ttl: timedelta,
    *,
    clock: Callable[[], datetime] | None = None,
) -> bool:
    """Take the lease if it is free, expired, ours, or held by a process of this machine
    that has died (so a crashed job is taken over at once instead of after `ttl`)."""
    now = _now(engine, clock)
    with transaction(engine) as session:
        insert_ignoring_conflict(
            session,
            _leases,
            {
                "channel_id": channel_id,
                "job": job,
                "holder": "",
                "acquired_at": now,
                "expires_at": datetime.min.replace(tzinfo=now.tzinfo),
            },
            ("channel_id", "job"),
        )
        result = session.execute(
            update(_leases)
            .where(
                _c.channel_id == channel_id,
                _c.job == job,
                or_(_c.holder == holder, _c.expires_at < now),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True
        current = session.execute(
            select(_c.holder).where(_c.channel_id == channel_id, _c.job == job)
        ).scalar_one()
        if not holder_is_dead(current):
            return False
        log.warning("taking over lease %s/%s from %s, which has died", channel_id, job, current)
        result = session.execute(
            update(_leases)
            .where(_c.channel_id == channel_id, _c.job == job, _c.holder == current)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew(
    engine: Engine,
    channel_id: int,
    job: str,
    holder: str,
    ttl: timedelta,
    *,
    clock: Callable[[], datetime] | None = None,
) -> bool:
    with transaction(engine) as session:
        result = session.execute(
            update(_leases)
            .where(_c.channel_id == channel_id, _c.job == job, _c.holder == holder)
            .values(expires_at=_now(engine, clock) + ttl)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(
    engine: Engine,
    channel_id: int,
    job: str,
    holder: str,
    *,
    clock: Callable[[], datetime] | None = None,
) -> None:
    with transaction(engine) as session:
        session.execute(
            update(_leases)
            .where(_c.channel_id == channel_id, _c.job == job, _c.holder == holder)
            .values(holder="", expires_at=_now(engine, clock))
        )


def held_elsewhere(
    engine: Engine,
    channel_id: int,
    holder: str,
    *,
    clock: Callable[[], datetime] | None = None,
) -> set[str]:
    """The channel's jobs whose lease a live holder other than `holder` has now."""
    now = _now(engine, clock)
    with transaction(engine, read_only=True) as session:
        rows = session.execute(
            select(_c.job, _c.holder).where(
                _c.channel_id == channel_id,
                _c.holder != "",
                _c.holder != holder,
                _c.expires_at >= now,
            )
        ).all()
    return {job for job, other in rows if not holder_is_dead(other)}


class Lease:
    """Hold (channel, job) for the length of a `with` block, renewing it in the background."""

    def __init__(
        self,
        engine: Engine,
        channel_id: int,
        job: str,
        holder: str,
        ttl: timedelta = DEFAULT_TTL,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine, self.channel_id, self.job, self.holder, self.ttl = (
            engine,
            channel_id,
            job,
            holder,
            ttl,
        )
        self.clock = clock
        self.acquired = False
        self.lost = threading.Event()
        self._done = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquired = try_acquire(
            self.engine, self.channel_id, self.job, self.holder, self.ttl, clock=self.clock
        )
        if self.acquired:
            self._heartbeat = threading.Thread(
                target=self._renew_until_done,
                name=f"lease-{self.job}-{self.channel_id}",
                daemon=True,
            )
            self._heartbeat.start()
        return self

    def _renew_until_done(self) -> None:
        interval = self.ttl.total_seconds() / 3
        while not self._done.wait(interval):
            try:
                if not renew(
                    self.engine, self.channel_id, self.job, self.holder, self.ttl, clock=self.clock
                ):
                    log.error("lease %s/%s was taken over", self.channel_id, self.job)
                    self.lost.set()
                    return
            except Exception:
                log.exception("renewing lease %s/%s failed", self.channel_id, self.job)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if self.acquired and not self.lost.is_set():
            release(self.engine, self.channel_id, self.job, self.holder, clock=self.clock)


class HeldRun(Protocol):
    """What keeps a run to itself while it lasts (a Lease; sync/queue/guard.py's advisory
    lock): entered before the run, left after it."""

    acquired: bool
    lost: threading.Event
    """Set when the hold was lost mid-run (the run stops at its next safe point)."""

    def __enter__(self) -> HeldRun: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
