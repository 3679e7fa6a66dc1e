"""The databases the fixtures hand out start as they claim (tests/support/databases.py).

They are made cheaply (a copied SQLite file, a PostgreSQL schema emptied with DELETE
rather than made again), so each must still be what a new one would be: every table,
no row, ids from 1, and for a migrated one the newest revision.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel, func, select

from omnisync.core.db import make_engine
from omnisync.core.models import Location
from omnisync.hub.database import head_revision, schema_revision
from tests.support.databases import MIGRATED_POSTGRES, POSTGRES_URL, empty_again, truncate_all

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"
)


def rows_in_every_table(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables
        }


def add_locations(engine: Engine, *codes: str) -> list[int]:
    with Session(engine) as session:
        locations = [Location(code=code) for code in codes]
        session.add_all(locations)
        session.commit()
        return [location.id or 0 for location in locations]


def assert_new(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= set(SQLModel.metadata.tables)
    assert not any(rows_in_every_table(engine).values())
    assert add_locations(engine, "first") == [1]


def test_a_database_is_new_and_emptied_again_as_new(engine: Engine) -> None:
    assert_new(engine)
    add_locations(engine, "second", "third")
    truncate_all(engine)
    assert_new(engine)


def test_a_migrated_database_is_at_the_newest_revision_with_no_row(
    migrated_database_url: str,
) -> None:
    engine = make_engine(migrated_database_url)
    try:
        assert schema_revision(engine) == head_revision()
        assert_new(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
@needs_postgres
def test_the_migrated_schema_handed_out_again_is_empty_at_the_same_revision(
    postgres_url: str,
) -> None:
    url = MIGRATED_POSTGRES.open()
    engine = make_engine(url)
    try:
        add_locations(engine, "left", "behind")
        assert MIGRATED_POSTGRES.open() == url
        assert schema_revision(engine) == head_revision()
        assert_new(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
@needs_postgres
def test_a_table_a_test_dropped_is_made_again(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text('DROP TABLE "tracking_events"'))
        empty_again(postgres_url)
        assert_new(engine)
    finally:
        engine.dispose()
