"""`omnisync alerts list|show|resolve`: an operator resolves an alert, saying who and why.

An oversold order opens the shop's `oversold_order` alert. Resolved by hand while the
order is still oversold, the command says so, and the hub's next alert pass (made here
as the running hub makes it) opens it again as a new alert. An unknown id or an alert
resolved already exits 1; bad usage exits 2. The commands run in this process
(tests/support/cli_runner.py), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.hub.bootstrap import bootstrap
from tests.cli.test_cli import SECRET, cli_database_url, write_valid_config
from tests.cli.test_status import evaluate
from tests.support.cli_runner import CliResult, invoke_cli
from tests.support.world import ingest, make_order, set_count

__all__ = ["cli_database_url"]  # the fixture, shared with test_cli

ENV = {"FAKE_API_KEY": SECRET}
STILL_OVERSOLD = (
    "its condition still holds (1 oversold order), "
    "so the running hub will open it again on its next evaluation"
)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    write_valid_config(folder)
    return folder


@pytest.fixture
def database_url(config_dir: Path, cli_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """After `omnisync init`: order 1 of shop wants 3 of A with 1 on hand (oversold)."""
    monkeypatch.setenv("FAKE_API_KEY", SECRET)
    hub = bootstrap(config_dir, database_url=cli_database_url, create=True)
    with transaction(hub.engine) as session:
        upsert_sku(session, "A")
    set_count(hub.engine, "A", "main", 1)
    ingest(hub.engine, "shop", make_order("1", [("A", 3)]))
    hub.engine.dispose()
    return cli_database_url


def omnisync(config_dir: Path, database_url: str, *args: str) -> CliResult:
    return invoke_cli(config_dir, database_url, *args, env=ENV, secrets=ENV.values())


def test_an_alert_resolved_while_its_condition_holds_says_so_and_opens_again(
    config_dir: Path, database_url: str
) -> None:
    def run(*args: str) -> CliResult:
        return omnisync(config_dir, database_url, *args)

    (alert,) = run("alerts", "list", "--open", "--json").json()
    assert (alert["rule"], alert["channel"], alert["state"]) == ("oversold_order", "shop", "open")
    alert_id = str(alert["id"])
    table = run("alerts", "list")
    assert table.exit_code == 0, table
    assert "oversold_order" in table.stdout
    shown = run("alerts", "show", alert_id, "--json").json()
    assert shown["details"]["external_id"] == "1"
    assert shown["deliveries"] == []
    text = run("alerts", "show", alert_id)
    assert text.exit_code == 0, text
    assert alert["message"] in text.stdout
    assert "critical: open" in text.stdout

    resolved = run("alerts", "resolve", alert_id, "--note", "refunding the buyer", "--by", "alice")
    assert resolved.exit_code == 0, resolved
    assert " ".join(resolved.stdout.split()) == (
        f"alert {alert_id} (oversold_order, shop) resolved by alice; {STILL_OVERSOLD}"
    )
    again = run("alerts", "resolve", alert_id)
    assert again.exit_code == 1, again
    assert f"alert {alert_id} was resolved by alice at " in again.stderr
    unknown = run("alerts", "resolve", "987654")
    assert unknown.exit_code == 1, unknown
    assert "no alert 987654" in unknown.stderr
    assert run("alerts", "list", "--open", "--json").json() == []

    evaluate(config_dir, database_url)  # the running hub's next pass
    (reopened,) = run("alerts", "list", "--open", "--json").json()
    assert reopened["id"] != alert["id"]
    assert reopened["message"] == alert["message"]
    (old,) = run("alerts", "list", "--resolved", "--rule", "oversold_order", "--json").json()
    assert (old["id"], old["resolved_by"], old["resolution_note"]) == (
        alert["id"],
        "alice",
        "refunding the buyer",
    )
    shown_old = run("alerts", "show", alert_id)
    assert "resolved by alice at " in shown_old.stdout
    assert ": refunding the buyer" in shown_old.stdout

    by_default = run("alerts", "resolve", str(reopened["id"]), "--json").json()
    assert by_default["alert"]["resolved_by"] == getpass.getuser()
    assert by_default["opens_again"] is True
    assert by_default["outlook"] == STILL_OVERSOLD
    assert run("alerts", "list", "--channel", "nope", "--json").json() == []


def test_bad_usage_exits_2(config_dir: Path, database_url: str) -> None:
    for args in (
        ("alerts", "resolve", "abc"),
        ("alerts", "resolve", "0"),
        ("alerts", "resolve"),
        ("alerts", "show", "1", "--by", "alice"),
        ("alerts", "list", "--limit", "0"),
        ("alerts", "list", "--state", "open"),
    ):
        outcome = omnisync(config_dir, database_url, *args)
        assert outcome.exit_code == 2, outcome
    (alert,) = omnisync(config_dir, database_url, "alerts", "list", "--json").json()
    assert alert["state"] == "open"
