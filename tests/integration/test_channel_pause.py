"""Pausing a channel by hand (SQLite and PostgreSQL): a pause by hand says who and why,
opens no alert, and survives what lifts the hub's own pause (a run that succeeds, a
changed config) until someone resumes it; alike from the CLI (`omnisync channels
pause|resume`) and the API (admins only). "Sync now" (Scheduler.run_now) runs the
channel's scheduled jobs once at once, beside their untouched schedule: one running at
that moment runs again once that run ends; it refuses what it cannot run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
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
from omnisync.sync.engine import ALREADY_RUNNING, RUNNING_ELSEWHERE, RunOutcome, SyncEngine
from omnisync.sync.leases import release, try_acquire
from omnisync.sync.scheduler import Scheduler
from tests.support import keyed_connector
from tests.support.api import API_TOKEN, CLOSED_PORT_URL, SANDBOX_KEY, closed_channels
from tests.support.cli_runner import invoke_cli
from tests.support.console import ADMIN, OPERATOR, VIEWER, console_hub, user_token
from tests.support.gated_connector import Gate, GatedConnector
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


def finished_runs(engine: Engine, job: str, channel: str = "shop") -> int:
    """Finished runs of the channel's job."""
    with Session(engine) as session:
        channel_id = channel_by_name(session, channel).id
        query = select(func.count()).where(
            SyncRun.channel_id == channel_id,
            SyncRun.job == job,
            col(SyncRun.finished_at).is_not(None),
        )
        return int(session.exec(query).one())


def test_run_now_runs_the_channels_jobs_and_refuses_what_it_cannot_run(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
    off = sandbox_channel(CLOSED_PORT_URL) + "enabled: false\n"
    config = write_config(tmp_path / "config", {**closed_channels("shop", "market"), "off": off})
    hub = open_test_hub(config, migrated_database_url)
    sync = engine_for(hub)
    scheduler = Scheduler(sync, push_poll=0.05)
    with pytest.raises(Conflict, match="hub is not running"):
        scheduler.run_now("shop")
    scheduler.start()
    try:
        jobs = sorted(set(sync.channels["shop"].intervals) & {"orders", "listings", "reconcile"})
        assert jobs

        def runs(job: str) -> int:
            return finished_runs(hub.engine, job)

        assert eventually(lambda: all(runs(job) >= 1 for job in jobs)), "the first runs"
        done = {job: runs(job) for job in jobs}  # every 1h from now on: none due by itself

        def ran_again() -> bool:
            return all(runs(job) > done[job] for job in jobs)

        # A job whose run is still ending at that moment is named with "(running now: ...)"
        # and runs again once that run ends: one call is enough either way.
        started = scheduler.run_now("shop")
        assert set(jobs) <= {line.split(" ")[0] for line in started}
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


@pytest.fixture
def gate() -> Iterator[Gate]:
    GatedConnector.reset()
    gate = GatedConnector.gate = Gate()
    yield gate
    gate.opened.set()  # a failed test leaves no pull waiting
    GatedConnector.reset()


def test_run_now_while_the_job_runs_waits_for_that_run_and_keeps_the_schedule(
    tmp_path: Path, migrated_database_url: str, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = "type: gated\nlabel: first\nschedule: {orders: 1h}\n"
    hub = open_test_hub(write_config(tmp_path / "config", {"shop": channel}), migrated_database_url)
    sync = engine_for(hub)
    skipped: list[str | None] = []
    engine_run = sync.run

    def run(name: str, job: str) -> RunOutcome:
        outcome = engine_run(name, job)
        if outcome.status == "skipped":
            skipped.append(outcome.error)
        return outcome

    def idle() -> bool:
        return not sync.is_running("shop", "orders")

    monkeypatch.setattr(sync, "run", run)
    scheduler = Scheduler(sync, push_poll=0.05)
    scheduler.start()
    try:
        assert gate.reached.wait(20), "the interval run never reached the gate"
        assert sync.is_running("shop", "orders")
        due = scheduler.next_run_time("shop", "orders")
        assert due is not None  # an hour after the held run started

        said = scheduler.run_now("shop")
        assert said == ["orders (running now: runs again once that run ends)"]
        # The one-off found the job running: skipped, not doubled, and it asks again.
        assert eventually(lambda: ALREADY_RUNNING in skipped), "the one-off never tried"
        assert scheduler.next_run_time("shop", "orders") == due  # not postponed
        assert finished_runs(hub.engine, "orders") == 0
        assert GatedConnector.requests == ["first"]  # the held run's first page only

        gate.opened.set()
        assert eventually(lambda: finished_runs(hub.engine, "orders") == 2), "no one-off run"
        assert scheduler.next_run_time("shop", "orders") == due
        # A run's row is finished before the run lets go of its lease: wait for that too.
        assert eventually(idle)

        assert scheduler.run_now("shop") == ["orders"]  # idle: it starts at once
        assert eventually(lambda: finished_runs(hub.engine, "orders") == 3)
        assert eventually(idle)

        with Session(hub.engine) as session:
            shop = channel_by_name(session, "shop").id
        assert shop is not None
        other = "elsewhere:1:test"  # another machine's live process holds the lease
        assert try_acquire(hub.engine, shop, "orders", other, timedelta(minutes=5))
        said = scheduler.run_now("shop")
        assert said == ["orders (running in another process: runs here once that run ends)"]
        assert eventually(lambda: RUNNING_ELSEWHERE in skipped), "the one-off never tried"
        assert finished_runs(hub.engine, "orders") == 3
        release(hub.engine, shop, "orders", other)
        assert eventually(lambda: finished_runs(hub.engine, "orders") == 4), "no run after"
        assert scheduler.next_run_time("shop", "orders") == due
        with Session(hub.engine) as session:
            statuses = session.exec(select(SyncRun.status).where(SyncRun.job == "orders")).all()
        assert sorted(statuses) == ["succeeded"] * 4
    finally:
        gate.opened.set()
        scheduler.stop()
        sync.close()
        hub.engine.dispose()
