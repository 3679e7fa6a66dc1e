"""The suite under runner `procrastinate`: `OMNISYNC_TEST_RUNNER=procrastinate`.

In that mode (`make test-e2e-workers`, PostgreSQL only) write_config's hub.yaml names the
runner, so every hub the tests open defers its pushes as procrastinate tasks (the push
hook), and `engine_for(hub)` gives a QueueSyncEngine: each `run` defers the job as its
task and has a real procrastinate worker, in this process, run it; the test gets the
RunOutcome the task produced. A test that starts a whole hub (`omnisync run`, HubRunner)
starts `omnisync worker` beside it (`hub_workers`), as production does.

What the in-process worker takes: only the task the test asked for. It is deferred on a
queue of that run's own (RUN_QUEUE_...) with the job's real lock and queueing lock; a
task of that (job, channel) already waiting (one the push hook deferred, say) is moved to
that queue and made due, so it is the one that runs, as the queueing lock wants. Tasks of
other jobs stay where they wait: a test of the single runner pushes when it says so, and
so it does here. The worker runs no periodic task (ticks: the tests ask for each run).

Two things cannot travel through the queue as production has it, and are carried beside
it, in this process, to the worker's engine: `force` (a task has no such argument:
production's `omnisync sync --channel X` refuses a paused or disabled channel under this
runner) and `progress`. A run the test asks for is a run now: the refusal a previous run
waits out (job_schedules.next_attempt_at) is cleared first, as the single runner has
none. The worker's engine retries a refused call as the test's engine would
(FAST_RETRIES), where `omnisync worker` tries once and leaves the retry to the queue's
backoff.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from omnisync.core.db import make_engine, transaction
from omnisync.sync.engine import ALREADY_RUNNING, RunHooks, RunOutcome, SyncEngine
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.app import queue_app
from omnisync.sync.queue.defer import defer
from omnisync.sync.queue.guard import advisory_guard
from omnisync.sync.queue.names import lock_of, queueing_lock_of
from omnisync.sync.queue.targets import Deferral, Target, Targets
from omnisync.sync.queue.work import Work
from omnisync.sync.runs import NotRun
from tests.support.polling import eventually

if TYPE_CHECKING:
    import procrastinate

    from omnisync.sync.channels import SyncChannel

QUEUE_MODE = os.environ.get("OMNISYNC_TEST_RUNNER") == "procrastinate"
"""The suite runs under runner `procrastinate` (PostgreSQL only)."""

RUNNER_YAML = (
    "runner: procrastinate\nworkers: {heartbeat: 1s, stalled_after: 3s, sweep_every: 1s}\n"
)
"""hub.yaml's lines for the mode: the runner, with tests/support/queue_hub.py's FAST_WORKERS
(heartbeats each second, a worker taken for dead after 3 s)."""


def name_the_runner(config: Path) -> Path:
    """In this mode, the config folder's hub.yaml (one a test wrote itself, not
    write_config) names runner `procrastinate`; otherwise it is left as it is."""
    if QUEUE_MODE:
        hub_yaml = config / "hub.yaml"
        hub_yaml.write_text(hub_yaml.read_text() + RUNNER_YAML)
    return config


RUN_QUEUE = "omnisync_test_run"
"""The prefix of the queue the in-process worker takes: only the task a test asked for
(a queue per run, so that runs on several threads each take their own)."""

_MOVE_WAITING = text(
    "UPDATE procrastinate_jobs SET queue_name = :queue, scheduled_at = NULL "
    "WHERE status = 'todo' AND queueing_lock = :queueing_lock"
)
LOCK_WAIT_S = 60.0
"""How long a run asked for waits for the tasks ahead of it on its lock (a bound)."""
_OF_LOCK = text(
    "SELECT id, status, queue_name, task_name, queueing_lock, scheduled_at, worker_id "
    "FROM procrastinate_jobs WHERE lock = :lock ORDER BY id"
)
_RUN_NOW = text(
    "UPDATE job_schedules SET next_attempt_at = NULL WHERE channel_id = :channel_id AND job = :job"
)


@dataclass(frozen=True)
class _TestTarget(Target):
    """A channel's target whose tasks go to one run's queue (locks unchanged)."""

    run_queue: str = RUN_QUEUE

    @property
    def queue(self) -> str:
        return self.run_queue


class _WorkerEngine(SyncEngine):
    """The worker's engine (the task's advisory lock as its guard, as `omnisync worker`'s):
    runs with the force and progress the test asked for, carried beside the queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: dict[tuple[str, str], tuple[bool, Callable[[JobContext], None] | None]] = {}

    def run(
        self,
        name: str,
        job: str,
        *,
        force: bool = False,
        progress: Callable[[JobContext], None] | None = None,
        hooks: RunHooks | None = None,
    ) -> RunOutcome:
        asked_force, asked_progress = self.asked.pop((name, str(job)), (False, None))
        return super().run(
            name,
            job,
            force=force or asked_force,
            progress=progress or asked_progress,
            hooks=hooks,
        )


