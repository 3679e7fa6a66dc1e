from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.databases import (
    POSTGRES_URL,
    fresh_engine,
    postgres_schema,
    postgres_schema_url,
    sqlite_url,
    truncate_all,
)

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A schema of this test process's own on the test PostgreSQL server."""
    with postgres_schema() as schema:
        url = postgres_schema_url(schema)
        fresh_engine(url).dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with every table, on each backend in turn."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        fresh_engine(url).dispose()
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    engine = fresh_engine(url)
    truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from omnisync.core.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migrations and `omnisync init`), per backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with postgres_schema() as schema:
        yield postgres_schema_url(schema)
