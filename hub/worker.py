"""`omnisync worker`: runs the channels' jobs as procrastinate tasks (runner
`procrastinate`). Any number of workers on any number of machines share the queue in the
hub's PostgreSQL; `omnisync run` serves HTTP and webhooks and sweeps beside them.

SIGTERM or SIGINT: no new task starts, running ones finish (procrastinate's graceful
stop, at most SHUTDOWN_GRACE), then the process exits 0. Channel files edited on disk
are picked up within a second (the hub's own process writes them to the database).

`--metrics-port N` serves this worker's own /metrics (prometheus_client, on 127.0.0.1
unless `--metrics-host` says otherwise): how long each task ran and how many failed, by
task name (TaskMetrics). The queue as a whole is on the hub's /metrics."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from procrastinate.app import WorkerOptions as QueueWorkerOptions
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from omnisync.hub import metric_names as names
from omnisync.hub.bootstrap import Hub, engine_channels, sync_engine
from omnisync.hub.runner import WATCH_INTERVAL, config_stamp
from omnisync.hub.settings import ConfigError, load_settings
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.app import TaskObserver, queue_app
from omnisync.sync.queue.names import TICK_QUEUE, task_name, tick_name
from omnisync.sync.queue.work import Work

log = logging.getLogger("omnisync.worker")
SHUTDOWN_GRACE = 30.0
"""Seconds a stopping worker waits for its running tasks before aborting them."""
NO_RETRY_IN_CALL = RetryPolicy(attempts=1)
"""A refused call fails the task at once; the task waits out the refusal in the queue
(job_schedules.next_attempt_at) instead of holding a worker thread."""


@dataclass(frozen=True)
class WorkerOptions:
    queues: tuple[str, ...] = ()
    """The marketplace queues to take tasks from (none: every queue). The ticks' queue is
    always taken."""
    concurrency: int = 4
    name: str | None = None
    metrics_port: int = 0
    """Serve this worker's /metrics on this port (0: not at all)."""
    metrics_host: str = "127.0.0.1"


class MetricsUnavailable(Exception):
    """The worker's /metrics port could not be bound."""


