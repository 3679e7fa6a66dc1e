"""A PostgreSQL server that does not answer fails the connection after psycopg's
connect_timeout (core/db.py), so neither a command nor /readyz waits for it forever."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

import omnisync.core.db
from omnisync.core.db import POSTGRES_CONNECT_TIMEOUT_S, make_engine
from omnisync.hub.api import create_app
from omnisync.sync.engine import SyncEngine

HANG_BREAKER_S = 60
"""Not a timing check: only how long a regression may hang before the test fails."""


class Captured(Exception):
    """Raised instead of connecting, with the arguments the driver would have had."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        super().__init__("not connecting")
        self.arguments = arguments


def connect_arguments(engine: Engine) -> dict[str, Any]:
    @event.listens_for(engine, "do_connect")
    def capture(_dialect: Any, _record: Any, _args: Any, arguments: dict[str, Any]) -> None:
        raise Captured(dict(arguments))

    with pytest.raises(Captured) as captured:
        engine.connect()
    engine.dispose()
    return captured.value.arguments


def test_a_postgresql_engine_gets_a_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    url = "postgresql+psycopg://u:pw@db.example:5432/omnisync"
    assert connect_arguments(make_engine(url))["connect_timeout"] == POSTGRES_CONNECT_TIMEOUT_S
    assert connect_arguments(make_engine(f"{url}?connect_timeout=30"))["connect_timeout"] == "30"
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "20")  # libpq reads it: left to libpq
    assert "connect_timeout" not in connect_arguments(make_engine(url))


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes TCP connections and never answers one, as a hung or black-holed
    server would; closed after HANG_BREAKER_S, so a regression fails instead of hanging."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # never accepted: the handshake completes, no reply ever comes
    breaker = threading.Timer(HANG_BREAKER_S, listener.close)
    breaker.start()
    yield listener.getsockname()[1]
    breaker.cancel()
    listener.close()


def test_readyz_is_503_when_the_database_never_answers(
    silent_server: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.setattr(omnisync.core.db, "POSTGRES_CONNECT_TIMEOUT_S", 2)  # the default, shorter
    silent = make_engine(f"postgresql+psycopg://u:pw@127.0.0.1:{silent_server}/x")
    sync = SyncEngine(silent, [])
    client = TestClient(create_app(sync, scheduler_running=lambda: True))
    try:
        with caplog.at_level(logging.WARNING, logger="omnisync.hub.api"):
            response = client.get("/readyz")
    finally:
        sync.close()
        silent.dispose()
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable (OperationalError)"
    assert "timeout expired" in caplog.text  # the timeout, not the breaker, ended the wait
