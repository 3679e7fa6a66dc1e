"""Acceptance: a channel that cannot be reached raises one alert, by webhook and by mail,
a reminder after `repeat_after`, and a resolution once it answers again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from omnisync.core.db import make_engine
from omnisync.core.models import Alert, AlertDelivery
from omnisync.core.types import AlertState
from omnisync.hub.bootstrap import bootstrap
from omnisync.hub.runner import HubRunner
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.alerts import RULE_CONSECUTIVE_FAILURES
from tests.support.alert_receivers import SmtpSink, WebhookReceiver, closed_port
from tests.support.hub_setup import FAST_RETRIES, sandbox_channel, write_config
from tests.support.polling import eventually
from tests.support.queue_mode import QUEUE_MODE, hub_workers

TOKEN = "alerts-e2e-token-4be19d"
REPEAT_AFTER = 3.0


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, SmtpSink]]:
    with WebhookReceiver() as webhook, SmtpSink() as mail:
        yield webhook, mail


FAILING_FIRST = ("orders", "listings", "stock", "reconcile") if QUEUE_MODE else ("orders",)
"""The jobs whose failures may open the alert first."""


def deliveries(database_url: str) -> list[AlertDelivery]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(AlertDelivery).order_by(AlertDelivery.notifier)))
    finally:
        engine.dispose()


def alerts(database_url: str) -> list[Alert]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Alert)))
    finally:
        engine.dispose()


def test_an_unreachable_channel_alerts_once_reminds_then_resolves(
    tmp_path: Path,
    empty_database_url: str,
    receivers: tuple[WebhookReceiver, SmtpSink],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook, mail = receivers
    port = closed_port()
    monkeypatch.setenv("SB_KEY", TOKEN)
    monkeypatch.setenv("ALERT_HOOK", webhook.url)
    config = write_config(
        tmp_path / "config",
        {
            "sb": sandbox_channel(
                f"http://127.0.0.1:{port}",
                extra="schedule: {orders: 1s, listings: 1h, stock: 1h, reconcile: 1h}\n",
            )
        },
    )
    with (config / "hub.yaml").open("a") as hub_yaml:
        hub_yaml.write(
            f"alert_rules:\n"
            f"  consecutive_failures: 2\n"
            f"  repeat_after: {REPEAT_AFTER:.0f}s\n"
            f"  evaluate_every: 200ms\n"
            f"alerts:\n"
            f"  - type: webhook\n"
            f"    url: ${{ALERT_HOOK}}\n"
            f"  - type: email\n"
            f"    host: 127.0.0.1\n"
            f"    port: {mail.port}\n"
            f"    from: omnisync@example.com\n"
            f"    to: [oncall@example.com]\n"
        )
    caplog.set_level(logging.INFO)
    runner = HubRunner(
        bootstrap(config, database_url=empty_database_url, create=True),
        push_poll=0.05,
        retry=FAST_RETRIES,
    )
    with hub_workers(config, empty_database_url, tmp_path / "workers"):
        thread = threading.Thread(target=runner.run)
        thread.start()
        marketplace: SandboxMarketplace | None = None
        try:
            assert eventually(lambda: webhook.states() == ["open"] and len(mail.messages) == 1), (
                webhook.received,
                mail.subjects(),
            )
            (opened,) = webhook.received
            assert opened["rule"] == RULE_CONSECUTIVE_FAILURES
            assert opened["channel"] == "sb"
            assert opened["severity"] == "critical"
            # Under runner `procrastinate` a refused run is tried again on backoff whatever the
            # job's interval, so the start-up listings (1h) may fail twice before orders (1s).
            assert any(f"{job} failed" in opened["text"] for job in FAILING_FIRST), opened
            assert "connection failed" in opened["text"]
            assert mail.subjects() == [f"[omnisync] [CRITICAL] sb: {RULE_CONSECUTIVE_FAILURES}"]
            assert mail.recipients == [["oncall@example.com"]]

            assert eventually(lambda: "reminder" in webhook.states()), webhook.received
            assert eventually(lambda: any("still open" in subject for subject in mail.subjects()))
            assert webhook.states()[0] == "open"  # one opening, however many failures since
            # The dispatcher records a delivery just after sending it: wait for the record.
            assert eventually(
                lambda: all(row.reminded_at is not None for row in deliveries(empty_database_url))
            )
            for row in deliveries(empty_database_url):
                assert row.announced_at is not None
                assert row.reminded_at is not None
                # The dispatcher's own record: the reminder waited for repeat_after.
                assert (row.reminded_at - row.announced_at).total_seconds() >= REPEAT_AFTER

            marketplace = SandboxMarketplace(TOKEN, name="sb", port=port, rate=500, burst=500)
            marketplace.start()
            assert eventually(lambda: webhook.states()[-1:] == ["resolved"]), webhook.received
            assert eventually(lambda: mail.subjects()[-1].startswith("[omnisync] [RESOLVED] sb"))
        finally:
            runner.stop()
            thread.join(timeout=30)
            if marketplace is not None:
                marketplace.stop()
    assert not thread.is_alive()

    states = webhook.states()
    assert states[0] == "open"
    assert states[-1] == "resolved"
    assert set(states[1:-1]) == {"reminder"}
    subjects = mail.subjects()
    assert len(subjects) == len(states)
    opening = f"[omnisync] [CRITICAL] sb: {RULE_CONSECUTIVE_FAILURES}"
    assert subjects.count(opening) == 1
    assert all("still open" in subject for subject in subjects[1:-1])
    (alert,) = alerts(empty_database_url)
    assert alert.state == AlertState.RESOLVED
    assert alert.rule == RULE_CONSECUTIVE_FAILURES
    # httpx names every URL it requests at INFO: `omnisync run` keeps it at WARNING and
    # masks secrets when formatting (hub/logs.py); these are the raw records.
    log_text = "\n".join(record.getMessage() for record in caplog.records if record.name != "httpx")
    assert "alert opened: consecutive_failures" in log_text
    assert TOKEN not in log_text
    assert webhook.url not in log_text  # the hook URL is a secret too
