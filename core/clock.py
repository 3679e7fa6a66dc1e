"""One source of the current time, always timezone-aware UTC."""

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


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
