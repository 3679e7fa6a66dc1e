"""The procrastinate App of a worker: a task per job (its argument the channel id) and a
periodic tick per job kind, all bound to one Work."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import procrastinate
from sqlalchemy.engine import make_url

from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.names import (
    TICK_CRON,
    TICK_QUEUE,
    WAKE_TASK,
    task_name,
    tick_lock,
    tick_name,
)
from omnisync.sync.queue.pool import idle_checked_pool
from omnisync.sync.queue.work import Work

log = logging.getLogger(__name__)
TICK_PRIORITY = 1
PRUNE_TASK = "omnisync.prune_jobs"
PRUNE_CRON = "17 * * * *"
PRUNE_AFTER_HOURS = 7 * 24
TaskObserver = Callable[[str, float, bool], None]
"""Told of each task's end: its name, how long it ran (seconds) and whether it failed."""


def conninfo(database_url: str) -> str:
    """libpq's form of the hub's SQLAlchemy URL (search_path options and all)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(
    database_url: str,
    work: Work,
    *,
    pool_size: int = 4,
    observe: TaskObserver | None = None,
) -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(database_url),
            min_size=1,
            max_size=pool_size,
            pool_factory=idle_checked_pool,
        )
    )
    for job in JobName:
        _register_job(app, work, job, observe)
        _register_tick(app, work, job, observe)
    _register_wake(app, work)
    _register_prune(app)
    return app


def _timed(name: str, observe: TaskObserver | None, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    failed = True
    try:
        outcome = run()
        failed = bool(getattr(outcome, "failed", False))
    finally:
        if observe is not None:
            observe(name, time.perf_counter() - started, failed)


def _register_job(
    app: procrastinate.App, work: Work, job: JobName, observe: TaskObserver | None
) -> None:
    name = task_name(job)

    def run_job(channel_id: int) -> None:
        _timed(name, observe, lambda: work.run(job, channel_id))

    app.task(name=name)(run_job)


def _register_tick(
    app: procrastinate.App, work: Work, job: JobName, observe: TaskObserver | None
) -> None:
    name = tick_name(job)

    def tick(timestamp: int) -> None:
        _timed(name, observe, lambda: work.tick(job))

    # Ahead of the channels' tasks in the ticks' queue (wake-ups share it).
    task = app.task(
        name=name,
        queue=TICK_QUEUE,
        lock=tick_lock(job),
        queueing_lock=tick_lock(job),
        priority=TICK_PRIORITY,
    )(tick)
    app.periodic(cron=TICK_CRON, periodic_id=str(job))(task)


def _register_wake(app: procrastinate.App, work: Work) -> None:
    def wake(job: str, channel_id: int) -> None:
        work.wake(JobName(job), channel_id)

    app.task(name=WAKE_TASK, queue=TICK_QUEUE)(wake)


def _register_prune(app: procrastinate.App) -> None:
    """Hourly: tasks ended more than PRUNE_AFTER_HOURS ago are deleted (those that
    succeeded are deleted by the worker at once)."""

    async def prune_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
        assert context.app is not None
        await context.app.job_manager.delete_old_jobs(
            nb_hours=PRUNE_AFTER_HOURS,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )

    task = app.task(name=PRUNE_TASK, queue=TICK_QUEUE, pass_context=True, queueing_lock=PRUNE_TASK)(
        prune_jobs
    )
    app.periodic(cron=PRUNE_CRON, periodic_id="prune")(task)
