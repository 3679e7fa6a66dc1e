"""How `omnisync demo` bounds its waits, and what it says when it gives up.

The demo waits for the hub in two ways, each with a deadline:

- it runs a job itself and needs it done (the first listings and reconcile, the final
  sync of every channel): `run_until_done` runs it again after a failure, at most
  `FINAL_ATTEMPTS` times and never past a `Deadline`, which sets the engine's stop
  event when it passes (the call policy's backoff sleeps, a feed's polling and the
  jobs' checkpoints all end on it, so the run in flight ends as cancelled);
- while the buyers buy, the scheduler runs the jobs: `FailureWatch` reads the run
  records and gives up when a job of a channel has failed run after run for as long
  as a deadline allows.

Either way the demo stops with `DemoFailed`: the channel, the job, the last error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from typing import Final, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.core.redaction import redact
from omnisync.core.types import SyncRunStatus
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.engine import RunOutcome
from omnisync.sync.health import channel_health
from omnisync.sync.runs import COMPLETED_STATUSES

DEFAULT_TIMEOUT_S: Final = 30.0
"""How long any one wait of the demo may last by default."""
SETUP_TIMEOUT_S: Final = 60.0
"""At least this long for the first listings and reconcile of a channel: a whole
catalogue, and the simulator's first answers (Shopify's schema is loaded then)."""
FINAL_ATTEMPTS: Final = 3
"""Runs of one job the demo waits for, before it gives up on the channel."""
RERUN_PAUSE_S: Final = 0.5
"""Between a failed run and the next one."""
STEP_RETRY: Final = RetryPolicy(attempts=3, initial=0.1, maximum=1.0)
"""The call policy of the runs the demo waits for: a call the channel keeps failing
fails its run within a second or two, so the run's error is known well before the
deadline, and the few calls stay within the channel's burst (past it, the engine's
rate limiter would wait for Amazon's searchOrders rate, three minutes a call for
real). The scheduler's runs keep the hub's own policy."""


class DemoFailed(Exception):
    """A channel's job failed, or did not finish in time: the demo cannot go on."""

    def __init__(self, channel: str, job: str, error: str) -> None:
        super().__init__(channel, job, error)
        self.channel = channel
        self.job = job
        self.error = " ".join(error.split())  # one line, whatever the channel answered

    def __str__(self) -> str:
        return f"channel {self.channel}, job {self.job}: {self.error}"

    def masked(self, secrets: Iterable[str]) -> DemoFailed:
        """The same failure with every secret value masked."""
        return DemoFailed(self.channel, self.job, redact(self.error, secrets))


class Deadline:
    """`seconds` from when it is entered. When it passes, `expired` and `stop` are set;
    leaving it clears `stop` again, so the next step starts afresh."""

    def __init__(self, seconds: float, stop: threading.Event) -> None:
        self.seconds = seconds
        self.stop = stop
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self.stop.clear()
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            self.stop.clear()

    def expire(self) -> None:
        """The deadline has passed (its timer calls this; a test may call it sooner)."""
        with self._lock:
            if self._closed:
                return  # a timer firing late must not stop the step after this one
            self.expired.set()
            self.stop.set()

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds`, or less if the deadline passes meanwhile; whether it has."""
        return self.expired.wait(seconds)


class JobRunner(Protocol):
    """What `run_until_done` needs of a SyncEngine."""

    stop: threading.Event

    def supports(self, name: str, job: str) -> bool: ...
    def run(self, name: str, job: str) -> RunOutcome: ...


def run_until_done(
    runner: JobRunner, name: str, job: str, timeout: float, *, attempts: int = FINAL_ATTEMPTS
) -> RunOutcome | None:
    """Run `job` for channel `name` until a run succeeds (or succeeds in part), at most
    `attempts` times and for at most `timeout` seconds; DemoFailed otherwise.
    None when channels of this type have no such job."""
    if not runner.supports(name, job):
        return None
    last_error: str | None = None
    runs = 0
    with Deadline(timeout, runner.stop) as deadline:
        while runs < attempts:
            if runs and deadline.wait(RERUN_PAUSE_S):
                break
            outcome = runner.run(name, job)
            runs += 1
            if outcome.status in COMPLETED_STATUSES:
                return outcome
            if outcome.status == SyncRunStatus.CANCELLED.value:
                break  # the deadline stopped it
            last_error = outcome.error or outcome.status
            if outcome.status != SyncRunStatus.FAILED.value:
                # Skipped (paused after an auth failure, or running elsewhere): running it
                # again here changes nothing.
                raise DemoFailed(name, job, last_error)
        else:
            raise DemoFailed(name, job, f"{last_error} ({runs} runs failed)")
    said = f"; last error: {last_error}" if last_error else ""
    raise DemoFailed(name, job, f"not done within {timeout:g}s{said}")


class FailureWatch:
    """Reads the run records now and then; `check` raises DemoFailed once a job of a
    channel has failed run after run (no success since) for `limit` seconds of watching."""

    def __init__(
        self,
        engine: Engine,
        limit: float,
        *,
        names: Collection[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.limit = limit
        self.names = names
        self.clock = clock
        self.failing_since: dict[tuple[str, str], float] = {}
        """(channel, job) failing when last checked -> when it was first seen failing."""

    def check(self) -> None:
        now = self.clock()
        with Session(self.engine) as session:
            channels = channel_health(session, clock_of(session).now(), names=self.names)
        failing: dict[tuple[str, str], float] = {}
        worst: tuple[float, str, str, str] | None = None
        for channel in channels:
            for job in channel.jobs:
                if not job.consecutive_failures:
                    continue
                key = (channel.name, job.job)
                since = failing[key] = self.failing_since.get(key, now)
                if now - since >= self.limit and (worst is None or since < worst[0]):
                    worst = (since, channel.name, job.job, job.last_error or "failed")
        self.failing_since = failing
        if worst is not None:
            _, name, job_name, error = worst
            raise DemoFailed(name, job_name, f"{error} (failing for {now - worst[0]:.0f}s)")
