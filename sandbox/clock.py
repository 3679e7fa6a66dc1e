"""Time sources for simulated marketplaces: one clock per simulator, both kinds of time.

A simulator is constructed with one :class:`Clock` and reads every time it needs from
it: ``now()`` for the times it reports and stamps (order dates, ``updated_at``, feed
processing, parcel scans) and ``monotonic()`` for the seconds its token buckets, cost
bucket and quota windows measure. What a simulator models never reads
``datetime.now``, ``time.time`` or ``time.monotonic`` itself, so a test that hands it a
:class:`ManualClock` decides when a bucket refills by stepping the clock, and no test
waits on a bucket or depends on how fast a loaded machine runs it. The default,
:class:`SystemClock`, is the wall clock and ``time.monotonic``, so the demo and the
standalone simulators behave as real channels do.

Real time is left only where the other side measures it: a slow or timeout fault holds
the response for real seconds (a client's timeout counts them), the helpers that wait
for background work (``wait_for_feeds``, ``wait_for_webhooks``) give up after real
seconds, and a UPS token's ``issued_at`` is real time, because karrio checks it against
its own wall clock.

Changes are stamped through a :class:`MonotonicStamper`, so two changes on one server
never share an ``updated_at`` (keyset pagination and cursors rely on that).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

MICROSECOND = timedelta(microseconds=1)


class Clock(Protocol):
    """The time a simulator reads: the wall time, and elapsed seconds."""

    def now(self) -> datetime:
        """The current time, an aware UTC datetime (it may be stepped, even back)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a scale that never goes back, for rates and windows."""
        ...


class SystemClock:
    """The wall clock in UTC, and ``time.monotonic``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualTimer:
    """A stand-in for ``time.monotonic`` that moves only when told to (thread-safe).

    ``timer()`` reads it, in seconds; ``timer.advance(0.3)`` steps it forward. For
    what takes a bare time source (a :class:`~sandbox.ratelimit.TokenBucket`, a
    connector's bucket); a simulator takes a :class:`ManualClock`, which keeps one.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic time source never goes back")
        with self._lock:
            self._now += seconds


class ManualClock:
    """A clock that moves only when told to (or by ``tick`` on every reading of ``now``).

    ``monotonic()`` counts the seconds the clock moved forward since it was made
    (advances, ticks and forward ``set``), and reading it moves nothing. Setting the
    wall time back leaves it standing, as an NTP step does to ``time.monotonic``.
    """

    def __init__(self, start: datetime, tick: timedelta | None = None) -> None:
        self._now = as_utc(start)
        self._tick = tick
        self._elapsed = ManualTimer()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self._now
            if self._tick is not None:
                self._move(self._tick)
            return current

    def monotonic(self) -> float:
        return self._elapsed()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._move(as_utc(moment) - self._now)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._move(delta)

    def _move(self, delta: timedelta) -> None:
        self._now += delta
        self._elapsed.advance(max(0.0, delta.total_seconds()))


class MonotonicStamper:
    """Hands out strictly increasing timestamps from a clock.

    When the clock stands still or goes back (a frozen test clock, two changes in
    one microsecond, an NTP step), the stamp is the previous one plus one
    microsecond.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def stamp(self) -> datetime:
        with self._lock:
            moment = as_utc(self._clock.now())
            if self._last is not None and moment <= self._last:
                moment = self._last + MICROSECOND
            self._last = moment
            return moment

    def observe(self, moment: datetime) -> None:
        """Never stamp at or before ``moment`` again (used for explicitly set times)."""
        moment = as_utc(moment)
        with self._lock:
            if self._last is None or moment > self._last:
                self._last = moment


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def isoformat(moment: datetime) -> str:
    """``2026-11-22T10:00:00.123456+00:00``: always UTC, always microseconds."""
    return as_utc(moment).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or an offset; naive means UTC)."""
    return as_utc(datetime.fromisoformat(text))
