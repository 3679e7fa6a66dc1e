"""Time sources for simulated marketplaces.

Marketplaces never call ``datetime.now`` directly: they ask a :class:`Clock`, so a
test can freeze or step time, and they stamp changes through a
:class:`MonotonicStamper`, so two changes on one server never share an
``updated_at`` (keyset pagination and cursors rely on that). Rate limits and quota
windows measure elapsed seconds on a ``monotonic`` source instead (``time.monotonic``
by default); a test hands them a :class:`ManualTimer` and steps it, so a window never
depends on how fast a loaded machine runs the test.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

MICROSECOND = timedelta(microseconds=1)


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (or by ``tick`` on every reading)."""

    def __init__(self, start: datetime, tick: timedelta | None = None) -> None:
        self._now = as_utc(start)
        self._tick = tick
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self._now
            if self._tick is not None:
                self._now += self._tick
            return current

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = as_utc(moment)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


class ManualTimer:
    """A stand-in for ``time.monotonic`` that moves only when told to (thread-safe).

    ``timer()`` reads it, in seconds; ``timer.advance(0.3)`` steps it forward.
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
