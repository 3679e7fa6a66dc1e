"""The queue as SQL sees it: for /metrics, the alert rules and `omnisync status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.names import TASK_PREFIX, tick_name

_BY_QUEUE = text(
    """
    SELECT queue_name,
           count(*) FILTER (WHERE status = 'todo' AND scheduled_at IS NULL
                            OR status = 'todo' AND scheduled_at <= now()) AS waiting,
           count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS scheduled,
           count(*) FILTER (WHERE status = 'doing') AS running,
           EXTRACT(EPOCH FROM now() - min(COALESCE(scheduled_at, e.at))
                   FILTER (WHERE status = 'todo' AND COALESCE(scheduled_at, e.at) <= now()))
             AS oldest_waiting
      FROM procrastinate_jobs j
      LEFT JOIN LATERAL (
          SELECT min(at) AS at FROM procrastinate_events
           WHERE job_id = j.id AND type = 'deferred') e ON true
     WHERE status IN ('todo', 'doing') AND task_name LIKE :prefix
     GROUP BY queue_name
    """
)
_WORKERS = text(
    """
    SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :seconds)),
           count(*) FILTER (WHERE last_heartbeat < now() - make_interval(secs => :seconds)),
           EXTRACT(EPOCH FROM now() - max(last_heartbeat))
      FROM procrastinate_workers
    """
)
_STALLED = text(
    """
    SELECT count(*) FROM procrastinate_jobs j
      LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     WHERE j.status = 'doing' AND j.task_name LIKE :prefix
       AND (j.worker_id IS NULL OR w.last_heartbeat < now() - make_interval(secs => :seconds))
    """
)
_LAST_TICKS = text(
    """
    SELECT task_name, EXTRACT(EPOCH FROM now() - to_timestamp(max(defer_timestamp)))
      FROM procrastinate_periodic_defers
     WHERE task_name LIKE :prefix
     GROUP BY task_name
    """
)


@dataclass(frozen=True)
class QueueCounts:
    waiting: int = 0
    """Due now and not started."""
    scheduled: int = 0
    """Waiting for a later time (a retry after a refusal)."""
    running: int = 0
    oldest_waiting_seconds: float = 0.0


@dataclass(frozen=True)
class QueueState:
    queues: dict[str, QueueCounts] = field(default_factory=dict)
    workers_alive: int = 0
    workers_stalled: int = 0
    stalled_jobs: int = 0
    tick_age_seconds: dict[JobName, float | None] = field(default_factory=dict)
    """Seconds since each job kind's tick was last deferred (None: never)."""
    newest_heartbeat_age_seconds: float | None = None
    """Seconds since any worker last said it was alive (None: no worker row)."""


def queue_state(session: Session, stalled_after: timedelta) -> QueueState:
    prefix = f"{TASK_PREFIX}%"
    seconds = stalled_after.total_seconds()
    queues = {
        queue: QueueCounts(int(waiting), int(scheduled), int(running), float(oldest or 0.0))
        for queue, waiting, scheduled, running, oldest in session.execute(
            _BY_QUEUE, {"prefix": prefix}
        ).all()
    }
    alive, stalled_workers, newest = session.execute(_WORKERS, {"seconds": seconds}).one()
    stalled = session.execute(_STALLED, {"prefix": prefix, "seconds": seconds}).scalar_one()
    ticks = {name: age for name, age in session.execute(_LAST_TICKS, {"prefix": prefix})}
    return QueueState(
        queues=queues,
        workers_alive=int(alive),
        workers_stalled=int(stalled_workers),
        stalled_jobs=int(stalled),
        tick_age_seconds={
            job: (float(ticks[tick_name(job)]) if tick_name(job) in ticks else None)
            for job in JobName
        },
        newest_heartbeat_age_seconds=float(newest) if newest is not None else None,
    )
