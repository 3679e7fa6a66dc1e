"""Pausing a channel by hand (SQLite and PostgreSQL): a pause by hand says who and why,
opens no alert, and survives what lifts the hub's own pause (a run that succeeds, a
changed config) until someone resumes it; alike from the CLI (`omnisync channels
pause|resume`) and the API (admins only). "Sync now" (Scheduler.run_now) makes the
channel's scheduled jobs due at once, and refuses what it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from omnisync.core.alerting import RULE_AUTH
from omnisync.core.channels import channel_by_name, pause_channel_by_hand, resume_channel
from omnisync.core.db import transaction
from omnisync.core.errors import Conflict, NotFound
from omnisync.core.models import Alert, SyncRun, UserAction
from omnisync.core.types import AlertState
from omnisync.hub.bootstrap import apply_config, engine_channels
from omnisync.hub.commands.resolving import operator_name
from omnisync.hub.settings import load_settings
from omnisync.sync.engine import SyncEngine
from omnisync.sync.scheduler import Scheduler
from tests.support import keyed_connector
from tests.support.api import API_TOKEN, CLOSED_PORT_URL, SANDBOX_KEY, closed_channels
from tests.support.cli_runner import invoke_cli
from tests.support.console import ADMIN, OPERATOR, VIEWER, console_hub, user_token
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config
from tests.support.keyed_connector import GOOD_KEY, WRONG_KEY, channel_file
from tests.support.polling import eventually


def paused(engine: Engine, name: str = "shop") -> tuple[str | None, str | None]:
    with Session(engine) as session:
        channel = channel_by_name(session, name)
        return channel.paused_by, channel.paused_reason


def open_rules(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Alert.rule).where(Alert.state == AlertState.OPEN)))


def recorded(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.via, row.action, row.target) for row in rows]


def test_a_pause_by_hand_survives_a_good_run_and_a_config_change_until_resumed(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYED_API_KEY", WRONG_KEY)
    config = write_config(tmp_path / "config", {"shop": channel_file()})
    hub = open_test_hub(config, migrated_database_url)
    sync = engine_for(hub)
    engine = hub.engine
    try:
        assert sync.run("shop", "orders").status == "failed"  # the hub pauses it itself
        assert paused(engine)[0] is None
        assert open_rules(engine) == [RULE_AUTH]
        with transaction(engine) as session:  # an admin pauses it on top
            pause_channel_by_hand(session, channel_by_name(session, "shop"), "ada", " stock take ")
        assert paused(engine) == ("ada", "paused by ada: stock take")
        assert open_rules(engine) == [RULE_AUTH]

        monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)  # the key is fixed: a changed config
        settings = load_settings(config)
        apply_config(engine, settings)
        assert paused(engine) == ("ada", "paused by ada: stock take")
        assert open_rules(engine) == []  # the credentials changed: that alert is over
        sync.close()
        sync = SyncEngine(engine, engine_channels(settings), secrets=settings.secrets)
        skipped = sync.run("shop", "orders")
        assert skipped.error == "paused: paused by ada: stock take"
        forced = sync.run("shop", "orders", force=True)  # `omnisync sync --force`: it works
        assert forced.status == "succeeded", forced.error
        assert paused(engine) == ("ada", "paused by ada: stock take")

        with transaction(engine) as session:  # only a resume by hand lifts it
            resume_channel(session, channel_by_name(session, "shop"))
        assert paused(engine) == (None, None)
        assert sync.run("shop", "orders").status == "succeeded"
        with transaction(engine) as session:
            pause_channel_by_hand(session, channel_by_name(session, "shop"), "ada", None)
        assert paused(engine) == ("ada", "paused by ada")
        assert open_rules(engine) == []  # a pause by hand opens no alert
    finally:
        sync.close()
        engine.dispose()


def test_the_cli_pauses_and_resumes_a_channel_by_hand(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYED_API_KEY", GOOD_KEY)
    config = write_config(tmp_path / "config", {"shop": channel_file()})
    hub = open_test_hub(config, migrated_database_url)
    engine = hub.engine
    assert keyed_connector.KeyedConnector.channel_type == "keyed"

    def cli(*args: str) -> tuple[int, str]:
        result = invoke_cli(config, migrated_database_url, "channels", *args)
        return result.exit_code, result.stdout + result.stderr

    code, said = cli("pause", "shop", "--reason", "moving warehouse")
    who = operator_name()
    assert code == 0, said
    assert f"channel shop is paused (paused by {who}: moving warehouse)" in said
    assert paused(engine) == (who, f"paused by {who}: moving warehouse")
    code, said = cli("list")
    assert f"paused by {who}: moving warehouse" in said
    code, said = cli("resume", "shop")
    assert code == 0, said
    assert paused(engine) == (None, None)
    code, said = cli("resume", "shop")
    assert (code, "channel shop is not paused" in said) == (1, True)
    code, said = cli("pause", "nope")
    assert (code, "unknown channel 'nope'" in said) == (1, True)
    assert recorded(engine) == [
        (who, "cli", "channel.pause", "shop"),
        (who, "cli", "channel.resume", "shop"),
    ]
    engine.dispose()


def test_the_api_pauses_resumes_and_syncs_for_admins_only(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as console:
        engine = console.engine
        tokens = {name: user_token(engine, name) for name in (ADMIN, OPERATOR, VIEWER)}

        def post(path: str, token: str, body: object = None) -> tuple[int, dict[str, object]]:
            answer = console.http.post(
                f"/api/v1/channels/{path}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            return answer.status_code, answer.json()

        for name in (OPERATOR, VIEWER):
            for action in ("pause", "resume", "sync"):
                status, body = post(f"shop/{action}", tokens[name], {"reason": "no"})
                assert status == 403, (name, action, body)
                assert f"{name} is " in str(body["error"])
        assert paused(engine) == (None, None)

        status, body = post("shop/pause", tokens[ADMIN], {"reason": "stock take"})
        assert status == 200, body
        assert (body["name"], body["paused_reason"]) == ("shop", "paused by ada: stock take")
        assert paused(engine) == (ADMIN, "paused by ada: stock take")
        assert post("nope/pause", tokens[ADMIN])[0] == 404
        assert post("shop/pause", tokens[ADMIN], {"reason": "x", "why": "y"})[0] == 422
        status, body = post("shop/resume", tokens[ADMIN])
        assert (status, body["paused_reason"]) == (200, None)
        status, body = post("shop/resume", tokens[ADMIN])
        assert (status, body) == (409, {"error": "channel shop is not paused"})
        status, body = post("shop/sync", tokens[ADMIN])
        assert status == 409
        assert "no scheduler runs in this process" in str(body["error"])
        status, body = post("market/pause", API_TOKEN)  # hub.yaml's token is an admin's
        assert (status, body["paused_reason"]) == (200, "paused by api")
        assert recorded(engine) == [
            (ADMIN, "api", "channel.pause", "shop"),
            (ADMIN, "api", "channel.resume", "shop"),
            ("api", "api", "channel.pause", "market"),
        ]


def test_run_now_makes_the_channels_jobs_due_and_refuses_what_it_cannot_run(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
    off = sandbox_channel(CLOSED_PORT_URL) + "enabled: false\n"
    config = write_config(tmp_path / "config", {**closed_channels("shop", "market"), "off": off})
    hub = open_test_hub(config, migrated_database_url)
    sync = engine_for(hub)
    scheduler = Scheduler(sync, push_poll=0.05)
    with pytest.raises(Conflict, match="scheduler is not running"):
        scheduler.run_now("shop")
    scheduler.start()
    try:
        jobs = sorted(set(sync.channels["shop"].intervals) & {"orders", "listings", "reconcile"})
        assert jobs

        def runs(job: str) -> int:
            """Finished runs of the job (a run still going is not doubled by run_now)."""
            with Session(hub.engine) as session:
                shop = channel_by_name(session, "shop").id
                query = select(func.count()).where(
                    SyncRun.channel_id == shop,
                    SyncRun.job == job,
                    col(SyncRun.finished_at).is_not(None),
                )
                return int(session.exec(query).one())

        assert eventually(lambda: all(runs(job) >= 1 for job in jobs)), "the first runs"
        done = {job: runs(job) for job in jobs}  # every 1h from now on: none due by itself

        def ran_again() -> bool:
            return all(runs(job) > done[job] for job in jobs)

        started = scheduler.run_now("shop")
        assert set(jobs) <= set(started)
        if not eventually(ran_again, timeout=5):  # a run was still ending at that moment
            scheduler.run_now("shop")
        assert eventually(ran_again), "a run of each job"

        with pytest.raises(NotFound, match="unknown channel 'nope'"):
            scheduler.run_now("nope")
        with pytest.raises(Conflict, match="off is disabled"):
            scheduler.run_now("off")
        with transaction(hub.engine) as session:
            pause_channel_by_hand(session, channel_by_name(session, "market"), "ada", "audit")
        with pytest.raises(Conflict, match=r"market is paused \(paused by ada: audit\)"):
            scheduler.run_now("market")
    finally:
        scheduler.stop()
        sync.close()
        hub.engine.dispose()
