"""Fixtures every tier shares, and the tier of every test, from the folder it lives in.

Each test gets one of the markers ``unit``, ``integration`` or ``e2e`` from its folder
(:data:`TIERS`), so ``-m unit`` selects the same tests however they were collected, and
``make test-fast`` (``-m "unit and not slow"``) needs no list of files to keep up to
date. A test in a folder with no tier is a collection error rather than a test that
silently joins no tier. ``tests/contract`` runs every connector on recorded payloads
and mocked transports, in-process, so it is a unit tier; ``tests/cli`` drives the
command line against a real database (and sometimes a simulator), so it is
integration. ``slow`` (more than about 2 s) is set by hand, on the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import Engine

from tests.support.databases import (
    MIGRATED_POSTGRES,
    POSTGRES_URL,
    empty_again,
    fresh_engine,
    migrated_sqlite_file,
    postgres_schema,
    postgres_schema_url,
    sqlite_url,
)
from tests.support.sqs import sqs_server_fixture

TESTS_ROOT: Final = Path(__file__).parent
TIERS: Final = {
    "unit": "unit",
    "contract": "unit",
    "integration": "integration",
    "cli": "integration",
    "e2e": "e2e",
    "browser": "browser",
}
"""The tier marker of each folder of tests/."""

sqs_server = sqs_server_fixture()
"""moto's SQS server on loopback, one per test process, started by the first test that
asks for it (tests/support/sqs.py)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = tier_folder(item.path)
        if folder is None:
            continue  # not one of ours (a hook in a conftest sees every collected item)
        tier = TIERS.get(folder)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: tests/{folder} has no tier; add it to TIERS in tests/conftest.py"
            )
        item.add_marker(tier)


def tier_folder(path: Path) -> str | None:
    """The folder of tests/ that ``path`` is in: ``""`` for a file at the top, None
    outside tests/."""
    try:
        relative = path.resolve().relative_to(TESTS_ROOT.resolve())
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) > 1 else ""


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
    empty_again(url)
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from omnisync.core.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clocked(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """`engine` on the test module's own `clock` fixture (a ManualClock), which the
    module defines with the time it starts at."""
    from omnisync.core.db import make_engine

    engine = make_engine(database_url, clock=request.getfixturevalue("clock"))
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database as `omnisync init` leaves it (migrated to the newest revision, no rows),
    per backend, for a test that starts from `init` but is not about the migrations (those
    take `empty_database_url`): a SQLite file copied from one this process migrated, and
    this process's migrated PostgreSQL schema, emptied. `omnisync init` and
    `bootstrap(create=True)` find nothing to do on it."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        migrated_sqlite_file(url)
        return url
    return MIGRATED_POSTGRES.open()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migrations and `omnisync init`), per backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with postgres_schema() as schema:
        yield postgres_schema_url(schema)
