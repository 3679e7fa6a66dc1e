"""`omnisync sync` under runner `procrastinate`: the job is asked of the workers (a task
deferred now), not run beside them; asking twice joins the task already waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from omnisync.core.db import make_engine
from tests.support.cli_runner import run_cli
from tests.support.databases import POSTGRES_URL
from tests.support.hub_setup import sandbox_channel
from tests.support.queue_hub import queue_config, queue_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OMNISYNC_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def database_url() -> Iterator[str]:
    with queue_database() as url:
        yield url


def test_sync_defers_the_job_for_each_channel_and_a_second_ask_joins_it(
    tmp_path: Path, database_url: str
) -> None:
    channels = {name: sandbox_channel("http://127.0.0.1:9/") for name in ("a", "b")}
    config = queue_config(tmp_path / "config", channels)
    env = {"OMNISYNC_DATABASE_URL": database_url, "SB_KEY": "key-for-deferral-test"}
    assert run_cli(["--config-dir", str(config), "init"], env=env).exit_code == 0

    first = run_cli(["--config-dir", str(config), "sync", "orders", "--json"], env=env).json()
    assert first == [
        {"channel": "a", "job": "orders", "status": "deferred"},
        {"channel": "b", "job": "orders", "status": "deferred"},
    ]
    again = run_cli(
        ["--config-dir", str(config), "sync", "orders", "--channel", "b", "--json"], env=env
    ).json()
    assert again == [{"channel": "b", "job": "orders", "status": "already_waiting"}]

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT task_name, queue_name, args ->> 'channel_id' FROM procrastinate_jobs"
                    " WHERE status = 'todo' ORDER BY id"
                )
            ).all()
            ids = {
                name: id_ for name, id_ in connection.execute(text("SELECT name, id FROM channels"))
            }
    finally:
        engine.dispose()
    assert waiting == [
        ("omnisync.pull_orders", "sandbox", str(ids["a"])),
        ("omnisync.pull_orders", "sandbox", str(ids["b"])),
    ]


def test_worker_refuses_to_start_under_the_single_runner(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "channels").mkdir(parents=True)
    (config / "hub.yaml").write_text("database_url: sqlite:///" + str(tmp_path / "hub.db") + "\n")
    env = {"OMNISYNC_DATABASE_URL": None}
    assert run_cli(["--config-dir", str(config), "init"], env=env).exit_code == 0
    refused = run_cli(["--config-dir", str(config), "worker"], env=env)
    assert refused.exit_code == 2
    assert "runner" in refused.stderr
    assert "procrastinate" in refused.stderr
