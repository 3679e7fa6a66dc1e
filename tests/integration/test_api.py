"""/api/v1 and the probes, in-process against a migrated database (SQLite and PostgreSQL):
the bearer token guards every route, lists filter and page by key, bodies are the
CLI's --json shapes, a stock adjustment moves stock and marks listings dirty."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from omnisync.core.alerting import open_alert, quarantine_payload, resolve_alert
from omnisync.core.catalog import sku_by_code, upsert_sku
from omnisync.core.channels import channel_by_name
from omnisync.core.clock import utcnow
from omnisync.core.db import make_engine, transaction
from omnisync.core.models import Listing, Order, StockMovement, UserAction
from omnisync.core.picking import create_pick_list
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import create_return
from omnisync.core.types import OrderStatus, SyncRunStatus
from omnisync.hub.api import create_app
from omnisync.hub.settings import ConfigError, load_settings
from omnisync.hub.views import channel_list, order_detail, order_list, stock_list
from omnisync.hub.views.channels import channel_health_view
from omnisync.hub.views.shapes import json_data
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import channel_health
from omnisync.sync.runs import finish_run, start_run
from tests.support.api import (
    API_TOKEN,
    SANDBOX_KEY,
    ApiHub,
    api_hub,
    closed_channels,
    write_api_config,
)
from tests.support.world import T0, ingest, level, list_sku, make_order, order_row, set_count


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        yield hub


def seed(api: ApiHub) -> dict[str, Any]:
    """SKUs A and B listed on both channels; seven orders; runs, alerts, a quarantined body."""
    engine = api.hub.engine
    with transaction(engine) as session:
        upsert_sku(session, "A", title="Alpha")
        upsert_sku(session, "B", title="Beta")
        upsert_sku(session, "KIT/2", components={"A": 2})
    set_count(engine, "A", "main", 10)
    set_count(engine, "B", "main", 3)
    list_sku(engine, "shop", "A", "B")
    list_sku(engine, "market", "A", "B")
    for minute in range(5):
        state = OrderStatus.CANCELLED if minute == 1 else OrderStatus.ACCEPTED
        ingest(engine, "shop", make_order(f"S{minute}", [("A", 1)], minutes=minute, status=state))
    ingest(engine, "market", make_order("M1", [("A", 1)], minutes=2))
    ingest(engine, "market", make_order("M2", [("B", 5)], minutes=6))  # oversold: 3 on hand
    with transaction(engine) as session:
        shop = channel_by_name(session, "shop").id or 0
        market = channel_by_name(session, "market").id or 0
        payload = quarantine_payload(session, market, "order", '{"id": "X9"}', "no line items")
        resolve_alert(session, "quarantined_payload", market)
        failing = open_alert(session, "consecutive_failures", shop, "shop orders failed 3 times")
    for channel, job, status in [
        (shop, "orders", SyncRunStatus.SUCCEEDED),
        (shop, "orders", SyncRunStatus.FAILED),
        (market, "stock", SyncRunStatus.PARTIAL),
        (shop, "orders", SyncRunStatus.FAILED),
        (market, "stock", SyncRunStatus.SUCCEEDED),
    ]:
        run = start_run(engine, channel, job)
        finish_run(engine, run, status, Counter(), "boom" if status == "failed" else None)
    return {
        "quarantined": payload.id,
        "oversold": order_row(engine, "market", "M2").id,
        "alert": failing.id,
    }


def concrete_get_paths(seeded: dict[str, Any]) -> dict[str, str]:
    """Every GET route of /api/v1 (as the OpenAPI document names it) with real values."""
    return {
        "/api/v1/orders": "/api/v1/orders",
        "/api/v1/orders/{order_id}": f"/api/v1/orders/{seeded['oversold']}",
        "/api/v1/orders/{order_id}/pack": f"/api/v1/orders/{seeded['oversold']}/pack",
        "/api/v1/stock": "/api/v1/stock",
        "/api/v1/stock/{sku}": "/api/v1/stock/KIT/2",
        "/api/v1/listings": "/api/v1/listings",
        "/api/v1/listings/history": "/api/v1/listings/history",
        "/api/v1/channels": "/api/v1/channels",
        "/api/v1/status": "/api/v1/status",
        "/api/v1/sync-runs": "/api/v1/sync-runs",
        "/api/v1/alerts": "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}": f"/api/v1/alerts/{seeded['alert']}",
        "/api/v1/quarantine": "/api/v1/quarantine",
        "/api/v1/quarantine/{payload_id}": f"/api/v1/quarantine/{seeded['quarantined']}",
        "/api/v1/returns": "/api/v1/returns",
        "/api/v1/returns/{return_id}": f"/api/v1/returns/{seeded['return']}",
        "/api/v1/pick-lists": "/api/v1/pick-lists",
        "/api/v1/pick-lists/{pick_list_id}": f"/api/v1/pick-lists/{seeded['pick_list']}",
        "/api/v1/pick-lists/{pick_list_id}/html": f"/api/v1/pick-lists/{seeded['pick_list']}/html",
        "/api/v1/skus/{sku}/barcodes": "/api/v1/skus/KIT/2/barcodes",
    }


POSTS = {
    "/api/v1/stock/adjustments": {"sku": "A", "delta": 1},
    "/api/v1/listings/auto-link": {"channel": "shop"},
    "/api/v1/orders/{order_id}/shipments": {"carrier": "ups", "tracking_number": "1Z"},
    "/api/v1/orders/{order_id}/cancel": {"push": False, "reason": "mistake"},
    "/api/v1/orders/{order_id}/hold": {"reason": "fraud review"},
    "/api/v1/orders/{order_id}/release": None,
    "/api/v1/orders/{order_id}/route": {"location": "main"},
    "/api/v1/orders/{order_id}/pack": {"scans": ["B"]},
    "/api/v1/orders/{order_id}/label": {"carrier": "ups", "weight_kg": 1},
    "/api/v1/orders/{order_id}/rates": {"carrier": "ups", "weight_kg": 1},
    "/api/v1/quarantine/{payload_id}/retry": None,
    "/api/v1/quarantine/{payload_id}/resolve": {"note": "seen"},
    "/api/v1/alerts/{alert_id}/resolve": {"note": "seen"},
    "/api/v1/returns": {"order": "S9", "lines": [{"sku": "A", "quantity": 1}], "reason": "r"},
    "/api/v1/returns/{return_id}/approve": None,
    "/api/v1/returns/{return_id}/decline": {"reason": "late"},
    "/api/v1/returns/{return_id}/receive": {
        "lines": [{"sku": "A", "quantity": 1, "disposition": "restock"}]
    },
    "/api/v1/returns/{return_id}/refund": None,
    "/api/v1/returns/{return_id}/close": None,
    "/api/v1/pick-lists": {"location": "main"},
    "/api/v1/pick-lists/{pick_list_id}/confirm": {"shorts": []},
    "/api/v1/pick-lists/{pick_list_id}/cancel": None,
    "/api/v1/skus/{sku}/barcodes": {"barcode": "1234", "quantity": 6},
    "/api/v1/channels/{name}/pause": {"reason": "stock take"},
    "/api/v1/channels/{name}/resume": None,
    "/api/v1/channels/{name}/sync": None,
}
LISTING_LINK = "/api/v1/listings/{channel}/{listing}/link"
OTHER_METHODS: dict[tuple[str, str], dict[str, str] | None] = {
    ("put", LISTING_LINK): {"sku": "B"},
    ("delete", LISTING_LINK): None,
    ("put", "/api/v1/skus/{sku}/bins/{location}"): {"bin": "A-1"},
    ("delete", "/api/v1/orders/{order_id}/pack"): None,
}


def seed_return(api: ApiHub) -> int:
    """A shipped order S9 of one A, and a return of it made in the hub."""
    ingest(api.hub.engine, "shop", make_order("S9", [("A", 1)], status=OrderStatus.SHIPPED))
    with transaction(api.hub.engine) as session:
        order = session.exec(select(Order).where(Order.external_id == "S9")).one()
        returned = create_return(session, order, {"A": 1}, ChannelReturns(), reason="too small")
        assert returned.id is not None
        return returned.id


def seed_pick_list(api: ApiHub) -> int:
    """A pick list of the orders ready at main."""
    with transaction(api.hub.engine) as session:
        made = create_pick_list(session, "main")
        assert made.pick_list is not None
        assert made.pick_list.id is not None
        return made.pick_list.id


def test_every_api_route_wants_the_token(api: ApiHub) -> None:
    seeded = seed(api) | {"return": seed_return(api), "pick_list": seed_pick_list(api)}
    gets = concrete_get_paths(seeded)
    document = api.http.get("/openapi.json").json()["paths"]
    routes = {
        (method, path)
        for path, operations in document.items()
        if path.startswith("/api/v1")
        for method in operations
    }
    documented = {("get", path) for path in gets} | {("post", path) for path in POSTS}
    assert routes == documented | set(OTHER_METHODS)
    for (method, path), sent in OTHER_METHODS.items():
        concrete = path.replace("{channel}", "shop").replace("{listing}", "A")
        concrete = concrete.replace("{sku}", "A").replace("{location}", "main")
        for headers in ({}, {"Authorization": "Bearer wrong-token-0000000000"}):
            refused = api.http.request(method, concrete, json=sent, headers=headers)
            assert refused.status_code == 401
    for path, body in POSTS.items():
        concrete = path.replace("{order_id}", str(seeded["oversold"]))
        concrete = concrete.replace("{payload_id}", str(seeded["quarantined"]))
        concrete = concrete.replace("{alert_id}", str(seeded["alert"]))
        concrete = concrete.replace("{return_id}", str(seeded["return"]))
        concrete = concrete.replace("{pick_list_id}", str(seeded["pick_list"]))
        concrete = concrete.replace("{sku}", "A").replace("{name}", "shop")
        for headers in ({}, {"Authorization": "Bearer wrong-token-0000000000"}):
            refused = api.http.post(concrete, json=body, headers=headers)
            assert refused.status_code == 401
    for concrete in gets.values():
        for headers in (
            {},
            {"Authorization": "Bearer " + API_TOKEN[:-1]},
            {"Authorization": "Basic " + API_TOKEN},
            {"Authorization": API_TOKEN},
        ):
            refused = api.http.get(concrete, headers=headers)
            assert refused.status_code == 401, (concrete, headers)
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert "error" in refused.json()
        answered = api.http.get(concrete, headers=api.auth)
        assert answered.status_code == 200, (concrete, answered.text)
        lower = api.http.get(concrete, headers={"Authorization": f"bearer {API_TOKEN}"})
        assert lower.status_code == 200


def test_without_a_configured_token_the_api_is_closed_not_open(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api_hub(tmp_path, migrated_database_url, monkeypatch, with_token=False) as api:
        for headers in ({}, api.auth):
            response = api.http.get("/api/v1/orders", headers=headers)
            assert response.status_code == 503
            assert "http.api_token" in response.json()["error"]
        assert api.http.get("/healthz").status_code == 200
        assert api.http.get("/metrics").status_code == 200


def test_a_reload_that_changes_the_token_applies_to_the_next_request(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as api:
        current = {"settings": api.hub.settings}
        app = create_app(api.sync, settings=lambda: current["settings"])
        client = TestClient(app)
        assert client.get("/api/v1/alerts", headers=api.auth).status_code == 200
        monkeypatch.setenv("OMNISYNC_API_TOKEN", "rotated-token-5b0e33c1d7")
        current["settings"] = load_settings(
            api.hub.settings.config_dir, database_url=api.hub.settings.database_url
        )
        assert client.get("/api/v1/alerts", headers=api.auth).status_code == 401
        rotated = {"Authorization": "Bearer rotated-token-5b0e33c1d7"}
        assert client.get("/api/v1/alerts", headers=rotated).status_code == 200


def test_a_short_token_is_bad_config_naming_the_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNISYNC_API_TOKEN", "short")
    monkeypatch.setenv("SB_KEY", "sandbox-key-93ab71e2")
    config = write_api_config(tmp_path / "config", {})
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{config / 'hub.yaml'}: http.api_token: ")
    assert "at least 16 characters" in problem
    assert "short" not in problem.split("api_token", 1)[1]


def test_orders_filter_and_page_by_key_in_the_cli_shape(api: ApiHub) -> None:
    seed(api)
    with Session(api.hub.engine) as session:
        everything = json_data(order_list(session, limit=100))
    assert [row["external_id"] for row in everything] == ["M2", "S4", "S3", "M1", "S2", "S1", "S0"]

    rows, pages = api.follow("/api/v1/orders", limit=3)
    assert rows == everything  # the CLI's `orders list --json`, page after page
    assert pages == 3
    assert api.follow("/api/v1/orders", limit=7)[1] == 1  # no Link after the last row

    shop, _ = api.follow("/api/v1/orders", channel="shop", limit=2)
    assert [row["external_id"] for row in shop] == ["S4", "S3", "S2", "S1", "S0"]
    cancelled = api.get("/api/v1/orders", status="cancelled").json()
    assert [row["external_id"] for row in cancelled] == ["S1"]
    oversold = api.get("/api/v1/orders", oversold="true").json()
    assert [row["external_id"] for row in oversold] == ["M2"]
    assert len(api.get("/api/v1/orders", oversold="false").json()) == 6
    recent = api.get("/api/v1/orders", updated_after=(T0 + timedelta(minutes=3)).isoformat())
    assert [row["external_id"] for row in recent.json()] == ["M2", "S4", "S3"]

    # An order arriving between two pages neither shifts nor repeats the next page.
    first = api.get("/api/v1/orders", limit=2)
    ingest(api.hub.engine, "shop", make_order("S9", [("A", 1)], minutes=9))
    second = api.http.get(first.links["next"]["url"], headers=api.auth).json()
    assert [row["external_id"] for row in first.json() + second] == ["M2", "S4", "S3", "M1"]


BAD_LIST_PARAMETERS: list[tuple[dict[str, Any], str]] = [
    ({"limit": 501}, "query.limit"),
    ({"limit": 0}, "query.limit"),
    ({"status": "lost"}, "query.status"),
    ({"updated_after": "2026-01-01T00:00:00"}, "query.updated_after"),  # no timezone
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "WzEsMl0"}, "cursor"),  # [1, 2]: a cursor, but not of orders
    ({"chanel": "shop"}, "query.chanel"),  # misspelt: would list every channel's orders
]


def test_bad_list_parameters_are_422_naming_the_field(api: ApiHub) -> None:
    for params, field in BAD_LIST_PARAMETERS:
        response = api.get("/api/v1/orders", **params)
        assert response.status_code == 422, params
        assert response.json()["error"].startswith(field), (params, response.text)


def test_one_order_by_hub_id_or_channel_id_with_shipments(api: ApiHub) -> None:
    seeded = seed(api)
    with Session(api.hub.engine) as session:
        order = order_row(api.hub.engine, "market", "M2")
        expected = json_data(order_detail(session, order, "market"))
    assert api.get(f"/api/v1/orders/{seeded['oversold']}").json() == expected
    assert api.get("/api/v1/orders/M2").json() == expected
    assert expected["oversold"] is True
    assert expected["shipments"] == []
    missing = api.get("/api/v1/orders/NOPE")
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["error"]


def test_stock_list_and_one_sku_are_the_cli_shapes(api: ApiHub) -> None:
    seed(api)
    with Session(api.hub.engine) as session:
        skus = [sku_by_code(session, code) for code in ("A", "B", "KIT/2")]
        expected = json_data(stock_list(session, skus))
    rows, pages = api.follow("/api/v1/stock", limit=2)
    assert (rows, pages) == (expected, 2)
    assert api.get("/api/v1/stock/KIT/2").json() == expected[2]  # a code with a slash
    a = api.get("/api/v1/stock/A").json()
    assert a["locations"][0] == {"location": "main", "on_hand": 10, "reserved": 5, "free": 5}
    assert {row["channel"]: row["available"] for row in a["channels"]} == {
        "market": 5,
        "shop": 5,
    }
    assert api.get("/api/v1/stock/Z").status_code == 404


def dirty_listings(api: ApiHub) -> set[tuple[int, str]]:
    with Session(api.hub.engine) as session:
        return {
            (row.channel_id, row.channel_sku)
            for row in session.exec(select(Listing).where(col(Listing.dirty)))
        }


def movements(api: ApiHub) -> int:
    with Session(api.hub.engine) as session:
        return int(session.exec(select(func.count()).select_from(StockMovement)).one())


def test_a_stock_adjustment_moves_stock_and_marks_the_listings_dirty(api: ApiHub) -> None:
    seed(api)
    with transaction(api.hub.engine) as session:  # as if every channel had been pushed to
        session.execute(update(Listing).values(dirty=False, dirty_since=None))
    before = level(api.hub.engine, "A", "main")

    response = api.post(
        "/api/v1/stock/adjustments", {"sku": "A", "delta": -3, "reason": "water damage"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["movement"]["delta"] == -3
    assert body["movement"]["location"] == "main"  # hub.yaml's first location
    assert body["movement"]["kind"] == "adjustment"
    assert body["movement"]["reason"] == "water damage"
    assert level(api.hub.engine, "A", "main") == (before[0] - 3, before[1])
    assert body["stock"]["locations"][0]["on_hand"] == before[0] - 3
    # A and the bundle holding it may now sell less everywhere: their listings must be pushed.
    assert {sku for _, sku in dirty_listings(api)} == {"A"}
    assert len(dirty_listings(api)) == 2

    backup = api.post("/api/v1/stock/adjustments", {"sku": "B", "delta": 4, "location": "backup"})
    assert backup.status_code == 201
    assert level(api.hub.engine, "B", "backup") == (4, 0)


REFUSED_ADJUSTMENTS = [
    ({"sku": "A", "delta": 0}, 422, "changes nothing"),
    ({"sku": "NOPE", "delta": 1}, 404, "NOPE"),
    ({"sku": "A", "delta": 1, "location": "attic"}, 404, "attic"),
    ({"sku": "A", "delta": -100}, 409, "A at main"),
    ({"sku": "KIT/2", "delta": 1}, 422, "bundle"),
    ({"sku": "A"}, 422, "body.delta"),
    ({"sku": "A", "delta": "many"}, 422, "body.delta"),
    ({"sku": "A", "delta": 1, "colour": "red"}, 422, "body.colour"),
]


def test_a_refused_adjustment_changes_nothing(api: ApiHub) -> None:
    seed(api)
    before = movements(api)
    for body, status, says in REFUSED_ADJUSTMENTS:
        response = api.post("/api/v1/stock/adjustments", body)
        assert response.status_code == status, (body, response.text)
        assert says in response.json()["error"], (body, response.text)
    assert movements(api) == before


def test_channels_carry_listings_and_health(api: ApiHub) -> None:
    seed(api)
    rows = api.get("/api/v1/channels").json()
    with Session(api.hub.engine) as session:
        listed = {row["name"]: row for row in json_data(channel_list(session))}
        health = {
            c.name: json_data(channel_health_view(c)) for c in channel_health(session, utcnow())
        }
    assert [row["name"] for row in rows] == ["market", "shop"]
    for row in rows:
        assert {key: row[key] for key in listed[row["name"]]} == listed[row["name"]]
        assert row["open_alerts"] == health[row["name"]]["open_alerts"]
    shop = rows[1]
    assert shop["jobs"]["orders"]["consecutive_failures"] == 2
    assert shop["jobs"]["orders"]["interval_seconds"] == 60.0  # scheduled, from the config
    assert shop["jobs"]["listings"]["last_success"] is None  # scheduled, never ran
    assert [alert["rule"] for alert in shop["open_alerts"]] == ["consecutive_failures"]

    status = api.get("/api/v1/status").json()
    assert status["open_alerts"] == 2  # the failures on shop and the oversold order on market
    assert [channel["name"] for channel in status["channels"]] == ["market", "shop"]


def test_sync_runs_filter_and_page(api: ApiHub) -> None:
    seed(api)
    rows, pages = api.follow("/api/v1/sync-runs", limit=2)
    assert pages == 3
    assert [row["id"] for row in rows] == sorted((row["id"] for row in rows), reverse=True)
    assert [(row["channel"], row["job"], row["status"]) for row in rows] == [
        ("market", "stock", "succeeded"),
        ("shop", "orders", "failed"),
        ("market", "stock", "partial"),
        ("shop", "orders", "failed"),
        ("shop", "orders", "succeeded"),
    ]
    assert all(row["duration_seconds"] >= 0 for row in rows)
    failed = api.get("/api/v1/sync-runs", status="failed", channel="shop", job="orders").json()
    assert [row["error"] for row in failed] == ["boom", "boom"]
    assert api.get("/api/v1/sync-runs", channel="market", job="orders").json() == []
    assert api.get("/api/v1/sync-runs", status="exploded").status_code == 422


def test_alerts_by_state(api: ApiHub) -> None:
    seed(api)
    everything, _ = api.follow("/api/v1/alerts", limit=1)
    assert sorted((row["rule"], row["state"]) for row in everything) == [
        ("consecutive_failures", "open"),
        ("oversold_order", "open"),
        ("quarantined_payload", "resolved"),
    ]
    resolved = api.get("/api/v1/alerts", state="resolved").json()
    assert [row["rule"] for row in resolved] == ["quarantined_payload"]
    assert resolved[0]["resolved_at"] is not None
    shop = api.get("/api/v1/alerts", state="open", channel="shop").json()
    assert [row["message"] for row in shop] == ["shop orders failed 3 times"]


def test_quarantine_lists_without_bodies_and_shows_one_with_it(api: ApiHub) -> None:
    seeded = seed(api)
    (listed,) = api.get("/api/v1/quarantine").json()
    assert listed["channel"] == "market"
    assert listed["reason"] == "no line items"
    assert listed["raw_length"] == len('{"id": "X9"}')
    assert "raw" not in listed
    shown = api.get(f"/api/v1/quarantine/{seeded['quarantined']}").json()
    assert shown == {**listed, "raw": '{"id": "X9"}'}
    assert api.get("/api/v1/quarantine", resolved="true").json() == []
    assert api.get("/api/v1/quarantine/999999").status_code == 404


def test_a_quarantined_payload_is_retried_or_resolved_and_its_alert_resolves(
    api: ApiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(api)
    fixed = {  # what the sandbox's mapping takes: as if the order had been mapped anew
        "id": "Q1",
        "status": "open",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "line_items": [{"id": "Q1-1", "sku": "A", "quantity": 1}],
    }
    with transaction(api.hub.engine) as session:
        shop = channel_by_name(session, "shop").id
        mapped_now = quarantine_payload(session, shop, "order", json.dumps(fixed), "was bad")
        never = quarantine_payload(session, shop, "order", '{"id": "Q2"}', "no status")
    alerts = api.get("/api/v1/status").json()["open_alerts"]

    still = api.post(f"/api/v1/quarantine/{never.id}/retry", None)
    assert still.status_code == 422
    assert "still does not map" in still.json()["error"]
    assert api.get(f"/api/v1/quarantine/{never.id}").json()["resolved_at"] is None

    def failing_record(*_: Any) -> None:
        raise RuntimeError("the record could not be written")

    # The retry is recorded in the transaction that takes the payload in: when the
    # record fails, nothing of the payload went in and it stays quarantined.
    with monkeypatch.context() as patched:
        patched.setattr("omnisync.sync.quarantine.record_action", failing_record)
        with pytest.raises(RuntimeError):
            api.post(f"/api/v1/quarantine/{mapped_now.id}/retry", None)
    assert api.get(f"/api/v1/quarantine/{mapped_now.id}").json()["resolved_at"] is None
    assert api.get("/api/v1/orders/Q1").status_code == 404

    retried = api.post(f"/api/v1/quarantine/{mapped_now.id}/retry", None)
    assert retried.status_code == 200, retried.text
    assert retried.json()["orders"] == ["Q1"]
    assert retried.json()["alert_resolved"] is False  # Q2 is still open
    assert retried.json()["payload"]["resolved_by"] == "api"
    assert api.get("/api/v1/orders/Q1").status_code == 200
    with Session(api.hub.engine) as session:
        made = session.exec(select(UserAction).order_by(col(UserAction.id))).all()
        assert [(row.user_name, row.action, row.target) for row in made] == [
            ("api", "quarantine.retry", f"payload {mapped_now.id}")  # not the failed one
        ]

    dismissed = api.post(f"/api/v1/quarantine/{never.id}/resolve", {"note": "a test order"})
    assert dismissed.status_code == 200, dismissed.text
    payload = dismissed.json()["payload"]
    assert (payload["resolved_by"], payload["resolution_note"]) == ("api", "a test order")
    assert dismissed.json() == {"payload": payload, "alert_resolved": True, "orders": []}
    assert api.get("/api/v1/status").json()["open_alerts"] == alerts - 1
    assert api.get("/api/v1/quarantine", channel="shop", resolved="false").json() == []

    bare = api.http.post(f"/api/v1/quarantine/{seeded['quarantined']}/resolve", headers=api.auth)
    assert bare.status_code == 200, bare.text  # no body: no note
    assert bare.json()["payload"]["resolution_note"] is None
    for action in ("retry", "resolve"):
        again = api.post(f"/api/v1/quarantine/{never.id}/{action}", None)
        assert again.status_code == 409
        assert "was resolved by api" in again.json()["error"]
        assert api.post(f"/api/v1/quarantine/999999/{action}", None).status_code == 404
    unknown_key = api.post(f"/api/v1/quarantine/{never.id}/resolve", {"by": "mallory"})
    assert unknown_key.status_code == 422


def test_readyz_needs_the_database_and_a_running_scheduler(api: ApiHub) -> None:
    ready = api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "scheduler": "ok"}}

    api.scheduler["running"] = False
    stalled = api.http.get("/readyz")
    assert stalled.status_code == 503
    assert stalled.json()["checks"] == {"database": "ok", "scheduler": "not running"}
    assert api.http.get("/healthz").status_code == 200  # alive, only not ready


def test_an_unreachable_database_is_503_everywhere_but_healthz(api: ApiHub) -> None:
    nowhere = make_engine("postgresql+psycopg://omnisync@127.0.0.1:9/omnisync")
    sync = SyncEngine(nowhere, [])
    client = TestClient(
        create_app(sync, settings=api.hub.settings, scheduler_running=lambda: True),
        raise_server_exceptions=False,
    )
    try:
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["database"] == "unreachable (OperationalError)"
        assert client.get("/healthz").status_code == 200
        for path in ("/metrics", "/api/v1/orders", "/api/v1/channels"):
            response = client.get(path, headers=api.auth)
            assert response.status_code == 503, path
            assert response.json() == {"error": "the database is unreachable"}
    finally:
        nowhere.dispose()


def test_probes_and_metrics_need_no_token(api: ApiHub) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        response = api.http.get(path)
        assert response.status_code == 200, path
    assert api.http.get("/metrics").headers["content-type"].startswith("text/plain")


def test_configured_secrets_are_masked_in_every_body(api: ApiHub) -> None:
    with transaction(api.hub.engine) as session:
        shop = channel_by_name(session, "shop").id
        open_alert(
            session,
            "auth_failure",
            shop,
            f"refused key {SANDBOX_KEY}",
            details={"key": SANDBOX_KEY, SANDBOX_KEY: 1},
        )
    listed = api.get("/api/v1/alerts")
    assert SANDBOX_KEY not in listed.text
    assert listed.json()[0]["message"] == "refused key ***"
    assert listed.json()[0]["details"] == {"key": "***", "***": 1}
    for secret in (SANDBOX_KEY, API_TOKEN):
        echoed = api.post("/api/v1/stock/adjustments", {"sku": secret, "delta": 1})
        assert echoed.status_code == 404
        assert secret not in echoed.text
        assert "***" in echoed.json()["error"]


UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
"""


