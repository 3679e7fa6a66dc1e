"""Test databases: a SQLite file per test, and a PostgreSQL schema per test process.

PostgreSQL runs when OMNISYNC_TEST_POSTGRES_URL is set (CI sets it). Each
pytest worker gets its own schema, so parallel workers never see each other.
Code that runs outside fixtures (a hypothesis state machine's examples) opens its
empty databases from `SQLITE_FILES` and `POSTGRES_SCHEMA`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

from omnisync.core.db import create_all, make_engine

POSTGRES_URL = os.environ.get("OMNISYNC_TEST_POSTGRES_URL")


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'omnisync.db'}"


def postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema; dropped afterwards."""
    assert POSTGRES_URL
    schema = f"omnisync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        else:
            for table in reversed(SQLModel.metadata.sorted_tables):
                connection.execute(table.delete())


def fresh_engine(url: str) -> Engine:
    engine = make_engine(url)
    create_all(engine)
    return engine


class SQLiteFiles:
    """A new SQLite file with every table at each `open`, in a folder removed when the
    process ends."""

    name = "SQLite"

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.opened = 0

    def open(self) -> Engine:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="omnisync-test-"))
            atexit.register(shutil.rmtree, self.folder, ignore_errors=True)
        self.opened += 1
        folder = self.folder / str(self.opened)
        folder.mkdir()
        return fresh_engine(sqlite_url(folder))


class PostgresSchema:
    """The process's own schema, with every table (made at the first `open`, dropped when
    the process ends), truncated at each `open`."""

    name = "Postgres"

    def __init__(self) -> None:
        self.url: str | None = None

    def open(self) -> Engine:
        if self.url is None:
            schema = postgres_schema()
            self.url = postgres_schema_url(schema.__enter__())
            atexit.register(schema.__exit__, None, None, None)
            fresh_engine(self.url).dispose()
        engine = make_engine(self.url)
        truncate_all(engine)
        return engine


SQLITE_FILES = SQLiteFiles()
POSTGRES_SCHEMA = PostgresSchema()
