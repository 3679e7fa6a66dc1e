"""The connection pool of procrastinate's side of a worker (fetching and finishing tasks).

procrastinate checks every connection it takes from its pool with a round trip; a worker
takes one at least twice per task. This pool checks only a connection that sat unused
for IDLE_CHECK_S or more, as core/db.py does for the hub's own pool: one the server may
have dropped is still replaced before use."""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

IDLE_CHECK_S = 5.0


def idle_checked_pool(**pool_args: Any) -> AsyncConnectionPool:
    """procrastinate's pool_factory: its arguments, with the check above."""
    returned: WeakKeyDictionary[AsyncConnection[Any], float] = WeakKeyDictionary()

    async def note_return(connection: AsyncConnection[Any]) -> None:
        returned[connection] = time.monotonic()

    async def check_if_idle(connection: AsyncConnection[Any]) -> None:
        since = returned.get(connection)
        if since is not None and time.monotonic() - since >= IDLE_CHECK_S:
            await AsyncConnectionPool.check_connection(connection)

    return AsyncConnectionPool(**{**pool_args, "check": check_if_idle, "reset": note_return})
