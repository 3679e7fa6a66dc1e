"""Login throttling: after `MAX_FAILURES_PER_NAME` failed logins for one name, or
`MAX_FAILURES_PER_CLIENT` from one client address, within `WINDOW`, further tries are
refused (HTTP 429) until the window has moved on, even with the right password. Counted
in the database, so every hub process on it throttles together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.core.users import end_expired_sessions, failed_logins_since, forget_login_attempts

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_CLIENT = 20


@dataclass(frozen=True)
class Throttled:
    message: str


def tidy(session: Session) -> None:
    """What no login needs any more: attempts older than the window, expired sessions.
    Done at each login, so neither table grows without end."""
    forget_login_attempts(session, clock_of(session).now() - WINDOW)
    end_expired_sessions(session)


def login_throttled(session: Session, name: str, client: str) -> Throttled | None:
    since = clock_of(session).now() - WINDOW
    minutes = int(WINDOW.total_seconds() // 60)
    if failed_logins_since(session, since, name=name) >= MAX_FAILURES_PER_NAME:
        return Throttled(
            f"too many failed logins for {name!r}: try again in up to {minutes} minutes"
        )
    if failed_logins_since(session, since, client=client) >= MAX_FAILURES_PER_CLIENT:
        return Throttled(f"too many failed logins from here: try again in up to {minutes} minutes")
    return None
