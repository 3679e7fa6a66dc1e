"""/api/v1/alerts: one alert with its notifier deliveries, filtered lists, and a resolve by
hand recorded with who ("api") and why, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnisync.core.alerting import RULE_OVERSOLD, open_alert
from omnisync.core.catalog import upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.models import AlertDelivery
from tests.support.api import ApiHub, api_hub
from tests.support.world import ingest, make_order, set_count


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        yield hub


def oversold_alert(api: ApiHub) -> int:
    """Order 1 of shop wants 3 of A with 1 on hand; a webhook notifier announced it."""
    engine = api.hub.engine
    with transaction(engine) as session:
        upsert_sku(session, "A")
    set_count(engine, "A", "main", 1)
    ingest(engine, "shop", make_order("1", [("A", 3)]))
    (row,) = api.get("/api/v1/alerts", rule=RULE_OVERSOLD, state="open").json()
    with transaction(engine) as session:
        session.add(AlertDelivery(alert_id=row["id"], notifier="webhook", announced_at=utcnow()))
    return int(row["id"])


def failing_alert(api: ApiHub) -> int:
    with transaction(api.hub.engine) as session:
        alert = open_alert(
            session,
            "consecutive_failures",
            channel_by_name(session, "market").id,
            "market: orders failed 3 runs in a row",
        )
        return alert.id or 0


def test_an_alert_is_shown_with_its_deliveries_and_resolved_with_who_and_why(
    api: ApiHub,
) -> None:
    alert_id = oversold_alert(api)
    shown = api.get(f"/api/v1/alerts/{alert_id}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["rule"], body["channel"], body["state"]) == (RULE_OVERSOLD, "shop", "open")
    assert (body["resolved_by"], body["resolution_note"]) == (None, None)
    (delivery,) = body["deliveries"]
    assert delivery["notifier"] == "webhook"
    assert delivery["announced_at"] is not None
    assert delivery["resolved_sent_at"] is None

    resolved = api.post(f"/api/v1/alerts/{alert_id}/resolve", {"note": "refunding the buyer"})
    assert resolved.status_code == 200, resolved.text
    answer = resolved.json()
    assert answer["alert"]["state"] == "resolved"
    assert answer["alert"]["resolved_by"] == "api"
    assert answer["alert"]["resolution_note"] == "refunding the buyer"
    assert answer["opens_again"] is True
    assert answer["outlook"].startswith("its condition still holds (1 oversold order)")

    again = api.post(f"/api/v1/alerts/{alert_id}/resolve", None)
    assert again.status_code == 409
    assert f"alert {alert_id} was resolved by api at " in again.json()["error"]
    listed = api.get("/api/v1/alerts", state="resolved", rule=RULE_OVERSOLD).json()
    assert [(row["id"], row["resolved_by"]) for row in listed] == [(alert_id, "api")]


def test_a_resolve_without_a_body_and_the_rule_filter(api: ApiHub) -> None:
    oversold = oversold_alert(api)
    failing = failing_alert(api)
    resolved = api.post(f"/api/v1/alerts/{failing}/resolve", None)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["alert"]["resolution_note"] is None
    assert resolved.json()["opens_again"] is None  # the running hub's evaluation will tell
    assert [row["id"] for row in api.get("/api/v1/alerts", rule="consecutive_failures").json()] == [
        failing
    ]
    assert [row["id"] for row in api.get("/api/v1/alerts", state="open").json()] == [oversold]


def test_unknown_alerts_and_bad_bodies(api: ApiHub) -> None:
    alert_id = oversold_alert(api)
    assert api.get("/api/v1/alerts/987654").status_code == 404
    missing = api.post("/api/v1/alerts/987654/resolve", {"note": "x"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "no alert 987654"}
    extra = api.post(f"/api/v1/alerts/{alert_id}/resolve", {"note": "x", "by": "mallory"})
    assert extra.status_code == 422
    assert api.get(f"/api/v1/alerts/{alert_id}").json()["state"] == "open"