class _RecordingWork(Work):
    """Work that keeps the outcome of each run, for the test that asked for it."""

    def __init__(self, sync: SyncEngine, targets: Targets) -> None:
        super().__init__(sync, targets)
        self.outcomes: dict[tuple[JobName, int], RunOutcome | None] = {}

    def run(self, job: JobName, channel_id: int) -> RunOutcome | None:
        outcome = super().run(job, channel_id)
        self.outcomes[(job, channel_id)] = outcome
        return outcome


class QueueSyncEngine(SyncEngine):
    """engine_for's engine under runner `procrastinate`: `run` defers the job's task and a
    procrastinate worker in this process runs it (see the module's docstring)."""

    def __init__(
        self,
        database_url: str,
        targets: Targets,
        database: Engine,
        channels: Iterable[SyncChannel],
        **kwargs: Any,
    ) -> None:
        self._worker: _WorkerEngine | None = None
        channels = list(channels)
        super().__init__(database, channels, **kwargs)
        self.targets = targets
        # As `omnisync worker`'s engine: one run per task's lock, held in PostgreSQL.
        guard = advisory_guard(database, self.stop, wait=True)
        self._worker = _WorkerEngine(
            database, channels, **{**kwargs, "stop": self.stop, "guard": guard}
        )
        self.work = _RecordingWork(self._worker, targets)
        self._database_url = database_url
        self._asked_lock = threading.Lock()
        self._asked: set[tuple[str, JobName]] = set()
        """The runs asked for and not ended (a Scheduler over this engine runs on threads)."""

    def set_channels(self, channels: Iterable[SyncChannel], secrets: Iterable[str] = ()) -> None:
        channels = list(channels)
        super().set_channels(channels, secrets)
        if self._worker is not None:
            self._worker.set_channels(channels, secrets)
            self.targets.set_channels(channels)

    def app(self) -> procrastinate.App:
        """A worker's App (one per run: an App's pool belongs to the run's event loop)."""
        app = queue_app(self._database_url, self.work, pool_size=2)
        app.periodic_registry.periodic_tasks.clear()  # no tick: the test asks for runs
        return app

    def run(
        self,
        name: str,
        job: str,
        *,
        force: bool = False,
        progress: Callable[[JobContext], None] | None = None,
        hooks: RunHooks | None = None,
    ) -> RunOutcome:
        if name not in self.channels or not self.supports(name, job):
            return super().run(name, job, force=force, progress=progress, hooks=hooks)
        # The hub's callers pass none: a worker's task (Work.run) passes its own, there.
        assert hooks is None, "a run asked of the hub as a task takes no hooks"
        job_name = JobName(job)
        with self._asked_lock:
            if (name, job_name) in self._asked:  # as SyncEngine.run says on a second thread
                return RunOutcome(name, job, NotRun.SKIPPED, error=ALREADY_RUNNING)
            self._asked.add((name, job_name))
        try:
            return self._run_as_task(name, job_name, force, progress)
        finally:
            with self._asked_lock:
                self._asked.discard((name, job_name))

    def _run_as_task(
        self,
        name: str,
        job_name: JobName,
        force: bool,
        progress: Callable[[JobContext], None] | None,
    ) -> RunOutcome:
        job = str(job_name)
        queue = f"{RUN_QUEUE}_{uuid.uuid4().hex[:12]}"
        with transaction(self.database) as session:
            target = self.targets.named(session, name)
            assert target is not None, f"channel {name} has no row"
            session.execute(_RUN_NOW, {"channel_id": target.channel_id, "job": str(job_name)})
            moved = (
                session.connection()
                .execute(
                    _MOVE_WAITING,
                    {
                        "queue": queue,
                        "queueing_lock": queueing_lock_of(job_name, target.channel_id),
                    },
                )
                .rowcount
            )
            if not moved:
                deferral = Deferral(job_name, _TestTarget(target.channel_id, target.channel, queue))
                assert defer(session, [deferral]), f"{job} for {name}: not deferred"
        key = (job_name, target.channel_id)
        self.work.outcomes.pop(key, None)
        self._worker_asked(name, job_name, force, progress)
        # A task waits while a task of its lock runs or came first (reconcile and push_stock
        # share one): the worker, back with nothing to do, is run again until it ran it.
        deadline = time.monotonic() + LOCK_WAIT_S
        self.work_queue(queue)
        while key not in self.work.outcomes and not self.stop.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{job} for {name}: the worker ran no task for it; tasks of its lock: "
                    + self._tasks_of(lock_of(job_name, target.channel_id, target.channel.account))
                )
            time.sleep(0.02)
            self.work_queue(queue)
        if key not in self.work.outcomes:  # the engine stopped (a Scheduler over it)
            return RunOutcome(name, job, NotRun.SKIPPED, error="stopped before its task ran")
        outcome = self.work.outcomes.pop(key)
        if outcome is None:
            raise AssertionError(f"{job} for {name}: the task ran nothing (waits out a refusal)")
        return outcome

    def _tasks_of(self, lock: str) -> str:
        with transaction(self.database, read_only=True) as session:
            rows = session.execute(_OF_LOCK, {"lock": lock}).all()
        return "; ".join(" ".join(str(value) for value in row) for row in rows) or "none"

    def _worker_asked(
        self,
        name: str,
        job: JobName,
        force: bool,
        progress: Callable[[JobContext], None] | None,
    ) -> None:
        assert self._worker is not None
        self._worker.asked[(name, str(job))] = (force, progress)

    def work_queue(self, queue: str) -> None:
        """A procrastinate worker runs `queue`'s tasks until none is left."""
        self.app().run_worker(
            queues=[queue],
            wait=False,
            concurrency=1,
            install_signal_handlers=False,
            listen_notify=False,
            delete_jobs="successful",
            name="omnisync-test",
            update_heartbeat_interval=1.0,  # a hub's stalled-task sweep (3 s) leaves it be
        )

    def close(self) -> None:
        super().close()
        if self._worker is not None:
            self._worker.close()


@contextmanager
def hub_workers(
    config: Path,
    database_url: str,
    folder: Path,
    *,
    env: dict[str, str] | None = None,
    count: int = 1,
) -> Iterator[list[Any]]:
    """Beside a whole hub (`omnisync run`, HubRunner): in this mode, `count` `omnisync
    worker` processes on its config and database, stopped at the end; otherwise none (the
    single runner runs the jobs itself)."""
    if not QUEUE_MODE:
        yield []
        return
    from tests.support.queue_hub import workers

    folder.mkdir(parents=True, exist_ok=True)
    with workers(count, config, database_url, folder, env=env) as started:
        # Up before the hub: its alert rules watch the jobs from its start.
        up = eventually(lambda: _registered(database_url) >= count, timeout=60)
        assert up, "\n".join(worker.output() for worker in started)
        yield started


def _registered(database_url: str) -> int:
    """How many procrastinate workers are registered (their heartbeat row)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()
            )
    finally:
        engine.dispose()
