"""Runner `procrastinate` in tests: a migrated PostgreSQL schema of the test's own, a
config folder that names the runner, and `omnisync worker` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from omnisync.core.db import make_engine
from omnisync.hub.database import migrate
from tests.support.databases import postgres_schema, postgres_schema_url
from tests.support.hub_setup import write_config

FAST_WORKERS = "workers: {heartbeat: 1s, stalled_after: 3s, sweep_every: 1s}"
"""Heartbeats each second and a worker taken for dead after 3 s: recovery in seconds."""


@contextmanager
def queue_database() -> Iterator[str]:
    """A PostgreSQL schema of this test's own, migrated (procrastinate's tables included)."""
    with postgres_schema() as schema:
        url = postgres_schema_url(schema)
        engine = make_engine(url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        yield url


def queue_config(folder: Path, channels: dict[str, str], *, workers: str = FAST_WORKERS) -> Path:
    """write_config's folder, with hub.yaml naming runner `procrastinate`."""
    write_config(folder, channels)
    hub_yaml = folder / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + f"runner: procrastinate\n{workers}\n")
    return folder


class WorkerProcess:
    """`omnisync worker` in a process of its own; its output goes to `log`."""

    def __init__(
        self,
        config: Path,
        database_url: str,
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        concurrency: int = 4,
        queues: str | None = None,
    ) -> None:
        args = [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), "worker"]
        args += ["--concurrency", str(concurrency), "--log-level", "info"]
        if queues:
            args += ["--queues", queues]
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            args,
            env={**os.environ, **(env or {}), "OMNISYNC_DATABASE_URL": database_url},
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no goodbye, the worker's row and its tasks left as they were."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def workers(
    count: int, config: Path, database_url: str, folder: Path, **options: object
) -> Iterator[list[WorkerProcess]]:
    """`count` worker processes, stopped (SIGTERM) at the end."""
    started = [
        WorkerProcess(config, database_url, folder / f"worker-{n}.log", **options)  # type: ignore[arg-type]
        for n in range(count)
    ]
    try:
        yield started
    finally:
        for worker in started:
            if worker.process.poll() is None:
                worker.stop()
            else:
                worker._out.close()
