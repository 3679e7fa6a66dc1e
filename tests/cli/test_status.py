"""`omnisync status`: channel health and open alerts; exit 1 while any alert is open."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import tests.support.fake_connector  # noqa: F401  (registers type "fake")
from omnisync.core.clock import utcnow
from omnisync.core.db import make_engine, run_in_transaction
from omnisync.hub.bootstrap import engine_channels
from omnisync.hub.settings import load_settings
from omnisync.sync.alerts import RULE_CONSECUTIVE_FAILURES, AlertRules, evaluate_rules
from omnisync.sync.health import scheduled_jobs
from tests.cli.test_cli import SECRET, Cli, cli_database_url, write, write_valid_config
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.hub_setup import open_test_hub
from tests.support.keyed_connector import GOOD_KEY, WRONG_KEY, channel_file
from tests.support.runs import add_runs
from tests.support.world import ingest, make_order

__all__ = ["cli_database_url"]  # the fixture, shared with test_cli


def initialise(config_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `omnisync init` does, in this process (each CLI process costs seconds)."""
    monkeypatch.setenv("FAKE_API_KEY", SECRET)
    open_test_hub(config_dir, database_url).engine.dispose()


def evaluate(config_dir: Path, database_url: str) -> None:
    """One pass of the alert rules, as the running hub makes it."""
    settings = load_settings(config_dir, env={"FAKE_API_KEY": SECRET, "OTHER_API_KEY": "x" * 8})
    schedules = {channel.name: scheduled_jobs(channel) for channel in engine_channels(settings)}
    engine = make_engine(database_url)
    now = utcnow()
    try:
        run_in_transaction(
            engine,
            lambda session: evaluate_rules(
                session,
                AlertRules(consecutive_failures=2),
                now,
                schedules=schedules,
                watching_since=now,
                secrets=settings.secrets,
            ),
        )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_status_exits_1_while_an_alert_is_open_and_0_once_it_resolves(
    tmp_path: Path, cli_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    write_valid_config(config_dir)
    cli = Cli(cwd=tmp_path, database_url=cli_database_url, config_dir=config_dir)
    initialise(config_dir, cli_database_url, monkeypatch)

    healthy = cli.ok("status", "--json").json()
    assert healthy["open_alerts"] == 0
    assert healthy["alerts"] == []
    (shop,) = healthy["channels"]
    assert shop["name"] == "shop"
    assert shop["type"] == "fake"
    assert shop["enabled"] is True
    assert shop["paused_reason"] is None
    assert shop["consecutive_failures"] == 0
    assert shop["dirty_listings"] == 0
    assert shop["oldest_dirty_age_seconds"] is None
    assert shop["open_alerts"] == []
    assert shop["jobs"] == {
        "orders": {
            "last_success": None,
            "last_failure": None,
            "last_error": None,
            "consecutive_failures": 0,
            "interval_seconds": 60.0,
        }
    }

    engine = make_engine(cli_database_url)
    try:
        # An error recorded before this secret was configured: status masks it anyway.
        add_runs(
            engine,
            "shop",
            "orders",
            ["succeeded", "failed", "failed"],
            error=f"AuthError: key {SECRET} refused",
        )
    finally:
        engine.dispose()
    evaluate(config_dir, cli_database_url)

    failing, table = cli.many([("status", "--json"), ("status",)])
    assert failing.returncode == 1, failing
    data = failing.stdout
    assert SECRET not in data
    report = json.loads(data)
    assert report["open_alerts"] == 1
    (shop,) = report["channels"]
    assert shop["consecutive_failures"] == 2
    assert shop["jobs"]["orders"]["consecutive_failures"] == 2
    assert shop["jobs"]["orders"]["last_error"] == "AuthError: key *** refused"
    assert shop["jobs"]["orders"]["last_success"] is not None
    (alert,) = shop["open_alerts"]
    assert alert["rule"] == RULE_CONSECUTIVE_FAILURES
    assert alert["channel"] == "shop"
    assert alert["severity"] == "critical"
    assert alert["count"] == 1
    assert "orders failed 2 runs in a row" in alert["message"]

    assert table.returncode == 1, table
    assert "consecutive_failures" in table.stdout
    assert "1 open alert(s)" in table.stdout

    engine = make_engine(cli_database_url)
    try:
        add_runs(engine, "shop", "orders", ["succeeded"], ended=utcnow() + timedelta(seconds=1))
    finally:
        engine.dispose()
    evaluate(config_dir, cli_database_url)

    resolved = cli.ok("status", "--json").json()
    assert resolved["open_alerts"] == 0
    assert resolved["channels"][0]["open_alerts"] == []
    assert resolved["channels"][0]["jobs"]["orders"]["consecutive_failures"] == 0


def test_status_without_channels_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "locations: [{code: main}]\n")
    (config_dir / "channels").mkdir()
    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    cli = Cli(cwd=tmp_path, database_url=database_url, config_dir=config_dir)
    initialise(config_dir, database_url, monkeypatch)
    as_json, as_text = cli.many([("status", "--json"), ("status",)])
    report = as_json.json()
    assert isinstance(report.pop("checked_at"), str)
    assert report == {"open_alerts": 0, "channels": [], "alerts": []}
    assert as_text.returncode == 0, as_text
    assert "no channels" in as_text.stdout
    assert "no open alerts" in as_text.stdout


