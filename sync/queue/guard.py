"""One run per (job, channel) across processes under runner `procrastinate`, kept by
PostgreSQL itself: a run holds a session advisory lock on its task's lock key, on a
connection of its own, for as long as it runs. The database lets go of it when that
connection ends, so a killed worker frees it at once and a live one (even a stopping or
slow one whose heartbeat lapsed) keeps it. The sweeper asks the same lock before it calls
a task stalled (sweeps.py); a CLI run (`omnisync catalog import`) asks it too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection, Engine, func, select
from sqlmodel import Session

from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.names import lock_of

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
"""How often a run waiting for the lock asks again (no blocking wait: it stays stoppable)."""


def _key(lock: str) -> object:
    return func.hashtextextended(lock, 0)


class AdvisoryLock:
    def __init__(self, database: Engine, lock: str, stop: threading.Event, *, wait: bool) -> None:
        """`wait`: ask until the lock is free (a worker: its task is queued behind the
        holder); else one try (acquired False when someone runs it)."""
        self.database = database
        self.lock = lock
        self.stop = stop
        self.wait = wait
        self.acquired = False
        self.lost = threading.Event()
        """Never set: the lock lasts as long as the connection."""
        self._connection: Connection | None = None

    def __enter__(self) -> AdvisoryLock:
        # Autocommit: a session lock needs no transaction, and none spares the round trips
        # of BEGIN and COMMIT around each statement (the connection stays idle between).
        connection = self.database.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while True:
                self.acquired = bool(
                    connection.execute(select(func.pg_try_advisory_lock(_key(self.lock)))).scalar()
                )
                if self.acquired or not self.wait or self.stop.wait(POLL_SECONDS):
                    break
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if self.acquired:
            self._connection = connection
        else:
            connection.close()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(select(func.pg_advisory_unlock(_key(self.lock))))
        except Exception:
            log.exception("releasing %s failed; closing its connection frees it", self.lock)
            connection.invalidate()
        finally:
            connection.close()


RunGuard = Callable[[int, SyncChannel, str], AdvisoryLock]


def advisory_guard(database: Engine, stop: threading.Event, *, wait: bool) -> RunGuard:
    """The SyncEngine `guard` of runner `procrastinate`: the lock of the run's task."""

    def guard(channel_id: int, channel: SyncChannel, job: str) -> AdvisoryLock:
        return AdvisoryLock(
            database, lock_of(JobName(job), channel_id, channel.account), stop, wait=wait
        )

    return guard


def held_by_a_live_run(session: Session, lock: str) -> bool:
    """Whether a run holds `lock` now (asked with a try that is undone at once)."""
    taken = bool(session.execute(select(func.pg_try_advisory_lock(_key(lock)))).scalar())
    if taken:
        session.execute(select(func.pg_advisory_unlock(_key(lock))))
    return not taken
