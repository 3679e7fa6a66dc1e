"""The console's channel screens in-process (SQLite and PostgreSQL): /channels shows each
channel's health (a failing channel's last error, secrets masked), the last run of each
job, the push backlog and every open alert, and refreshes that part alone;
/channels/{name} adds the recent runs, paged by key. Admins pause, resume and sync a
channel; operators and viewers are refused (403) and nothing changes; an operator
resolves an alert by hand. Every change is recorded with who made it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_AUTH, open_alert
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import Alert, Channel, Listing, UserAction
from omnisync.core.types import AlertSeverity, AlertState
from omnisync.hub.api import create_app
from omnisync.hub.web.paging import PAGE_SIZE
from tests.support.api import SANDBOX_KEY
from tests.support.console import (
    ADMIN,
    OPERATOR,
    VIEWER,
    ConsoleClient,
    ConsoleHub,
    console_hub,
    seed_console_world,
)
from tests.support.runs import add_runs

FRAGMENT = {"X-Omnisync-Fragment": "1", "Accept": "text/html"}


@pytest.fixture
def console(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleHub]:
    with console_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        seed_console_world(hub.engine)
        yield hub


def actions(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        return [(row.user_name, row.via, row.action, row.target) for row in rows]


def channel_row(engine: Engine, name: str = "shop") -> Channel:
    with Session(engine) as session:
        return channel_by_name(session, name)


def dirty_listings(engine: Engine, channel: str) -> int:
    with Session(engine) as session:
        channel_id = channel_by_name(session, channel).id
        rows = session.exec(
            select(Listing).where(Listing.channel_id == channel_id, col(Listing.dirty))
        ).all()
        return len(rows)


def open_alerts(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(Alert).where(Alert.state == AlertState.OPEN)).all()
        return sorted(alert.rule for alert in rows)


def test_channels_show_health_runs_backlog_and_alerts_and_an_operator_resolves_one(
    console: ConsoleHub,
) -> None:
    engine = console.engine
    add_runs(engine, "shop", "listings", ["succeeded"])
    add_runs(
        engine,
        "shop",
        "orders",
        ["succeeded", "failed", "failed"],
        error=f"TransientError: connection refused (key {SANDBOX_KEY})",
    )
    run_ids = add_runs(engine, "market", "orders", ["succeeded"] * (PAGE_SIZE + 3))
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop")
        listing = session.exec(select(Listing).where(Listing.channel_id == shop.id)).first()
        assert listing is not None
        listing.dirty, listing.dirty_since = True, utcnow() - timedelta(minutes=5)
        session.add(listing)
        alert = open_alert(
            session, "consecutive_failures", shop.id, "shop: orders failed 2 times in a row"
        )
        hub_alert = open_alert(
            session, "pick_short", None, "a pick came up short", severity=AlertSeverity.INFO
        )
        alert_id, hub_alert_id = alert.id, hub_alert.id
    before = open_alerts(engine)
    assert {"consecutive_failures", "pick_short"} <= set(before)

    viewer = console.client(VIEWER)
    page = viewer.get("/channels")
    assert page.status_code == 200, page.text
    html = page.text
    shop_row = html.split('data-channel="shop" data-state="failing"')[1].split("</tr>")[0]
    assert "TransientError: connection refused" in shop_row  # the failing channel's last error
    assert SANDBOX_KEY not in html  # masked, as the API masks it
    assert ">2</td>" in shop_row  # failures in a row
    dirty = dirty_listings(engine, "shop")
    assert dirty > 0
    assert f"<strong>{dirty}</strong> listing" in shop_row  # the push backlog
    market_row = html.split('data-channel="market" data-state="ok"')[1].split("</tr>")[0]
    assert "nothing to push" in market_row
    assert 'data-channel="shop" data-job="orders"' in html  # the last run of each job
    assert 'id="alerts"' in html
    assert f'id="alert-{alert_id}"' in html
    assert f'id="alert-{hub_alert_id}"' in html  # the hub's own alerts are listed too
    assert "resolve-alert" not in html  # a viewer sees no resolve button
    assert 'data-refresh="/channels"' in html

    live = viewer.http.get("/channels", headers=FRAGMENT)
    assert live.status_code == 200
    assert "<html" not in live.text
    assert 'id="channels-table"' in live.text

    detail = viewer.get("/channels/shop")
    assert detail.status_code == 200
    assert "channel-actions" not in detail.text  # pause, resume, sync: admins only
    assert f'id="alert-{alert_id}"' in detail.text
    assert f'id="alert-{hub_alert_id}"' not in detail.text  # only the channel's own
    assert viewer.get("/channels/nope").status_code == 404

    first = viewer.get("/channels/market")
    shown = [int(part.split('"')[0]) for part in first.text.split('data-run="')[1:]]
    assert shown == run_ids[::-1][:PAGE_SIZE]  # newest first
    next_url = first.text.split('class="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert next_url.startswith("/channels/market?cursor=")
    second = viewer.get("/channels/market", cursor=next_url.split("cursor=")[1])
    shown = [int(part.split('"')[0]) for part in second.text.split('data-run="')[1:]]
    assert shown == run_ids[::-1][PAGE_SIZE:]

    refused = viewer.post(f"/channels/alerts/{alert_id}/resolve", {"back": "/channels"})
    assert refused.status_code == 403
    assert open_alerts(engine) == before

    operator = console.client(OPERATOR)
    assert "resolve-alert" in operator.get("/channels").text
    forged = operator.post(f"/channels/alerts/{alert_id}/resolve", csrf="forged")
    assert forged.status_code == 403
    resolved = operator.post(f"/channels/alerts/{alert_id}/resolve", {"back": "/channels/shop"})
    assert resolved.status_code == 303
    assert resolved.headers["location"] == "/channels/shop"
    assert open_alerts(engine) == [rule for rule in before if rule != "consecutive_failures"]
    again = operator.post(f"/channels/alerts/{alert_id}/resolve", {"back": "//elsewhere"})
    assert again.headers["location"] == "/channels#alerts"
    assert f"alert {alert_id} was resolved by otto" in operator.get("/channels").text
    assert actions(engine) == [(OPERATOR, "console", "alert.resolve", f"alert {alert_id}")]


def test_admins_pause_resume_and_sync_a_channel_others_are_refused(
    console: ConsoleHub,
) -> None:
    engine = console.engine
    asked: list[str] = []

    def run_now(name: str) -> list[str]:
        asked.append(name)
        return ["orders", "listings"]

    app = create_app(
        console.sync,
        settings=console.hub.settings,
        scheduler_running=lambda: True,
        run_now=run_now,
    )
    with TestClient(app) as http:
        scheduled = ConsoleHub(console.hub, console.sync, http)
        for name in (OPERATOR, VIEWER):
            other = scheduled.client(name)
            assert "channel-actions" not in other.get("/channels/shop").text
            for action in ("pause", "resume", "sync"):
                answer = other.post(f"/channels/shop/{action}", {"reason": "no"})
                assert answer.status_code == 403, (name, action)
        admin = scheduled.client(ADMIN)
        assert admin.post("/channels/shop/pause", {"reason": "x"}, csrf="forged").status_code == 403
        assert channel_row(engine).paused_reason is None
        assert asked == []
        assert actions(engine) == []

        page = admin.get("/channels/shop")
        assert 'id="pause-form"' in page.text
        assert 'id="sync-now"' in page.text
        paused = admin.post("/channels/shop/pause", {"reason": "  stock   take  "})
        assert paused.status_code == 303
        row = channel_row(engine)
        assert (row.paused_by, row.paused_reason) == (ADMIN, "paused by ada: stock take")
        assert RULE_AUTH not in open_alerts(engine)  # a pause by hand opens no such alert
        page = admin.get("/channels/shop")
        assert "paused by ada: stock take" in page.text  # the flash and the state
        assert "by hand: until someone resumes it" in page.text
        assert 'id="resume-form"' in page.text
        assert 'data-state="paused"' in admin.get("/channels").text

        resumed = admin.post("/channels/shop/resume")
        assert resumed.status_code == 303
        row = channel_row(engine)
        assert (row.paused_by, row.paused_reason) == (None, None)
        not_paused = admin.post("/channels/shop/resume")
        assert not_paused.status_code == 303
        assert "shop is not paused" in admin.get("/channels/shop").text

        synced = admin.post("/channels/shop/sync")
        assert synced.status_code == 303
        assert asked == ["shop"]
        assert "Syncing shop now: orders, listings" in admin.get("/channels/shop").text
        assert admin.post("/channels/nope/sync").status_code == 303  # unknown: said on the page
        assert asked == ["shop"]

    assert actions(engine) == [
        (ADMIN, "console", "channel.pause", "shop"),
        (ADMIN, "console", "channel.resume", "shop"),
        (ADMIN, "console", "channel.sync", "shop"),
    ]
    no_scheduler = ConsoleClient(TestClient(console.http.app))  # ada's session, no scheduler
    no_scheduler.http.cookies.update(admin.http.cookies)
    page = no_scheduler.get("/channels/shop")
    assert 'id="no-scheduler"' in page.text
    refused = no_scheduler.post("/channels/shop/sync")
    assert refused.status_code == 409
    assert "no scheduler runs in this process" in refused.text
    assert len(actions(engine)) == 3
    with transaction(engine) as session:  # an auth pause is resumed by hand the same way
        shop = channel_by_name(session, "shop")
        shop.paused_reason = "AuthError: 401"
        open_alert(session, RULE_AUTH, shop.id, "refused", severity=AlertSeverity.CRITICAL)
    assert "by the hub, its credentials refused" in no_scheduler.get("/channels/shop").text
    assert no_scheduler.post("/channels/shop/resume").status_code == 303
    assert channel_row(engine).paused_reason is None
    assert RULE_AUTH not in open_alerts(engine)
