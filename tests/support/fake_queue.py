"""Queue states of runner `procrastinate` built by hand, in-process: tasks deferred by
procrastinate's own SQL function, worker rows whose heartbeat is as old as the test says,
tasks taken by a worker, periodic ticks deferred some seconds ago. For /metrics, the
alert rules and `omnisync status` (no worker process needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session, select

from omnisync.core.db import transaction
from omnisync.core.models import Channel
from omnisync.core.types import UTCDateTime
from omnisync.hub.bootstrap import Hub, bootstrap
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.hook import remove_push_hook
from omnisync.sync.queue.names import lock_of, queueing_lock_of, task_name, tick_name
from tests.support.hub_setup import sandbox_channel
from tests.support.queue_hub import queue_config, queue_database

SANDBOX_KEY = "fake-queue-sandbox-key-41f0"

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))"
).bindparams(bindparam("at", type_=UTCDateTime()))
_CLEAR = [
    text("DELETE FROM procrastinate_periodic_defers"),
    text("DELETE FROM procrastinate_events"),
    text("DELETE FROM procrastinate_jobs"),
    text("DELETE FROM procrastinate_workers"),
    text("DELETE FROM alerts"),
]


def defer_task(
    session: Session,
    queue: str,
    channel_id: int,
    *,
    job: JobName = JobName.STOCK,
    at: datetime | None = None,
) -> int:
    """A task of `job` for the channel in `queue` (due now, or at `at`): its job id."""
    params = {
        "queue": queue,
        "task": task_name(job),
        "lock": lock_of(job, channel_id, None),
        "queueing_lock": queueing_lock_of(job, channel_id),
        "args": json.dumps({"channel_id": channel_id}),
        "at": at,
    }
    return int(session.execute(_DEFER, params).scalar_one())


def add_worker(session: Session, *, silent_for: timedelta = timedelta(0)) -> int:
    """A worker row whose last heartbeat was `silent_for` ago: its id."""
    return int(
        session.execute(
            text(
                "INSERT INTO procrastinate_workers(last_heartbeat) "
                "VALUES (now() - make_interval(secs => :seconds)) RETURNING id"
            ),
            {"seconds": silent_for.total_seconds()},
        ).scalar_one()
    )


def start_task(session: Session, job_id: int, worker_id: int) -> None:
    """The worker takes the task (status `doing`), as procrastinate's fetch would."""
    session.execute(
        text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker WHERE id = :id"),
        {"worker": worker_id, "id": job_id},
    )


def tick(session: Session, job: JobName, *, ago: timedelta) -> None:
    """The job kind's periodic tick, recorded as deferred `ago` (its task already run and
    gone: procrastinate's periodic_defers row is what says when a tick last came)."""
    session.execute(
        text(
            "INSERT INTO procrastinate_periodic_defers (task_name, periodic_id, defer_timestamp) "
            "VALUES (:task, :id, "
            "CAST(floor(EXTRACT(EPOCH FROM now() - make_interval(secs => :ago))) AS bigint))"
        ),
        {"task": tick_name(job), "id": str(job), "ago": ago.total_seconds()},
    )


def tick_all(session: Session, *, ago: timedelta = timedelta(0)) -> None:
    for job in JobName:
        tick(session, job, ago=ago)


def clear_queue(engine: Engine) -> None:
    """No task, worker, tick or alert left."""
    with transaction(engine) as session:
        for statement in _CLEAR:
            session.execute(statement)


def set_heartbeat(session: Session, worker_id: int, *, silent_for: timedelta) -> None:
    session.execute(
        text(
            "UPDATE procrastinate_workers "
            "SET last_heartbeat = now() - make_interval(secs => :seconds) WHERE id = :id"
        ),
        {"seconds": silent_for.total_seconds(), "id": worker_id},
    )


@contextmanager
def queue_test_hub(folder: Path, *, api_token: str | None = None) -> Iterator[Hub]:
    """A hub of runner `procrastinate` on a fresh PostgreSQL schema, with two sandbox
    channels (north, south; never called) and the environment their files need."""
    with pytest.MonkeyPatch.context() as patch, queue_database() as url:
        patch.setenv("SB_KEY", SANDBOX_KEY)
        config = queue_config(
            folder / "config",
            {
                "north": sandbox_channel("http://127.0.0.1:9/north"),
                "south": sandbox_channel("http://127.0.0.1:9/south"),
            },
        )
        if api_token is not None:
            hub_yaml = config / "hub.yaml"
            hub_yaml.write_text(
                hub_yaml.read_text().replace(
                    "http: {port: 0}", f"http: {{port: 0, api_token: {api_token}}}"
                )
            )
        hub = bootstrap(config, database_url=url)
        try:
            yield hub
        finally:
            remove_push_hook(hub.engine)
            hub.engine.dispose()


def channel_ids(hub: Hub) -> dict[str, int]:
    with transaction(hub.engine, read_only=True) as session:
        return {name: id_ for name, id_ in session.exec(select(Channel.name, Channel.id)) if id_}
