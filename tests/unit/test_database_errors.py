"""The one line a command prints when the database fails under it (exit code 3)."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import OperationalError

from omnisync.hub.commands.database_errors import describe_database_failure

URL = "postgresql+psycopg://omnisync:s3cretpw@db.internal/omnisync"


def connecting(message: str) -> OperationalError:
    """What SQLAlchemy raises when the driver's connect() fails (no statement yet)."""
    return OperationalError(None, None, psycopg.OperationalError(message))


def test_a_server_that_does_not_answer() -> None:
    refused = connecting(
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
        "Connection refused\n\tIs the server running on that host?"
    )
    assert describe_database_failure(refused, URL) == (
        "database at db.internal:5432 does not answer (connection refused)"
    )
    timed_out = connecting("connection timeout expired")
    assert describe_database_failure(timed_out, URL) == (
        "database at db.internal:5432 does not answer (connection timeout expired)"
    )


def test_a_server_that_answers_no() -> None:
    refused = connecting(
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
        'FATAL:  password authentication failed for user "omnisync"'
    )
    assert describe_database_failure(refused, URL) == (
        "database at db.internal:5432 refused the connection "
        '(password authentication failed for user "omnisync")'
    )


def test_a_failure_after_connecting_names_the_first_line_only() -> None:
    locked = OperationalError(
        "UPDATE stock_levels ...", {}, sqlite3.OperationalError("database is locked")
    )
    assert describe_database_failure(locked, "sqlite:///var/omnisync.db") == (
        "database at var/omnisync.db failed: database is locked"
    )


def test_the_password_never_shows_and_a_bad_url_is_not_repeated() -> None:
    echoed = connecting("connection failed: something said s3cretpw")
    assert "s3cretpw" not in describe_database_failure(echoed, URL)
    assert describe_database_failure(echoed, "not a url").startswith("the database ")
    assert describe_database_failure(echoed, None).startswith("the database ")
