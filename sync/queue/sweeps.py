"""The sweeps `omnisync run` makes every `workers.sweep_every` under runner `procrastinate`.

- Dirty listings without a push: a channel with listings due for a push (not held by the
  revision budget, the channel not paused nor waiting out a refusal) and no push task
  waiting or running gets one (a writer that committed without the hook, or crashed).
- Stalled tasks: a task `doing` on a worker whose heartbeat stopped (`workers.stalled_after`)
  or whose worker row is gone (procrastinate#1518: pruned workers leave their jobs `doing`),
  and whose run no longer holds its advisory lock (guard.py: the database frees it when the
  worker's connection dies; a stopping or slow worker keeps it), is marked failed, which
  frees its lock, and a fresh task of the same kind is deferred (a waiting one, if any,
  does the work instead). procrastinate's own `retry=` is not used:
  retrying a stalled locked job whose key already waits fails on the queueing-lock index
  (procrastinate#1446, #1543).
- The task table's statistics: gathered again (ANALYZE) once enough tasks came and went,
  so that the workers' fetches plan for the queue as it is (refresh_queue_statistics).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import Session

from omnisync.core.types import UTCDateTime
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import supports_job
from omnisync.sync.queue.defer import defer, defer_raw
from omnisync.sync.queue.guard import held_by_a_live_run
from omnisync.sync.queue.names import TASK_PREFIX, job_of_task, queueing_lock_parts, task_name
from omnisync.sync.queue.targets import Deferral, Targets

log = logging.getLogger(__name__)

# The channels with due dirty listings first (at most one row each), then those of them
# with no push task, against the push tasks' queueing locks read once (a hashed NOT IN):
# a backlog of dirty listings or of tasks costs one pass over each, not one per pair.
_DUE_WITHOUT_PUSH = text(
    """
    WITH due AS (
        SELECT DISTINCT l.channel_id FROM listings l
         WHERE l.dirty AND l.sku_id IS NOT NULL
           AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= :now)
           AND (l.held_until IS NULL OR l.held_until <= :now))
    SELECT d.channel_id FROM due d
      JOIN channels c ON c.id = d.channel_id
     WHERE c.paused_reason IS NULL
       AND NOT EXISTS (
           SELECT 1 FROM job_schedules s
            WHERE s.channel_id = d.channel_id AND s.job = :job AND s.next_attempt_at > :now)
       AND :lock_prefix || d.channel_id || :lock_suffix NOT IN (
           SELECT j.queueing_lock FROM procrastinate_jobs j
            WHERE j.status IN ('todo', 'doing') AND j.task_name = :task
              AND j.queueing_lock IS NOT NULL)
     ORDER BY d.channel_id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))
_STALLED = text(
    """
    SELECT j.id, j.queue_name, j.task_name, j.lock, j.queueing_lock, j.args::text,
           j.worker_id
      FROM procrastinate_jobs j
      LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
     WHERE j.status = 'doing' AND j.task_name LIKE :prefix
       AND (j.worker_id IS NULL
            OR w.last_heartbeat < now() - make_interval(secs => :seconds))
     ORDER BY j.queueing_lock COLLATE "C"
     FOR UPDATE OF j SKIP LOCKED
    """
)
_FAIL = text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)")
_MODIFIED_SINCE_ANALYZE = text(
    "SELECT n_mod_since_analyze FROM pg_stat_user_tables"
    " WHERE relid = 'procrastinate_jobs'::regclass"
)
ANALYZE_AFTER_CHANGES = 500
"""Task rows added, changed or removed before the sweeper analyses the table again."""


@dataclass(frozen=True)
class Recovered:
    """A stalled task failed and run again: `redeferred` False when one of its kind was
    already waiting (it does the work)."""

    job_id: int
    task: str
    args: str
    worker_id: int | None
    redeferred: bool


def sweep_dirty(session: Session, targets: Targets, now: datetime) -> list[Deferral]:
    """Defer a push for each channel with due dirty listings and no push task."""
    before, after = queueing_lock_parts(JobName.STOCK)
    channel_ids = session.execute(
        _DUE_WITHOUT_PUSH,
        {
            "now": now,
            "job": str(JobName.STOCK),
            "task": task_name(JobName.STOCK),
            "lock_prefix": before,
            "lock_suffix": after,
        },
    ).scalars()
    by_id = targets.by_id(session)
    pushes = [
        Deferral(JobName.STOCK, by_id[channel_id])
        for channel_id in channel_ids
        if channel_id in by_id
        and by_id[channel_id].channel.enabled
        and supports_job(by_id[channel_id].channel.type, JobName.STOCK)
    ]
    deferred = defer(session, pushes)
    for deferral in deferred:
        log.info("%s: dirty listings had no push task; deferred one", deferral.target.channel.name)
    return deferred


RECOVERED_PRIORITY = 1
"""A stalled task's fresh one goes before the tasks waiting (priority 0): its channel has
waited since the worker died, and behind a backlog it would wait that long again."""


def sweep_stalled(session: Session, stalled_after: timedelta) -> list[Recovered]:
    """Fail every task stalled on a dead worker and defer a fresh one in its place."""
    rows = session.execute(
        _STALLED, {"prefix": f"{TASK_PREFIX}%", "seconds": stalled_after.total_seconds()}
    ).all()
    recovered = []
    for job_id, queue, task, lock, queueing_lock, args, worker_id in rows:
        if lock is not None and job_of_task(task) is not None and held_by_a_live_run(session, lock):
            # Its heartbeat lapsed (a worker stopping, or its heartbeat failing), but its run
            # still holds the run's advisory lock: alive. Left alone.
            log.info("task %s (job %s) has no heartbeat but its run goes on", task, job_id)
            continue
        session.execute(_FAIL, {"id": job_id})
        redeferred = defer_raw(
            session,
            {
                "queue": queue,
                "task": task,
                "lock": lock,
                "queueing_lock": queueing_lock,
                "args": args,
                "at": None,
            },
            priority=RECOVERED_PRIORITY,
        )
        log.warning(
            "task %s %s (job %s) stalled on worker %s; failed it and %s",
            task,
            json.loads(args),
            job_id,
            worker_id if worker_id is not None else "(gone)",
            "deferred it again" if redeferred else "left it to the one waiting",
        )
        recovered.append(Recovered(job_id, task, args, worker_id, redeferred))
    return recovered


def refresh_queue_statistics(session: Session, *, changes: int = ANALYZE_AFTER_CHANGES) -> bool:
    """ANALYZE procrastinate_jobs once `changes` rows were added, changed or removed since
    its statistics were last gathered. procrastinate_fetch_job_v2 is a PL/pgSQL function:
    each worker's connection keeps the plan it made, from the statistics of then. Planned on
    a quiet queue (a handful of tasks) and run on a backlog of a thousand, it read every
    task waiting at each fetch (over 100 ms); PostgreSQL's own autoanalyze comes only once
    a minute at best. New statistics make every connection plan again. True: analysed."""
    modified = session.execute(_MODIFIED_SINCE_ANALYZE).scalar()
    if modified is None or modified < changes:
        return False
    session.execute(text("ANALYZE procrastinate_jobs"))
    return True
