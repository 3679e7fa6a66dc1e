"""Log lines: text or JSON, the run's channel/job/id on lines written inside a run,
configured secrets masked however they reach a line (invariant 9)."""

from __future__ import annotations

import importlib
import io
import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omnisync.hub.cli import app, main
from omnisync.hub.logs import LogFormat, LogLevel, configure_logging
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.jobs import registry
from omnisync.sync.jobs.context import JobContext
from omnisync.sync.jobs.names import JobName
from omnisync.sync.log_context import current_run, run_context
from tests.support.databases import sqlite_url
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config

TOKEN = "log-secret-5f0c2e9a"
ROTATED = "log-secret-rotated-81d3"


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def hub_with_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int) -> Any:
    monkeypatch.setenv("SB_KEY", TOKEN)
    config = write_config(
        tmp_path / "config",
        {"a": sandbox_channel(f"http://127.0.0.1:{port}", timeout=0.5)},
    )
    return open_test_hub(config, sqlite_url(tmp_path))


def test_json_lines_name_the_channel_job_and_run_of_a_real_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_with_channel(tmp_path, monkeypatch, closed_port())
    stream = io.StringIO()
    configure_logging(LogLevel.INFO, LogFormat.JSON, stream)
    engine = engine_for(hub)
    try:
        outcome = engine.run("a", "orders")
        logging.getLogger("omnisync.test").info("after the run")
    finally:
        engine.close()
        hub.engine.dispose()

    assert outcome.status == "failed"
    lines = json_lines(stream)
    retries = [line for line in lines if line["logger"] == "omnisync.sync.calls"]
    failure = [line for line in lines if line["logger"] == "omnisync.sync.engine"]
    assert retries, lines  # the connection was refused and retried inside the run
    assert len(failure) == 1, lines
    for line in [*retries, *failure]:
        assert (line["channel"], line["job"], line["run_id"]) == ("a", "orders", outcome.run_id)
        assert line["level"] == "WARNING"
        assert line["time"].endswith("Z")
    after = lines[-1]
    assert after["message"] == "after the run"
    assert not {"channel", "job", "run_id"} & after.keys()
    assert TOKEN not in stream.getvalue()


def leaking_job(ctx: JobContext) -> None:
    """A job that leaks the channel's key three ways, then fails with it."""
    leak = logging.getLogger("omnisync.connectors.leaky")
    leak.warning(f"calling with key {TOKEN}")
    leak.warning("retrying with %s", TOKEN)
    try:
        raise ValueError(f"refused key {TOKEN}")
    except ValueError:
        leak.exception("the call failed")
    raise RuntimeError(f"gave up with key {TOKEN}")


@pytest.mark.parametrize("log_format", list(LogFormat))
def test_a_secret_logged_by_accident_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_format: LogFormat
) -> None:
    leaking = replace(registry.JOBS[JobName.ORDERS], run=leaking_job)
    monkeypatch.setattr(registry, "JOBS", {**registry.JOBS, JobName.ORDERS: leaking})
    hub = hub_with_channel(tmp_path, monkeypatch, closed_port())
    stream = io.StringIO()
    configure_logging(LogLevel.INFO, log_format, stream)
    engine = engine_for(hub)
    try:
        outcome = engine.run("a", "orders")
    finally:
        engine.close()
        hub.engine.dispose()

    output = stream.getvalue()
    assert outcome.status == "failed"
    assert TOKEN not in output
    expected = [
        "calling with key ***",
        "retrying with ***",
        "ValueError: refused key ***",  # the traceback of leak.exception
        "RuntimeError: gave up with key ***",  # the engine's traceback of the failure
        "failed: RuntimeError: gave up with key ***",
    ]
    for text in expected:
        assert text in output, output
    if log_format == LogFormat.JSON:
        lines = json_lines(stream)
        assert all(line["run_id"] == outcome.run_id for line in lines), lines
        tracebacks = [line for line in lines if "exception" in line]
        assert len(tracebacks) == 2, lines
    else:
        assert f"[a orders run={outcome.run_id}]: calling with key ***" in output


def test_secrets_of_a_reloaded_config_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_with_channel(tmp_path, monkeypatch, closed_port())
    stream = io.StringIO()
    configure_logging(LogLevel.INFO, LogFormat.TEXT, stream)
    runner = HubRunner(hub)
    try:
        logging.getLogger("omnisync.test").warning("before: %s", ROTATED)
        monkeypatch.setenv("SB_KEY_2", ROTATED)
        channel = sandbox_channel(f"http://127.0.0.1:{closed_port()}", key_var="SB_KEY_2")
        (hub.settings.config_dir / "channels" / "b.yaml").write_text(channel)
        runner.reload()
        logging.getLogger("omnisync.test").warning("after: %s and %s", ROTATED, TOKEN)
    finally:
        runner.sync.close()
        hub.engine.dispose()

    output = stream.getvalue()
    assert "channel b added" in output
    assert f"before: {ROTATED}" in output  # not a configured secret yet: shown as is
    assert "after: *** and ***" in output


