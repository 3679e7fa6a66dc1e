"""Runner `procrastinate` seen from outside: the queue's gauges on the hub's /metrics,
`omnisync status` (and GET /api/v1/status) with their `queue` part, and a worker's own
/metrics (`omnisync worker --metrics-port`). Queue states are built in-process
(tests/support/fake_queue.py); one test starts a worker process for its real ticks."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from omnisync.core.db import transaction
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub, engine_channels
from omnisync.hub.metrics import metrics_registry, queue_stalled_after
from omnisync.hub.worker import TaskMetrics
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.app import queue_app
from omnisync.sync.queue.names import TICK_QUEUE, task_name, tick_name
from omnisync.sync.queue.work import Work
from tests.support.cli_runner import run_cli
from tests.support.databases import POSTGRES_URL
from tests.support.fake_queue import (
    SANDBOX_KEY,
    add_worker,
    channel_ids,
    clear_queue,
    defer_task,
    queue_test_hub,
    start_task,
    tick,
)
from tests.support.polling import eventually

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
]

API_TOKEN = "queue-metrics-api-token-7d2e9a"
STALLED = timedelta(seconds=3)
"""queue_config's workers.stalled_after (FAST_WORKERS)."""
ENV = {"SB_KEY": SANDBOX_KEY}


@pytest.fixture(scope="module")
def queue_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with queue_test_hub(tmp_path_factory.mktemp("queue-metrics"), api_token=API_TOKEN) as hub:
        yield hub


@pytest.fixture
def hub(queue_hub: Hub) -> Hub:
    clear_queue(queue_hub.engine)
    return queue_hub


def build_queue(hub: Hub) -> dict[str, int]:
    """Queue `sandbox`: two tasks due (one for 10 minutes), one scheduled an hour ahead,
    one running on a live worker, one running on a worker silent for a minute. Ticks:
    stock 30 s ago, orders 2 s ago, the others never."""
    ids = channel_ids(hub)
    now = datetime.now(UTC)
    with transaction(hub.engine) as session:
        live, silent = add_worker(session), add_worker(session, silent_for=timedelta(minutes=1))
        defer_task(session, "sandbox", ids["north"])
        defer_task(session, "sandbox", ids["south"], at=now - timedelta(minutes=10))
        defer_task(
            session, "sandbox", ids["north"], job=JobName.ORDERS, at=now + timedelta(hours=1)
        )
        running = defer_task(session, "sandbox", ids["south"], job=JobName.ORDERS)
        start_task(session, running, live)
        stalled = defer_task(session, "sandbox", ids["north"], job=JobName.LISTINGS)
        start_task(session, stalled, silent)
        tick(session, JobName.STOCK, ago=timedelta(seconds=30))
        tick(session, JobName.ORDERS, ago=timedelta(seconds=2))
    return ids


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_the_hub_exports_the_queue_as_the_tables_have_it(hub: Hub) -> None:
    build_queue(hub)
    registry = metrics_registry(hub.engine, queue=lambda: STALLED)
    found = samples(generate_latest(registry).decode())

    assert value(found, "omnisync_queue_waiting_jobs", queue="sandbox") == 2
    assert value(found, "omnisync_queue_scheduled_jobs", queue="sandbox") == 1
    assert value(found, "omnisync_queue_running_jobs", queue="sandbox") == 2
    oldest = value(found, "omnisync_queue_oldest_waiting_age_seconds", queue="sandbox")
    assert 600 <= oldest < 3600  # due 10 minutes ago; the other due task is younger
    # The ticks' queue has nothing, and still shows (0), as a configured channel type would.
    assert value(found, "omnisync_queue_waiting_jobs", queue=TICK_QUEUE) == 0
    assert value(found, "omnisync_queue_oldest_waiting_age_seconds", queue=TICK_QUEUE) == 0
    assert value(found, "omnisync_queue_stalled_jobs") == 1
    assert value(found, "omnisync_queue_workers_alive") == 1
    stock_tick = value(found, "omnisync_queue_tick_age_seconds", job="stock")
    orders_tick = value(found, "omnisync_queue_tick_age_seconds", job="orders")
    assert 30 <= stock_tick < 3600
    assert 0 <= orders_tick < stock_tick
    ticked = [name for name, _ in found if name == "omnisync_queue_tick_age_seconds"]
    assert len(ticked) == 2  # the kinds never ticked have no sample


def test_the_queue_series_are_on_the_hubs_metrics_only_under_runner_procrastinate(
    hub: Hub,
) -> None:
    build_queue(hub)
    sync = SyncEngine(hub.engine, engine_channels(hub.settings), secrets=hub.settings.secrets)
    single = dataclasses.replace(
        hub.settings, hub=hub.settings.hub.model_copy(update={"runner": "single"})
    )
    assert queue_stalled_after(hub.settings) == STALLED
    assert queue_stalled_after(single) is None
    assert queue_stalled_after(None) is None
    pages = {}
    for name, settings in (("procrastinate", hub.settings), ("single", single)):
        with TestClient(create_app(sync, settings=settings)) as client:
            response = client.get("/metrics")
            assert response.status_code == 200
            pages[name] = response.text
    queue = samples(pages["procrastinate"])
    assert value(queue, "omnisync_queue_workers_alive") == 1
    assert value(queue, "omnisync_queue_waiting_jobs", queue="sandbox") == 2
    assert "omnisync_sync_runs_total" in pages["single"]  # the hub's own series stay
    assert "omnisync_queue_" not in pages["single"]


