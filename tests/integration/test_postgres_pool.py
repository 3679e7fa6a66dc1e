"""The PostgreSQL pool replaces a connection the server dropped while it sat idle (the
checkout ping of core/db.py), and does not ping a connection that was just in use."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine.interfaces import DBAPIConnection

from omnisync.core import db
from omnisync.core.db import make_engine

pytestmark = pytest.mark.postgres


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    assert isinstance(pid, int)
    return pid


def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The answers of every ping the pool makes from now on."""
    answers: list[bool] = []
    ping = engine.dialect.do_ping

    def recorded(dbapi_connection: DBAPIConnection) -> bool:
        try:
            answers.append(ping(dbapi_connection))
        except Exception:
            answers.append(False)
            raise
        return answers[-1]

    monkeypatch.setattr(engine.dialect, "do_ping", recorded)
    return answers


def test_a_connection_dropped_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    admin = make_engine(postgres_url)
    try:
        first = backend_pid(engine)
        with admin.connect() as connection:
            assert connection.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": first}
            ).scalar()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        answers = pings(engine, monkeypatch)
        assert backend_pid(engine) != first  # no error: the pool connected again
        assert answers == [False]
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_back_from_use_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    try:
        first = backend_pid(engine)
        answers = pings(engine, monkeypatch)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert backend_pid(engine) == first
        assert answers == []
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        assert backend_pid(engine) == first
        assert answers == [True]
    finally:
        engine.dispose()
