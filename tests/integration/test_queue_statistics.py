"""The sweeper keeps procrastinate_jobs' statistics fresh (sweeps.refresh_queue_statistics),
and the task table has the lock index of migration 0020 that a worker's fetch uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from omnisync.core.db import make_engine, transaction
from omnisync.sync.queue.sweeps import refresh_queue_statistics
from tests.support.queue_hub import queue_database

pytestmark = pytest.mark.postgres

FETCH_CHECK = """
EXPLAIN SELECT 1 FROM procrastinate_jobs AS other_jobs
 WHERE other_jobs.lock = 'omnisync:push_stock:channel:7'
   AND (other_jobs.status = 'doing' OR other_jobs.status = 'todo')
"""
"""The shape of the check procrastinate_fetch_job_v2 makes for each candidate task."""


@pytest.fixture
def engine() -> Iterator[Engine]:
    with queue_database() as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def add_tasks(engine: Engine, count: int, *, first: int = 1) -> None:
    """`count` waiting tasks, each of its own lock (channels `first` on); their counts
    reach the statistics."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock,"
                " args, status) SELECT 'sandbox', 'omnisync.push_stock',"
                " 'omnisync:push_stock:channel:' || n, 'omnisync:push_stock:channel:' || n"
                " || '/waiting', '{}', 'todo'"
                " FROM generate_series(:first, :first + :count - 1) AS n"
            ),
            {"count": count, "first": first},
        )
        connection.execute(text("SELECT pg_stat_force_next_flush()"))


def last_analyzed(engine: Engine) -> object:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT last_analyze FROM pg_stat_user_tables"
                " WHERE relid = 'procrastinate_jobs'::regclass"
            )
        ).scalar()


def test_the_table_is_analysed_once_enough_tasks_came_and_went(engine: Engine) -> None:
    add_tasks(engine, 40)
    with transaction(engine) as session:
        assert not refresh_queue_statistics(session, changes=100)
    assert last_analyzed(engine) is None
    add_tasks(engine, 100, first=41)
    with transaction(engine) as session:
        assert refresh_queue_statistics(session, changes=100)
    assert last_analyzed(engine) is not None


def test_a_fetch_checks_a_lock_through_the_lock_index(engine: Engine) -> None:
    add_tasks(engine, 2000)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE procrastinate_jobs"))
        plan = "\n".join(row[0] for row in connection.execute(text(FETCH_CHECK)))
    assert "omnisync_procrastinate_jobs_lock_idx" in plan
