"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from core.db import make_engine
from hub.database import head_revision, migrate, schema_revision


def test_migrations_create_the_schema_of_the_models(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert schema_revision(engine) is None
        migrate(engine)
        assert schema_revision(engine) == head_revision()
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite
            differences = compare_metadata(
                MigrationContext.configure(connection), SQLModel.metadata
            )
        assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        migrate(engine)  # running it again is a no-op
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()
