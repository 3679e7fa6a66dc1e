"""Invariant 8 with real processes: two `omnisync run` on one PostgreSQL database never
run the same job for the same channel at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, upsert_sku
from omnisync.core.db import transaction
from omnisync.core.ledger import count_stock
from omnisync.core.models import SyncRun
from omnisync.hub.bootstrap import bootstrap
from omnisync.sandbox.marketplace import SandboxMarketplace
from tests.support.databases import POSTGRES_URL, postgres_schema, postgres_schema_url
from tests.support.hub_setup import sandbox_channel, write_config
from tests.support.polling import eventually
from tests.support.queue_mode import hub_workers

TOKEN = "two-hubs-token-61c0"
FAST = (
    "schedule: {orders: 500ms, listings: 500ms, stock: 500ms, reconcile: 500ms,"
    " fulfilments: 500ms}\n"
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set")


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_schema() as schema:
        yield postgres_schema_url(schema)


def test_two_running_hubs_never_overlap_on_a_job_of_a_channel(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    with SandboxMarketplace(TOKEN, name="two", rate=1000, burst=1000) as market:
        market.set_listings([{"sku": f"T{n}", "title": "t", "quantity": 9} for n in range(20)])
        config = write_config(tmp_path / "config", {"sb": sandbox_channel(market.url, extra=FAST)})
        hub = bootstrap(config, database_url=database_url, create=True)
        with transaction(hub.engine) as session:
            main = location_by_code(session, "main")
            for n in range(20):
                count_stock(session, upsert_sku(session, f"T{n}"), main, 9)
        for n in range(60):
            market.buy(f"T{n % 20}")
        market.inject("*", "slow", count=10_000, seconds=0.05)  # runs take a while
        with hub_workers(config, database_url, tmp_path / "workers", count=2):
            env = {**os.environ, "OMNISYNC_DATABASE_URL": database_url}
            logs = [tmp_path / f"hub-{n}.log" for n in range(2)]
            command = [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), "run"]
            hubs = []
            for log in logs:
                with log.open("wb") as out:  # the hub has its own copy of the file
                    hubs.append(subprocess.Popen(command, env=env, stderr=out))
            # Both up (their SIGTERM handler in place) before the runs are counted: under
            # runner procrastinate the workers run the jobs, whether the hubs are up or not.
            assert eventually(lambda: all("hub running" in log.read_text() for log in logs), 60)
            # Both hubs run until every job has run a few times (start-up is slow under load).
            wanted = {"orders", "listings", "stock", "reconcile"}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not _ran_enough(hub.engine, wanted):
                time.sleep(0.5)
            for process in hubs:
                process.send_signal(signal.SIGTERM)
            assert [process.wait(timeout=60) for process in hubs] == [0, 0]

    with Session(hub.engine) as session:
        runs = session.exec(select(SyncRun).order_by(col(SyncRun.started_at))).all()
    hub.engine.dispose()
    by_job: dict[tuple[int | None, str], list[SyncRun]] = defaultdict(list)
    for run in runs:
        by_job[(run.channel_id, run.job)].append(run)
    assert {"orders", "listings", "stock", "reconcile"} <= {job for _, job in by_job}
    assert len(runs) >= 8
    for key, series in by_job.items():
        for earlier, later in pairwise(series):
            assert earlier.finished_at is not None, key
            assert later.started_at >= earlier.finished_at, (
                f"{key}: run {later.id} started before run {earlier.id} finished"
            )


def _ran_enough(engine: Engine, jobs: set[str]) -> bool:
    with Session(engine) as session:
        runs = session.exec(select(SyncRun.job)).all()
    return len(runs) >= 12 and jobs <= set(runs) and all(runs.count(job) >= 2 for job in jobs)