def test_each_thread_names_only_its_own_run() -> None:
    stream = io.StringIO()
    configure_logging(LogLevel.INFO, LogFormat.JSON, stream)
    both_inside = threading.Barrier(2)
    inherited: list[object] = []

    def work(channel: str, run_id: int) -> None:
        with run_context(channel, "stock", run_id):
            both_inside.wait(timeout=10)
            logging.getLogger("omnisync.sync.test").info("pushing %s", channel)
            spawned = threading.Thread(target=lambda: inherited.append(current_run()))
            spawned.start()
            spawned.join()
            both_inside.wait(timeout=10)
        logging.getLogger("omnisync.sync.test").info("done %s", channel)

    threads = [threading.Thread(target=work, args=(name, n)) for name, n in (("a", 1), ("b", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = json_lines(stream)
    runs = {line["message"]: (line.get("channel"), line.get("run_id")) for line in lines}
    assert runs == {
        "pushing a": ("a", 1),
        "pushing b": ("b", 2),
        "done a": (None, None),
        "done b": (None, None),
    }
    assert inherited == [None, None]  # a thread a job starts does not claim the run


def test_library_noise_stays_at_its_levels() -> None:
    stream = io.StringIO()
    configure_logging(LogLevel.DEBUG, LogFormat.TEXT, stream)
    logging.getLogger("apscheduler.scheduler").warning("coalesced a run")
    logging.getLogger("apscheduler.scheduler").error("job raised")
    logging.getLogger("httpx").info("HTTP Request: GET /orders")
    logging.getLogger("httpx").warning("pool exhausted")
    logging.getLogger("omnisync.sync.engine").debug("our own debug line")

    output = stream.getvalue()
    for quiet in ("coalesced a run", "HTTP Request"):
        assert quiet not in output
    for shown in ("job raised", "pool exhausted", "our own debug line"):
        assert shown in output


def test_the_cli_writes_json_log_lines_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    database_url = sqlite_url(tmp_path)
    # A marketplace that refuses the key: the run fails at once (no retries to wait out).
    with SandboxMarketplace("another-key-0c41", name="refusing") as market:
        config = write_config(tmp_path / "config", {"a": sandbox_channel(market.url)})
        open_test_hub(config, database_url).engine.dispose()
        synced = CliRunner().invoke(
            app,
            ["--config-dir", str(config), "sync", "orders", "--json"],
            env={"OMNISYNC_DATABASE_URL": database_url, "OMNISYNC_LOG_FORMAT": "json"},
        )

    assert synced.exit_code == 1, synced.stderr
    outcome = json.loads(synced.stdout)
    assert TOKEN not in synced.stdout + synced.stderr
    lines = [json.loads(line) for line in synced.stderr.splitlines()]
    failures = [line for line in lines if line["logger"] == "omnisync.sync.engine"]
    assert len(failures) == 1, lines
    assert failures[0]["level"] == "WARNING"
    assert failures[0]["message"].startswith("a orders: failed: AuthError")
    assert failures[0]["channel"] == "a"
    assert failures[0]["job"] == "orders"
    assert failures[0]["run_id"] == outcome[0]["run_id"]


def test_a_crash_of_the_cli_prints_its_traceback_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SB_KEY", TOKEN)
    monkeypatch.setenv("OMNISYNC_DATABASE_URL", sqlite_url(tmp_path))

    def crash(outcomes: object) -> None:
        raise RuntimeError(f"the table broke near {TOKEN}")

    monkeypatch.setattr(
        importlib.import_module("omnisync.hub.commands.sync"), "_print_table", crash
    )
    with SandboxMarketplace("another-key-0c41", name="refusing") as market:
        config = write_config(tmp_path / "config", {"a": sandbox_channel(market.url)})
        open_test_hub(config, sqlite_url(tmp_path)).engine.dispose()
        monkeypatch.setattr(
            sys, "argv", ["omnisync", "--config-dir", str(config), "sync", "orders"]
        )
        with pytest.raises(SystemExit) as exited:
            main()

    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert "ERROR omnisync: unexpected failure\nTraceback" in stderr
    assert "RuntimeError: the table broke near ***" in stderr
    assert TOKEN not in stderr
