"""`omnisync run`: the long-running hub. Schedules every channel's jobs, pushes stock
as it changes, reloads channel files on SIGHUP or when they change on disk, and
on SIGTERM finishes the page in flight, releases its leases and exits 0."""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from omnisync.hub.alerts import alert_monitor
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub, apply_config, engine_channels, sync_engine
from omnisync.hub.http_server import ServerRunner
from omnisync.hub.settings import ConfigError, Settings, load_settings
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.engine import SyncEngine
from omnisync.sync.queue.runner import QueueRunner, SweepOptions
from omnisync.sync.runners import JobRunner
from omnisync.sync.scheduler import Scheduler

log = logging.getLogger("omnisync.run")
WATCH_INTERVAL = 1.0


def config_stamp(config_dir: Path) -> tuple[tuple[str, float, int], ...]:
    """What the config folder looks like on disk: enough to notice any edit. Read every
    second by every process, so it stays cheap at a thousand channel files."""
    stamps = []
    try:
        stat = (config_dir / "hub.yaml").stat()
        stamps.append(("hub.yaml", stat.st_mtime, stat.st_size))
    except OSError:
        pass
    try:
        with os.scandir(config_dir / "channels") as entries:
            files = sorted(entries, key=lambda entry: entry.name)
    except OSError:
        files = []
    for entry in files:
        try:
            stat = entry.stat()
        except OSError:
            continue
        stamps.append((entry.name, stat.st_mtime, stat.st_size))
    return tuple(stamps)


class HttpUnavailable(Exception):
    """The HTTP server cannot listen where hub.yaml says (most often: the port is taken)."""

    @classmethod
    def from_error(cls, host: str, port: int, error: OSError) -> HttpUnavailable:
        if error.errno == errno.EADDRINUSE:
            return cls(f"http: {host}:{port} is in use; set http.port or stop the other hub")
        return cls(f"http: cannot listen on {host}:{port}: {error.strerror or error}")


def job_runner(hub: Hub, sync: SyncEngine, *, push_poll: float = 0.25) -> JobRunner:
    """What runs the jobs hub.yaml's `runner` names: this process (`single`), or the
    workers, this process sweeping and hearing order events (`procrastinate`)."""
    if hub.targets is None:
        return Scheduler(sync, push_poll=push_poll)
    workers = hub.settings.hub.workers
    return QueueRunner(
        sync,
        hub.targets,
        SweepOptions(every=workers.sweep_every, stalled_after=workers.stalled_after),
    )


class HubRunner:
    def __init__(
        self, hub: Hub, *, push_poll: float = 0.25, retry: RetryPolicy | None = None
    ) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        # Runner procrastinate: a job run here (none is, but the API could) takes the
        # workers' lock, never running beside theirs.
        self.sync = sync_engine(hub, retry=retry)
        self.scheduler: JobRunner = job_runner(hub, self.sync, push_poll=push_poll)
        http = hub.settings.hub.http
        self.server = (
            ServerRunner(
                create_app(
                    self.sync,
                    settings=lambda: self.settings,  # a reload of hub.yaml rotates the token
                    scheduler_running=lambda: self.scheduler.running,
                    run_now=self.scheduler.run_now,
                ),
                host=http.host,
                port=http.port,
            )
            if http.enabled
            else None
        )
        self.url: str | None = None
        self.alerts = alert_monitor(hub.settings, self.sync)

    def run(self) -> None:
        """Block until stop() or a signal; then shut down cleanly. Raises HttpUnavailable,
        before any job has started, when the HTTP server cannot listen."""
        self._start_http()
        self.scheduler.start()
        self.alerts.start()
        names = ", ".join(self.sync.channels) or "none"
        log.info("hub running: channels %s", names)
        stamp = config_stamp(self.settings.config_dir)
        while not self.stop_requested.wait(WATCH_INTERVAL):
            current = config_stamp(self.settings.config_dir)
            if current != stamp or self.reload_requested.is_set():
                self.reload_requested.clear()
                stamp = current
                self.reload()
        log.info("stopping: finishing the work in flight")
        if self.server is not None:
            self.server.stop()
        self.alerts.stop()
        self.scheduler.stop()
        self.sync.close()
        self.hub.engine.dispose()
        log.info("stopped")

    def _start_http(self) -> None:
        if self.server is None:
            return
        try:
            self.url = self.server.start()
        except OSError as error:
            self.sync.close()
            self.hub.engine.dispose()
            http = self.settings.hub.http
            raise HttpUnavailable.from_error(http.host, http.port, error) from None
        log.info("HTTP server on %s (webhooks: %s/webhooks/<type>/<channel>)", self.url, self.url)

    def reload(self) -> None:
        try:
            settings = load_settings(
                self.settings.config_dir,
                database_url=self.settings.database_url,
                skip_broken_channels=True,
            )
        except ConfigError as error:
            for line in error.problems:
                log.error("config not reloaded: %s", line)
            return
        for line in settings.skipped:
            log.error("config: %s (file ignored; the rest keeps running)", line)
        kept = self._keep_running_versions(settings)
        apply_config(self.hub.engine, kept)
        changes = self.scheduler.update_channels(engine_channels(kept), kept.secrets)
        self.settings = kept
        for line in changes or ["config reloaded: no channel changed"]:
            log.info("%s", line)

    def _keep_running_versions(self, settings: Settings) -> Settings:
        """A channel whose file is now broken keeps running as it was."""
        broken = set(settings.skipped_files)
        names = {channel.name for channel in settings.channels}
        kept = [
            channel
            for channel in self.settings.channels
            if str(channel.source) in broken and channel.name not in names
        ]
        return Settings(
            settings.config_dir,
            settings.hub,
            [*settings.channels, *kept],
            settings.database_url,
            settings.skipped,
        )

    def stop(self) -> None:
        self.stop_requested.set()

    def install_signal_handlers(self) -> None:
        def on_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop()

        def on_reload(_signum: int, _frame: FrameType | None) -> None:
            self.reload_requested.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_reload)
