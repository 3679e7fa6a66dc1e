"""hub.yaml `runner` and `workers`, and a channel's `account`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from omnisync.hub.bootstrap import sync_channel
from omnisync.hub.settings import ConfigError
from tests.unit.test_settings import channel_file, load, write

PG = "postgresql+psycopg://hub@db.example:5432/omnisync"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    write(folder / "hub.yaml", "")
    (folder / "channels").mkdir()
    return folder


def test_the_single_runner_is_the_default_and_needs_no_postgresql(config_dir: Path) -> None:
    settings = load(config_dir)
    assert settings.hub.runner == "single"
    assert settings.hub.workers.stalled_after == timedelta(seconds=10)


def test_runner_procrastinate_on_sqlite_is_refused_naming_hub_yaml_and_the_field(
    config_dir: Path,
) -> None:
    write(config_dir / "hub.yaml", "runner: procrastinate\n")
    with pytest.raises(ConfigError) as refused:
        load(config_dir)
    (line,) = refused.value.problems
    assert line.startswith(f"{config_dir / 'hub.yaml'}: runner: ")
    assert "PostgreSQL" in line
    assert "sqlite" in line


def test_runner_procrastinate_on_postgresql_reads_the_worker_settings(
    config_dir: Path,
) -> None:
    write(
        config_dir / "hub.yaml",
        "runner: procrastinate\nworkers: {heartbeat: 2s, stalled_after: 12s, sweep_every: 500ms}\n",
    )
    settings = load(config_dir, database_url=PG)
    assert settings.hub.runner == "procrastinate"
    workers = settings.hub.workers
    assert (workers.heartbeat, workers.stalled_after, workers.sweep_every) == (
        timedelta(seconds=2),
        timedelta(seconds=12),
        timedelta(milliseconds=500),
    )


def test_a_worker_taken_for_dead_before_three_heartbeats_is_a_problem(
    config_dir: Path,
) -> None:
    write(config_dir / "hub.yaml", "workers: {heartbeat: 5s, stalled_after: 10s}\n")
    with pytest.raises(ConfigError) as refused:
        load(config_dir)
    assert any("workers" in line and "3 heartbeats" in line for line in refused.value.problems)


def test_an_unknown_runner_is_a_problem(config_dir: Path) -> None:
    write(config_dir / "hub.yaml", "runner: celery\n")
    with pytest.raises(ConfigError) as refused:
        load(config_dir)
    assert any(": runner: " in line for line in refused.value.problems)


def test_a_channels_account_reaches_the_engine(config_dir: Path) -> None:
    channel_file(config_dir, "eu", "account: seller-1\n")
    channel_file(config_dir, "us")
    settings = load(config_dir)
    accounts = {c.name: sync_channel(c, settings).account for c in settings.channels}
    assert accounts == {"eu": "seller-1", "us": None}
