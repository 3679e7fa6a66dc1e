"""The database failing under a command, said in one line: where it is and what failed.

The address comes from the URL without its password; the reason is the first line
of the driver's message (libpq and SQLite never put the password there, and it is
masked all the same).
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import OperationalError as SqlAlchemyOperationalError

from omnisync.core.redaction import redact

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SqlAlchemyOperationalError,
    psycopg.OperationalError,
    sqlite3.OperationalError,
)
"""Failures of the database rather than of the command: it cannot be reached, opened,
or it gave up (a lock it waited too long for, a connection it lost)."""

POSTGRES_DEFAULT_PORT = 5432


def describe_database_failure(error: Exception, database_url: str | None) -> str:
    """`database at HOST:PORT does not answer (connection refused)` and the like."""
    url = _parsed(database_url)
    where = f"database at {database_address(url)}" if url is not None else "the database"
    reason = _reason(error.orig if isinstance(error, DBAPIError) and error.orig else error)
    secrets = [url.password] if url is not None and url.password else []
    return redact(f"{where} {_what_failed(error, url, reason)}", secrets)


def database_address(url: URL) -> str:
    """HOST:PORT, or the file of a SQLite database; never the user or the password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    port = url.port or (POSTGRES_DEFAULT_PORT if url.get_backend_name() == "postgresql" else None)
    host = url.host or "localhost"
    return f"{host}:{port}" if port else host


def _what_failed(error: Exception, url: URL | None, reason: str) -> str:
    connecting = isinstance(error, DBAPIError) and error.statement is None
    if not connecting:
        return f"failed: {reason}"
    if url is not None and url.get_backend_name() == "sqlite":
        return f"cannot be opened ({reason})"
    if reason.startswith("FATAL:"):  # the server answered, and said no
        return f"refused the connection ({reason.removeprefix('FATAL:').strip()})"
    return f"does not answer ({reason})"


def _reason(error: BaseException) -> str:
    """The first line of the driver's message; libpq's `connection failed: connection to
    server at "HOST", port PORT failed: Connection refused` becomes `connection refused`."""
    lines = str(error).strip().splitlines()
    line = " ".join(lines[0].split()) if lines else type(error).__name__
    reason = line.rsplit(" failed: ", 1)[-1] or line
    if reason[:2].istitle():  # "Connection refused", not "FATAL: ..."
        reason = reason[0].lower() + reason[1:]
    return reason


def _parsed(database_url: str | None) -> URL | None:
    if database_url is None:
        return None
    try:
        return make_url(database_url)
    except ArgumentError:
        return None
