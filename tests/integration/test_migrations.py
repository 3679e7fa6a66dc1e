"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlmodel import Session, SQLModel, select

from omnisync.core.db import make_engine
from omnisync.core.models import Channel
from omnisync.core.models.tables import is_hub_table
from omnisync.hub.database import (
    MIGRATIONS_DIR,
    head_revision,
    migrate,
    schema_revision,
)


def test_migrations_create_the_schema_of_the_models(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert schema_revision(engine) is None
        migrate(engine)
        assert schema_revision(engine) == head_revision()
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite
            differences = compare_metadata(
                MigrationContext.configure(connection, opts={"include_name": is_hub_table}),
                SQLModel.metadata,
            )
        assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        migrate(engine)  # running it again is a no-op
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_channels_that_took_orders_are_taken_over_at_their_first_orders_run(
    empty_database_url: str,
) -> None:
    """0007: live_since is the start of the first orders run, else the first order's intake;
    a channel that never took orders waits for its first run."""
    engine = make_engine(empty_database_url)
    first_run = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    first_order = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection, only=["channels", "sync_runs", "orders"])
            channels, runs, orders = (
                tables.tables[name] for name in ("channels", "sync_runs", "orders")
            )
            for channel_id, name in enumerate(("polled", "pushed", "new"), start=1):
                connection.execute(
                    channels.insert().values(
                        id=channel_id,
                        name=name,
                        type="test",
                        enabled=True,
                        config_fingerprint="",
                        created_at=first_run,
                        updated_at=first_run,
                    )
                )
            for started in (first_run + timedelta(days=1), first_run):
                connection.execute(
                    runs.insert().values(
                        channel_id=1, job="orders", status="succeeded", started_at=started
                    )
                )
            connection.execute(
                runs.insert().values(
                    channel_id=3, job="listings", status="succeeded", started_at=first_run
                )
            )
            connection.execute(
                orders.insert().values(
                    channel_id=2,
                    external_id="1",
                    status="accepted",
                    channel_status="",
                    placed_at=first_order,
                    updated_at=first_order,
                    fulfilled_by_channel=False,
                    oversold=False,
                    ingested_at=first_order,
                    modified_at=first_order,
                )
            )
        migrate(engine)
        with Session(engine) as session:
            taken_over = {row.name: row.live_since for row in session.exec(select(Channel))}
        assert taken_over == {"polled": first_run, "pushed": first_order, "new": None}
    finally:
        engine.dispose()
