"""One source of the current time, always timezone-aware UTC, passed at construction.

The hub reads the time from a `Clock`. The database engine carries one
(`make_engine(url, clock=...)`, SystemClock by default): every session on that engine
knows it, and core code that has a session asks `clock_of(session).now()`. Core code
without a session takes `now` from its caller. Nothing else reads the wall clock, so a
test (or a replay) that hands the engine a ManualClock sees every timestamp the hub
writes follow it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, overload, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

CLOCK_OPTION = "omnisync_clock"
"""The engine's execution option that holds its clock (see `engine_clock`)."""


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


def utcnow() -> datetime:
    """The wall clock: SystemClock's implementation, not for direct use elsewhere."""
    return datetime.now(UTC)


class SystemClock:
    """The wall clock (the default)."""

    def now(self) -> datetime:
        return utcnow()

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told to (tests, replays). Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, value: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(value)

    def advance(self, by: timedelta) -> datetime:
        with self._lock:
            self._now += by
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def engine_clock(engine: Engine) -> Clock:
    """The clock `engine` was made with; SystemClock for an engine made elsewhere."""
    clock = engine.get_execution_options().get(CLOCK_OPTION)
    return clock if isinstance(clock, Clock) else SYSTEM_CLOCK


def clock_of(session: Session) -> Clock:
    """The clock of the engine `session` works on."""
    clock = session.info.get(CLOCK_OPTION)
    if isinstance(clock, Clock):
        return clock
    bind = session.get_bind()
    clock = bind.get_execution_options().get(CLOCK_OPTION)
    return clock if isinstance(clock, Clock) else SYSTEM_CLOCK


def ensure_utc(value: datetime) -> datetime:
    """Return `value` in UTC; naive datetimes are rejected, not guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone")
    return value.astimezone(UTC)


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """The one text form of a time in JSON output (the CLI's --json, the API, notifiers):
    `datetime.isoformat()`, so UTC reads `+00:00`; None stays None (JSON null)."""
    return value.isoformat() if value is not None else None
