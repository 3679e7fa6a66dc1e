"""The pool of a worker's procrastinate side (sync/queue/pool.py): a connection the server
dropped while it sat idle is replaced; one just returned is not checked again."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from omnisync.sync.queue import pool as queue_pool
from omnisync.sync.queue.app import conninfo
from omnisync.sync.queue.pool import idle_checked_pool

pytestmark = pytest.mark.postgres


def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backend pid of every connection the pool checks from now on."""
    checked: list[int] = []
    check = AsyncConnectionPool.check_connection

    async def recorded(connection: psycopg.AsyncConnection[Any]) -> None:
        checked.append(connection.info.backend_pid)
        await check(connection)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", recorded)
    return checked


async def backend_pid(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as connection:
        row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


def test_a_connection_dropped_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        pool = idle_checked_pool(
            conninfo=conninfo(postgres_url), min_size=1, max_size=1, open=False
        )
        await pool.open(wait=True)
        try:
            first = await backend_pid(pool)
            checked = checks(monkeypatch)
            assert await backend_pid(pool) == first
            assert checked == []  # just returned: not checked
            with psycopg.connect(conninfo(postgres_url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            monkeypatch.setattr(queue_pool, "IDLE_CHECK_S", 0.0)
            assert await backend_pid(pool) != first  # no error: a new connection
            assert checked[0] == first
        finally:
            await pool.close()

    asyncio.run(scenario())
