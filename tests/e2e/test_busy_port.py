"""A second hub on a port already in use: one line saying so, exit code 2, no traceback,
and nothing started (no job ran)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HttpUnavailable, HubRunner
from tests.support.databases import sqlite_url
from tests.support.hub_setup import write_config

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.single_runner("a hub on SQLite: the single runner")


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port of 127.0.0.1 with a listener on it (another hub, as far as the test knows)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield int(listener.getsockname()[1])


def config_on_port(folder: Path, port: int) -> Path:
    config = write_config(folder, {})
    (config / "hub.yaml").write_text(f"http: {{port: {port}}}\nlocations:\n  - code: main\n")
    return config


def test_the_cli_says_the_port_is_in_use_in_one_line_and_exits_2(
    tmp_path: Path, busy_port: int
) -> None:
    config = config_on_port(tmp_path / "config", busy_port)
    database_url = sqlite_url(tmp_path)
    bootstrap(config, database_url=database_url, create=True).engine.dispose()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("OMNISYNC_")},
        "OMNISYNC_DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO_ROOT),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "omnisync.hub.cli", "--config-dir", str(config), "run"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2, finished.stderr
    expected = f"http: 127.0.0.1:{busy_port} is in use; set http.port or stop the other hub"
    assert expected in finished.stderr.splitlines()
    assert "Traceback" not in finished.stderr
    assert "Errno" not in finished.stderr


def test_the_runner_raises_before_any_job_starts(tmp_path: Path, busy_port: int) -> None:
    config = config_on_port(tmp_path / "config", busy_port)
    runner = HubRunner(bootstrap(config, database_url=sqlite_url(tmp_path), create=True))
    with pytest.raises(HttpUnavailable, match=f"127.0.0.1:{busy_port} is in use"):
        runner.run()
    assert not runner.scheduler.running
    assert runner.url is None
