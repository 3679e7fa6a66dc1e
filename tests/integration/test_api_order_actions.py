"""POST /api/v1/orders/{id}/cancel, /hold and /release (SQLite and PostgreSQL): the
CLI's `orders cancel|hold|release`, and a held order's shipment refused with 409."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from tests.support.api import ApiHub, api_hub, closed_channels
from tests.support.world import ingest, level, list_sku, make_order, set_count

UPS = """\
type: carrier
provider: ups
endpoint: http://127.0.0.1:9
credentials:
  client_id: ups-client-id
  client_secret: ${UPS_SECRET}
"""
SHIP = {"carrier": "ups", "tracking_number": "1Z999AA10123456784"}


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    """A and B at main, listed on "shop" (a sandbox channel nothing answers); order 1001."""
    monkeypatch.setenv("UPS_SECRET", "ups-client-secret-51f0")
    channels = {**closed_channels("shop", "market"), "ups": UPS}
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as hub:
        engine = hub.hub.engine
        with transaction(engine) as session:
            upsert_sku(session, "A")
            upsert_sku(session, "B")
        set_count(engine, "A", "main", 10)
        set_count(engine, "B", "main", 5)
        list_sku(engine, "shop", "A", "B")
        ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)]))
        yield hub


def test_cancel_releases_the_stock_and_says_the_channel_was_not_told(api: ApiHub) -> None:
    response = api.post("/api/v1/orders/1001/cancel", {"reason": "customer asked"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order"]["status"] == "cancelled"
    assert body["order"]["hub_cancel_reason"] == "customer asked"
    assert body["cancellation"]["units_cancelled"] == 3
    assert body["channel"]["answer"] == "not_asked"
    assert 'post again with {"push": true}' in body["channel"]["message"]
    assert level(api.hub.engine, "A", "main") == (10, 0)
    assert api.get("/api/v1/orders/1001").json()["cancelled_by_hub_at"] is not None

    again = api.post("/api/v1/orders/1001/cancel", None)
    assert again.status_code == 200
    assert again.json()["cancellation"]["already"] is True


def test_a_push_the_channel_does_not_answer_leaves_the_hubs_cancellation(api: ApiHub) -> None:
    response = api.post("/api/v1/orders/1001/cancel", {"push": True})
    assert response.status_code == 200, response.text
    channel = response.json()["channel"]
    assert channel["answer"] == "failed"
    assert "shop could not be asked (TransientError" in channel["message"]
    assert level(api.hub.engine, "A", "main") == (10, 0)


def test_cancel_refusals(api: ApiHub) -> None:
    assert api.post("/api/v1/orders/NOPE/cancel", {}).status_code == 404
    assert api.post("/api/v1/orders/1001/cancel", {"push": "maybe"}).status_code == 422
    assert api.post("/api/v1/orders/1001/cancel", {"sku": "A"}).status_code == 422
    assert api.post("/api/v1/orders/1001/shipments", SHIP).status_code == 201
    shipped = api.post("/api/v1/orders/1001/cancel", {})
    assert shipped.status_code == 409
    assert "shipped units cannot be cancelled" in shipped.json()["error"]


def test_a_held_order_cannot_ship_until_released(api: ApiHub) -> None:
    held = api.post("/api/v1/orders/1001/hold", {"reason": "fraud review"})
    assert held.status_code == 200, held.text
    assert held.json()["hold_reason"] == "fraud review"
    assert held.json()["held_at"] is not None
    assert level(api.hub.engine, "A", "main") == (10, 2)

    refused = api.post("/api/v1/orders/1001/shipments", SHIP)
    assert refused.status_code == 409
    assert "on hold (fraud review)" in refused.json()["error"]
    assert api.post("/api/v1/orders/1001/hold", None).status_code == 409

    released = api.post("/api/v1/orders/1001/release", None)
    assert released.status_code == 200, released.text
    assert released.json()["held_at"] is None
    assert api.post("/api/v1/orders/1001/release", None).status_code == 409
    assert api.post("/api/v1/orders/1001/shipments", SHIP).status_code == 201
    assert level(api.hub.engine, "A", "main") == (8, 0)


def test_route_moves_the_order_and_refuses_what_it_cannot(api: ApiHub) -> None:
    set_count(api.hub.engine, "A", "backup", 1)
    moved = api.post("/api/v1/orders/1001/route", {"location": "backup"})
    assert moved.status_code == 200, moved.text
    route = moved.json()["route"]
    assert route["locations"] == ["backup"]
    assert route["source"] == "operator"
    assert route["reason"] == "routed by hand to backup by api (2 unit(s) oversold there)"
    assert moved.json()["oversold"] is True
    assert level(api.hub.engine, "A", "main") == (10, 0)
    assert level(api.hub.engine, "A", "backup") == (1, 1)

    unknown = api.post("/api/v1/orders/1001/route", {"location": "moon"})
    assert unknown.status_code == 422
    assert "does not sell from 'moon'" in unknown.json()["error"]
    assert api.post("/api/v1/orders/1001/route", {}).status_code == 422
    assert api.post("/api/v1/orders/1001/hold", None).status_code == 200
    held = api.post("/api/v1/orders/1001/route", {"location": "main"})
    assert held.status_code == 409
    assert "on hold" in held.json()["error"]
