"""Test databases: a SQLite file per test, and a PostgreSQL schema per test process.

PostgreSQL runs when OMNISYNC_TEST_POSTGRES_URL is set (CI sets it). Each
pytest worker gets its own schema, so parallel workers never see each other.
Code that runs outside fixtures (a hypothesis state machine's examples) opens its
empty databases from `SQLITE_FILES` and `POSTGRES_SCHEMA`.

Thousands of tests start on an empty database, so making one is kept cheap: a SQLite
file with every table is a copy of one the process made once (`create_all` costs about
0.05 s, a copy a few ms), one migrated by Alembic likewise (`migrated_sqlite_file`:
0.25 s against 0.05 s); PostgreSQL's tables are emptied with DELETE and their sequences
restarted (TRUNCATE of every table costs 0.2 to 0.6 s, as it makes every table's files
anew; DELETE of a test's few rows about 0.02 s), and a test that starts from `omnisync
init` gets the process's migrated schema emptied (`MIGRATED_POSTGRES`) rather than a new
schema migrated (0.08 s against 0.6 s).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, exc, make_url, text
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
    schema = f"omnisync_test_{uuid.uuid4().hex[:12]}"
    _create_schema(schema)
    try:
        yield schema
    finally:
        _drop_schema(schema)


def _create_schema(schema: str) -> None:
    _admin(f'CREATE SCHEMA "{schema}"')


def _drop_schema(schema: str) -> None:
    _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _admin(statement: str) -> None:
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


RESTART_SEQUENCES = """
DO $$
DECLARE sequence regclass;
BEGIN
    FOR sequence IN
        SELECT oid::regclass FROM pg_class
        WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace
    LOOP
        PERFORM setval(sequence, 1, false);
    END LOOP;
END $$
"""
"""Every sequence of the schema back at its start (what TRUNCATE ... RESTART IDENTITY
does), in one round trip."""

EMPTY_QUEUE = """
DO $$
BEGIN
    IF to_regclass(quote_ident(current_schema()) || '.procrastinate_jobs') IS NOT NULL THEN
        DELETE FROM procrastinate_periodic_defers;
        DELETE FROM procrastinate_events;
        DELETE FROM procrastinate_jobs;
        DELETE FROM procrastinate_workers;
    END IF;
END $$
"""
"""procrastinate's tables emptied where migration 0019 made them (PostgreSQL, migrated),
so that no test sees another's tasks or workers; in the same round trip as the rest."""


def truncate_all(engine: Engine, *, keep_version: bool = False) -> None:
    """Every table of the metadata emptied, identities restarted, and Alembic's version
    table dropped (a test may have run `omnisync init` on the database): the state
    `fresh_engine` leaves. With `keep_version`, a migrated database keeps its version:
    the state the migrations leave."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())
        return
    version = "" if keep_version else "; DROP TABLE IF EXISTS alembic_version"
    # DELETE in dependency order rather than TRUNCATE: a test leaves a few rows, which
    # DELETE removes in milliseconds, where TRUNCATE rewrites every table's files.
    deletes = "; ".join(str(table.delete().compile(dialect=engine.dialect)) for table in tables)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"{deletes}; {EMPTY_QUEUE}; {RESTART_SEQUENCES}{version}")
    except exc.IntegrityError:
        # A table outside the metadata (a migration ahead of the models) refers to one
        # of ours: TRUNCATE ... CASCADE empties it too.
        names = ", ".join(f'"{table.name}"' for table in tables)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE{version}")


def empty_again(url: str) -> None:
    """The database at `url`, which has had every table, as `fresh_engine` leaves it:
    emptied, and a table a test dropped made again (asking for every table first would
    cost a query per table)."""
    engine = make_engine(url)
    try:
        try:
            truncate_all(engine)
        except exc.ProgrammingError:  # a table is missing
            create_all(engine)
            truncate_all(engine)
    finally:
        engine.dispose()


def fresh_engine(url: str) -> Engine:
    """An engine on `url`, whose database gets every table of the metadata (`create_all`);
    a SQLite file not there yet is a copy of one made so once in this process."""
    if _new_sqlite_file(url) is not None:
        _copy_template(url, _template("create_all", create_all))
        return make_engine(url)
    engine = make_engine(url)
    create_all(engine)
    return engine


def migrated_sqlite_file(url: str) -> bool:
    """If `url` is a SQLite file not there yet, make it as `omnisync init` would (migrated
    to the newest revision), as a copy of one this process migrated once, and say so."""
    if _new_sqlite_file(url) is None:
        return False
    from omnisync.hub.database import migrate

    _copy_template(url, _template("migrated", migrate))
    return True


def _new_sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


_TEMPLATES: dict[tuple[str, tuple[str, ...]], Path] = {}
"""The template files made so far, by kind and the metadata's tables."""


def _template(kind: str, build: Callable[[Engine], None]) -> Path:
    """The process's SQLite file that `build` made from nothing, made at the first call.
    Keyed by the tables the metadata has then, so a model imported later makes another."""
    key = (kind, tuple(sorted(SQLModel.metadata.tables)))
    path = _TEMPLATES.get(key)
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="omnisync-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "omnisync.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            build(engine)
        finally:
            engine.dispose()  # the last connection closed: the WAL is checkpointed away
        assert not path.with_name(path.name + "-wal").exists(), path
        _TEMPLATES[key] = path
    return path


def _copy_template(url: str, template: Path) -> None:
    target = _new_sqlite_file(url)
    assert target is not None, url
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


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


class MigratedPostgresSchema:
    """The process's own schema as `omnisync init` leaves it: migrated at the first `open`
    (dropped when the process ends), then emptied at each `open` with its revision kept.
    Should a test have dropped a table or moved the revision, the schema is made again."""

    def __init__(self) -> None:
        self.schema: str | None = None

    def open(self) -> str:
        """The URL of the schema, with every table and no rows."""
        from omnisync.hub.database import migrate, schema_revision

        if self.schema is not None:
            url = postgres_schema_url(self.schema)
            engine = make_engine(url)
            try:
                truncate_all(engine, keep_version=True)
                if schema_revision(engine) == _head_revision():
                    return url
            except exc.ProgrammingError:
                pass  # a table is missing
            finally:
                engine.dispose()
            _drop_schema(self.schema)
        self.schema = f"omnisync_test_{uuid.uuid4().hex[:12]}"
        _create_schema(self.schema)
        atexit.register(_drop_schema, self.schema)
        engine = make_engine(postgres_schema_url(self.schema))
        try:
            migrate(engine)
        finally:
            engine.dispose()
        return postgres_schema_url(self.schema)


@functools.cache
def _head_revision() -> str | None:
    from omnisync.hub.database import head_revision

    return head_revision()


SQLITE_FILES = SQLiteFiles()
POSTGRES_SCHEMA = PostgresSchema()
MIGRATED_POSTGRES = MigratedPostgresSchema()