def test_a_shipment_recorded_over_the_api_consumes_stock_and_shows_on_the_order(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPS_SECRET", "ups-client-secret-51f0")
    channels = {**closed_channels("shop", "market"), "ups": UPS}
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as api:
        seed(api)
        order = order_row(api.hub.engine, "shop", "S3")
        on_hand, reserved = level(api.hub.engine, "A", "main")

        shipped = api.post(
            f"/api/v1/orders/{order.id}/shipments",
            {
                "carrier": "ups",
                "tracking_number": "1Z999AA10123456784",
                "lines": [{"sku": "A", "quantity": 1}],
            },
        )

        assert shipped.status_code == 201, shipped.text
        shipment = shipped.json()
        assert shipment["carrier_channel"] == "ups"
        assert shipment["tracking_number"] == "1Z999AA10123456784"
        assert shipment["lines"] == [{"external_line_id": "S3-0", "quantity": 1}]
        assert level(api.hub.engine, "A", "main") == (on_hand - 1, reserved - 1)
        detail = api.get("/api/v1/orders/S3").json()
        assert detail["status"] == "shipped"
        assert detail["shipments"] == [shipment]

        cancelled = order_row(api.hub.engine, "shop", "S1")
        for reference, body, status in [
            ("NOPE", {"carrier": "ups", "tracking_number": "1Z1"}, 404),
            ("S4", {"carrier": "shop", "tracking_number": "1Z1"}, 422),  # not a carrier
            (
                "S4",
                {
                    "carrier": "ups",
                    "tracking_number": "1Z1",
                    "lines": [{"sku": "B", "quantity": 1}],
                },
                422,
            ),
            (
                "S4",
                {
                    "carrier": "ups",
                    "tracking_number": "1Z1",
                    "lines": [{"sku": "A", "quantity": 2}],
                },
                422,
            ),
            (str(cancelled.id), {"carrier": "ups", "tracking_number": "1Z1"}, 422),
            ("S4", {"carrier": "ups"}, 422),
        ]:
            refused = api.post(f"/api/v1/orders/{reference}/shipments", body)
            assert refused.status_code == status, (reference, body, refused.text)
            assert refused.json()["error"]
        assert level(api.hub.engine, "A", "main") == (on_hand - 1, reserved - 1)
