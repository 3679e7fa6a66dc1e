"""Engines and sessions for SQLite (the default) and PostgreSQL (psycopg 3).

SQLite runs in WAL mode with a busy timeout and foreign keys on, and every
writing transaction starts with BEGIN IMMEDIATE: writers queue up front instead
of failing when a read lock would have to be upgraded half-way through.
Read-only transactions start deferred and never wait for writers (WAL).
A PostgreSQL server that does not answer fails a connection attempt after
POSTGRES_CONNECT_TIMEOUT_S rather than hanging it (a URL's own
`?connect_timeout=` wins).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, exists, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session, SQLModel, select

import omnisync.core.models  # noqa: F401  (registers every table on the metadata)
from omnisync.core.clock import CLOCK_OPTION, SYSTEM_CLOCK, Clock, engine_clock

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "omnisync_idle_since"
POSTGRES_CONNECT_TIMEOUT_S = 5
T = TypeVar("T")
READ_ONLY_OPTION = "omnisync_read_only"


def make_engine(
    database_url: str,
    *,
    echo: bool = False,
    clock: Clock | None = None,
    pool_size: int | None = None,
) -> Engine:
    """The hub's engine. It carries `clock` (SystemClock by default): every session on it
    reads the time from that clock (`clock_of(session)`), never from the wall clock.
    `pool_size`: PostgreSQL connections kept open (as many again may open for a while);
    SQLAlchemy's 5 by default."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(database_url, echo=echo)
    else:
        sizes = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
        engine = create_engine(database_url, echo=echo, connect_args=_connect_args(url), **sizes)
        _ping_when_idle(engine)
    engine.update_execution_options(**{CLOCK_OPTION: clock or SYSTEM_CLOCK})
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as pool_pre_ping does, but only for a connection
    that sat in the pool longer than PING_AFTER_IDLE_S: one the server may have dropped
    (a restart, an idle timeout) is replaced before use, and a busy process (a worker
    runs several transactions per task) does not pay a round trip per transaction."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection is gone")  # the pool reconnects


def _connect_args(url: URL) -> dict[str, Any]:
    """psycopg's connect_timeout, unless the URL's `?connect_timeout=` or the
    PGCONNECT_TIMEOUT variable sets one already."""
    if url.get_backend_name() != "postgresql":
        return {}
    if "connect_timeout" in url.query or "PGCONNECT_TIMEOUT" in os.environ:
        return {}
    return {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}


def _sqlite_engine(database_url: str, *, echo: bool) -> Engine:
    url = make_url(database_url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        database_url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class HubSession(Session):
    """A session `transaction()` opened on `database`. A listener that belongs to one hub
    (the scheduler's after_commit) listens on this class and checks `database`: the
    sessions of another engine in the same process are none of its business."""

    def __init__(self, database: Engine, *, read_only: bool = False) -> None:
        bind = database.execution_options(**{READ_ONLY_OPTION: True}) if read_only else database
        super().__init__(bind, expire_on_commit=False)
        self.database = database
        self.clock = engine_clock(database)
        """The clock of `database` (core reads it as `clock_of(session)`)."""
        self.info[CLOCK_OPTION] = self.clock


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception.

    `read_only` promises no writes, so SQLite need not take the write lock.
    """
    with HubSession(engine, read_only=read_only) as session, session.begin():
        yield session


# PostgreSQL aborts one of two transactions that wait on each other (deadlock) or
# that cannot both be serialised; running the loser again is the documented cure.
_RETRIABLE_SQLSTATES = frozenset({"40P01", "40001"})
TRANSACTION_ATTEMPTS = 5


def is_retriable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RETRIABLE_SQLSTATES


def run_in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run `work` in a transaction, again from the start if the database aborted it
    as a deadlock victim or a serialisation failure."""
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with transaction(engine) as session:
                return work(session)
        except DBAPIError as error:
            if attempt == TRANSACTION_ATTEMPTS or not is_retriable(error):
                raise
            time.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 (jitter, not crypto)
    raise AssertionError("unreachable")


def create_all(engine: Engine) -> None:
    """Create every table directly (tests); deployments use the Alembic migrations."""
    SQLModel.metadata.create_all(engine)


def insert_ignoring_conflict(
    session: Session, table: Any, values: dict[str, Any], conflict_columns: Sequence[str]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on both backends; True if a row was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*table.primary_key.columns)
    )
    # rowcount is unreliable with RETURNING on some drivers; a returned row is not.
    return session.execute(statement).first() is not None


def exists_where(session: Session, *conditions: Any) -> bool:
    """Whether any row meets every condition (SELECT EXISTS ...)."""
    return bool(session.exec(select(exists().where(*conditions))).one())


def count_where(session: Session, table: type[SQLModel], *conditions: Any) -> int:
    """How many rows of `table` meet every condition (SELECT count(*) ...)."""
    return int(session.exec(select(func.count()).select_from(table).where(*conditions)).one())