def test_status_exits_0_again_once_the_restored_credential_resumes_the_channel(
    tmp_path: Path, cli_database_url: str
) -> None:
    """A wrong credential in the channel file pauses the channel and opens auth_failure;
    restoring it resumes the channel, and the alert resolves with the pause."""
    config_dir = tmp_path / "config"
    write(config_dir / "hub.yaml", "locations: [{code: main}]\n")
    write(config_dir / "channels" / "shop.yaml", channel_file())
    wrong, right = {"KEYED_API_KEY": WRONG_KEY}, {"KEYED_API_KEY": GOOD_KEY}

    def omnisync(env: dict[str, str], *args: str) -> CliResult:
        secrets = [WRONG_KEY, GOOD_KEY]
        return invoke_cli(config_dir, cli_database_url, *args, env=env, secrets=secrets)

    assert omnisync(wrong, "init").exit_code == 0
    refused = omnisync(wrong, "sync", "orders", "--json")
    assert refused.exit_code == 1, refused
    assert "AuthError" in json.loads(refused.stdout)[0]["error"]
    paused = omnisync(wrong, "status", "--json")
    assert paused.exit_code == 1, paused
    (shop,) = json.loads(paused.stdout)["channels"]
    assert shop["paused_reason"] is not None
    assert [alert["rule"] for alert in shop["open_alerts"]] == ["auth_failure"]

    resumed = omnisync(right, "status", "--json").json()  # the hub reads the fixed file
    assert resumed["open_alerts"] == 0
    assert resumed["channels"][0]["paused_reason"] is None
    (run,) = omnisync(right, "sync", "orders", "--channel", "shop", "--json").json()
    assert run["status"] == "succeeded"
    assert omnisync(right, "status").exit_code == 0


@pytest.mark.slow
def test_status_exits_1_while_an_open_order_line_is_bound_to_no_sku(
    tmp_path: Path, cli_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    write_valid_config(config_dir)
    cli = Cli(cwd=tmp_path, database_url=cli_database_url, config_dir=config_dir)
    initialise(config_dir, cli_database_url, monkeypatch)
    engine = make_engine(cli_database_url)
    try:
        ingest(engine, "shop", make_order("1001", [("MUG-BLUE", 1)]))
    finally:
        engine.dispose()
    as_json, as_text = cli.many([("status", "--json"), ("status",)])
    assert as_json.returncode == 1, as_json
    (alert,) = json.loads(as_json.stdout)["channels"][0]["open_alerts"]
    assert alert["rule"] == "unlinked_listings"
    assert "order 1001 (MUG-BLUE)" in alert["message"]
    assert as_text.returncode == 1, as_text
    assert "unlinked_listings" in as_text.stdout