def test_status_shows_the_queue_in_text_json_and_the_api(hub: Hub) -> None:
    build_queue(hub)
    config = str(hub.settings.config_dir)
    env = {**ENV, "OMNISYNC_DATABASE_URL": hub.settings.database_url}
    as_json = run_cli(["--config-dir", config, "status", "--json"], env=env)
    as_text = run_cli(["--config-dir", config, "status"], env=env)
    assert as_json.exit_code == 0, as_json
    queue = as_json.json()["queue"]
    assert queue["workers_alive"] == 1
    assert queue["workers_stalled"] == 1
    assert queue["stalled_jobs"] == 1
    assert 600 <= queue["oldest_waiting_seconds"] < 3600
    sandbox = queue["queues"]["sandbox"]
    assert (sandbox["waiting"], sandbox["scheduled"], sandbox["running"]) == (2, 1, 2)
    assert sandbox["oldest_waiting_seconds"] == queue["oldest_waiting_seconds"]
    assert list(queue["queues"]) == ["sandbox"]  # only queues with tasks
    assert queue["tick_age_seconds"]["listings"] is None
    assert queue["tick_age_seconds"]["stock"] >= 30

    assert as_text.exit_code == 0, as_text
    assert "workers alive: 1, silent: 1; stalled tasks: 1" in as_text.stdout
    assert "sandbox" in as_text.stdout

    sync = SyncEngine(hub.engine, engine_channels(hub.settings), secrets=hub.settings.secrets)
    with TestClient(create_app(sync, settings=hub.settings)) as client:
        served = client.get(
            "/api/v1/status", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ).json()
    served_sandbox = served["queue"]["queues"]["sandbox"]
    assert (served_sandbox["waiting"], served_sandbox["scheduled"]) == (2, 1)
    assert served_sandbox["running"] == 2
    assert served["queue"]["workers_alive"] == 1


def test_status_has_no_queue_part_under_runner_single(hub: Hub, tmp_path: Path) -> None:
    config = Path(hub.settings.config_dir)
    single = tmp_path / "single"
    (single / "channels").mkdir(parents=True)
    (single / "hub.yaml").write_text(
        (config / "hub.yaml").read_text().replace("runner: procrastinate", "runner: single")
    )
    env = {**ENV, "OMNISYNC_DATABASE_URL": hub.settings.database_url}
    report = run_cli(["--config-dir", str(single), "status", "--json"], env=env)
    assert "queue" not in report.json()
    text = run_cli(["--config-dir", str(single), "status"], env=env)
    assert "workers alive" not in text.stdout


class FakeWork:
    """What queue_app's tasks call: a run that fails, one that raises, a tick that works."""

    def run(self, job: JobName, channel_id: int) -> Any:
        if channel_id == 2:
            raise RuntimeError("the channel broke")
        return SimpleNamespace(failed=channel_id == 1)

    def tick(self, job: JobName) -> list[object]:
        return []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return samples(response.read().decode())


def test_a_worker_counts_each_tasks_duration_and_failures_on_its_own_metrics() -> None:
    metrics = TaskMetrics()
    work = cast(Work, FakeWork())  # queue_app's tasks call only run() and tick()
    app = queue_app("postgresql+psycopg://nobody@127.0.0.1:1/none", work, observe=metrics.observe)
    push, tick_stock = task_name(JobName.STOCK), tick_name(JobName.STOCK)
    app.tasks[push](channel_id=0)  # succeeded
    app.tasks[push](channel_id=1)  # ran and failed
    with pytest.raises(RuntimeError):
        app.tasks[push](channel_id=2)  # raised
    app.tasks[tick_stock](timestamp=0)
    port = free_port()
    metrics.serve("127.0.0.1", port)
    try:
        found = scrape(port)
    finally:
        metrics.stop()
    count = "omnisync_worker_task_duration_seconds_count"
    assert value(found, count, task=push) == 3
    assert value(found, count, task=tick_stock) == 1
    assert value(found, "omnisync_worker_task_failures_total", task=push) == 2
    assert value(found, "omnisync_worker_task_failures_total", task=tick_stock) == 0
    orders = task_name(JobName.ORDERS)  # never ran: there, at 0
    assert value(found, count, task=orders) == 0
    assert value(found, "omnisync_worker_task_failures_total", task=orders) == 0


@pytest.mark.slow  # a worker process: about 5 s
def test_omnisync_worker_serves_its_metrics_on_the_port_it_is_given(
    hub: Hub, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    args = [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(hub.settings.config_dir)]
    args += ["worker", "--concurrency", "2", "--metrics-port", str(port)]
    env = {**os.environ, **ENV, "OMNISYNC_DATABASE_URL": hub.settings.database_url}
    with log.open("wb") as out:
        worker = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            ticked = "omnisync_worker_task_duration_seconds_count"

            def ticks_counted() -> bool:
                try:
                    found = scrape(port)
                except OSError:
                    return False
                return value(found, ticked, task=tick_name(JobName.ORDERS)) >= 1

            assert eventually(ticks_counted, timeout=30), log.read_text()
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
    assert code == 0, log.read_text()
    with pytest.raises(urllib.error.URLError):  # the port closed with the worker
        scrape(port)


def test_omnisync_worker_says_so_when_its_metrics_port_is_taken(hub: Hub) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**ENV, "OMNISYNC_DATABASE_URL": hub.settings.database_url}
        config = str(hub.settings.config_dir)
        result = run_cli(["--config-dir", config, "worker", "--metrics-port", str(port)], env=env)
    assert result.exit_code == 2, result
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