TASK_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Seconds: from a tick that finds nothing due to an hour-long first listing pull."""


class TaskMetrics:
    """A worker's own series, counted in its memory (lost on restart, as Prometheus
    expects of a counter): the duration of every task and the failed ones, by task name.
    `observe` is the TaskObserver of sync/queue/app.py."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.durations = Histogram(
            names.WORKER_TASK_DURATION.name,
            "How long each task ran on this worker, failed ones included.",
            names.WORKER_TASK_DURATION.labels,
            registry=self.registry,
            buckets=TASK_DURATION_BUCKETS,
        )
        self.failures = Counter(
            names.WORKER_TASK_FAILURES.family,
            "Tasks that failed on this worker (raised, or their run failed).",
            names.WORKER_TASK_FAILURES.labels,
            registry=self.registry,
        )
        for job in JobName:  # every task shows from the first scrape, at 0
            for name in (task_name(job), tick_name(job)):
                self.durations.labels(name)
                self.failures.labels(name)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def observe(self, task: str, seconds: float, failed: bool) -> None:
        self.durations.labels(task).observe(seconds)
        if failed:
            self.failures.labels(task).inc()

    def serve(self, host: str, port: int) -> None:
        """GET /metrics on host:port, in a thread, until stop()."""
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {error}") from None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class Worker:
    def __init__(
        self, hub: Hub, options: WorkerOptions, *, observe: TaskObserver | None = None
    ) -> None:
        if hub.targets is None:
            raise ValueError("hub.yaml runner is not procrastinate")
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # procrastinate says two lines per task at info: our runs are in sync_runs.
            logging.getLogger("procrastinate").setLevel(logging.WARNING)
        self.hub = hub
        self.options = options
        # A task's run waits for a run of the same lock still going (a worker that was
        # taken for dead but lives): never two at once.
        self.sync = sync_engine(hub, retry=NO_RETRY_IN_CALL, wait_for_lock=True)
        self.work = Work(self.sync, hub.targets)
        self.metrics = TaskMetrics() if options.metrics_port else None
        self.app = queue_app(
            hub.settings.database_url,
            self.work,
            pool_size=options.concurrency + 4,
            observe=self._observer(observe),
        )
        self._stopped = threading.Event()

    def _observer(self, observe: TaskObserver | None) -> TaskObserver | None:
        metrics = self.metrics
        if metrics is None or observe is None:
            return metrics.observe if metrics is not None else observe

        def both(task: str, seconds: float, failed: bool) -> None:
            metrics.observe(task, seconds, failed)
            observe(task, seconds, failed)

        return both

    @property
    def name(self) -> str:
        return self.options.name or f"{socket.gethostname()}:{os.getpid()}"

    def run(self) -> None:
        """Block until SIGTERM or SIGINT, then finish the tasks in flight."""
        watcher = threading.Thread(target=self._watch_config, name="config", daemon=True)
        try:
            if self.metrics is not None:
                self.metrics.serve(self.options.metrics_host, self.options.metrics_port)
                log.info(
                    "worker metrics on http://%s:%d/metrics",
                    self.options.metrics_host,
                    self.options.metrics_port,
                )
            watcher.start()
            asyncio.run(self._run())
        finally:
            if self.metrics is not None:
                self.metrics.stop()
            self._stopped.set()
            self.sync.stop.set()
            self.sync.close()
            self.hub.engine.dispose()
        log.info("worker %s stopped", self.name)

    async def _run(self) -> None:
        # procrastinate runs each sync task in the loop's default executor: one thread per
        # task it may run at once.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="task")
        )
        workers = self.hub.settings.hub.workers
        queues = [*self.options.queues, TICK_QUEUE] if self.options.queues else None
        log.info(
            "worker %s: queues %s, concurrency %d",
            self.name,
            ", ".join(queues) if queues else "all",
            self.options.concurrency,
        )
        options: QueueWorkerOptions = {
            "name": self.name,
            "concurrency": self.options.concurrency,
            "delete_jobs": "successful",
            "update_heartbeat_interval": workers.heartbeat.total_seconds(),
            "stalled_worker_timeout": workers.stalled_after.total_seconds(),
            "shutdown_graceful_timeout": SHUTDOWN_GRACE,
            "fetch_job_polling_interval": 1.0,
            "install_signal_handlers": False,
        }
        if queues:
            options["queues"] = queues
        async with self.app.open_async():
            running = asyncio.ensure_future(self.app.run_worker_async(**options))
            self._stop_on_signals(running)
            with suppress(asyncio.CancelledError):  # a signal; the tasks in flight ended
                await running

    def _stop_on_signals(self, running: asyncio.Future[None]) -> None:
        """SIGTERM and SIGINT: the running jobs are told at once (they stop at their next
        safe point, recorded as cancelled, and their task is deferred again by Work), and
        procrastinate stops taking tasks and waits for those in flight."""

        def stop() -> None:
            log.info("stopping: finishing the tasks in flight")
            self.sync.stop.set()
            running.cancel()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop)
            except (RuntimeError, ValueError):  # not the main thread (tests): no signals
                return

    def _watch_config(self) -> None:
        config_dir = self.hub.settings.config_dir
        stamp = config_stamp(config_dir)
        while not self._stopped.wait(WATCH_INTERVAL):
            current = config_stamp(config_dir)
            if current == stamp:
                continue
            stamp = current
            try:
                settings = load_settings(
                    config_dir,
                    database_url=self.hub.settings.database_url,
                    skip_broken_channels=True,
                )
            except ConfigError as error:
                for line in error.problems:
                    log.error("config not reloaded: %s", line)
                continue
            channels = engine_channels(settings)
            self.sync.set_channels(channels, settings.secrets)
            assert self.hub.targets is not None
            self.hub.targets.set_channels(channels)
            log.info("config reloaded: %d channel(s)", len(channels))
