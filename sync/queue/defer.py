"""Deferring tasks with our own SQL, in the caller's transaction.

A task is deferred by procrastinate's own function (`procrastinate_defer_jobs_v1`), so its
insert trigger wakes the listening workers, inside a savepoint: a task whose queueing lock
is taken (one of its kind already waits: procrastinate's AlreadyEnqueued, a unique
violation on the queueing-lock index) is skipped, and the caller's transaction, with the
stock change it carries, goes on (procrastinate#1446, #1543). Nothing here runs outside
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg.errors import UniqueViolation
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from omnisync.core.types import UTCDateTime
from omnisync.sync.queue.targets import Deferral

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))"
).bindparams(bindparam("at", type_=UTCDateTime()))
_WAITING = text(
    "SELECT queueing_lock FROM procrastinate_jobs WHERE status = 'todo' AND queueing_lock IN :locks"
).bindparams(bindparam("locks", expanding=True))
_SAVEPOINT = "omnisync_defer"
BATCH = 200
"""Tasks per deferral statement (7 parameters each)."""


def is_queue_database(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def waiting(session: Session, queueing_locks: Iterable[str]) -> set[str]:
    """Which of `queueing_locks` a waiting task holds now."""
    locks = sorted(set(queueing_locks))
    if not locks:
        return set()
    return set(session.execute(_WAITING, {"locks": locks}).scalars())


def defer(session: Session, deferrals: Sequence[Deferral]) -> list[Deferral]:
    """Defer the tasks in `session`'s transaction; returns those deferred. One whose
    queueing lock a waiting task holds is skipped (it would run the same work). They go in
    batches of BATCH, each in a savepoint; a batch refused as a whole (a task of it was
    deferred meanwhile by another transaction) goes again one task per savepoint. A task
    another open transaction is deferring with the same queueing lock waits for that
    transaction's end (then it is skipped, or deferred if that one rolled back)."""
    taken = waiting(session, (deferral.queueing_lock for deferral in deferrals))
    todo: list[Deferral] = []
    # One order for every caller: two transactions inserting the same two queueing locks
    # (the second waits on the first's uncommitted one) cannot wait on each other.
    for deferral in sorted(deferrals, key=lambda deferral: deferral.queueing_lock):
        if deferral.queueing_lock not in taken:
            taken.add(deferral.queueing_lock)
            todo.append(deferral)
    deferred: list[Deferral] = []
    for first in range(0, len(todo), BATCH):
        batch = todo[first : first + BATCH]
        if _defer_rows(session, [deferral.row() for deferral in batch]):
            deferred += batch
        else:
            deferred += [deferral for deferral in batch if defer_raw(session, deferral.row())]
    return deferred


def _defer_rows(session: Session, rows: list[dict[str, object]]) -> bool:
    """Defer every row in one savepoint; False (none deferred) on a queueing lock taken."""
    values = []
    params: dict[str, object] = {}
    for n, row in enumerate(rows):
        values.append(
            f"ROW(:queue{n}, :task{n}, 0, :lock{n}, :queueing_lock{n}, "
            f"CAST(:args{n} AS jsonb), CAST(:at{n} AS timestamptz))"
        )
        params.update({f"{key}{n}": value for key, value in row.items()})
    statement = text(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY["
        + ", ".join(values)
        + "]::procrastinate_job_to_defer_v1[]))"
    ).bindparams(*(bindparam(f"at{n}", type_=UTCDateTime()) for n in range(len(rows))))
    return _in_savepoint(session, statement, params)


def _in_savepoint(session: Session, statement: TextClause, params: dict[str, object]) -> bool:
    session.execute(text(f"SAVEPOINT {_SAVEPOINT}"))
    try:
        session.execute(statement, params)
    except IntegrityError as error:
        if not isinstance(error.orig, UniqueViolation):
            raise
        session.execute(text(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}"))
        return False
    session.execute(text(f"RELEASE SAVEPOINT {_SAVEPOINT}"))
    return True


def defer_raw(session: Session, params: dict[str, object], *, priority: int = 0) -> bool:
    """Defer one task from its columns (queue, task, lock, queueing_lock, args as JSON
    text, at) in a savepoint; False when its queueing lock is taken. A worker takes the
    tasks of higher `priority` first."""
    return _in_savepoint(session, _DEFER, {**params, "priority": priority})
