"""/api/v1/pick-lists and /api/v1/skus/{sku}/bins|barcodes (SQLite and PostgreSQL): the
twins of `omnisync pick`, `stock bins` and `skus barcodes`, with their refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from omnisync.hub.api import picking as picking_routes
from tests.integration.test_pick_lists import confirm_deadlocked_once
from tests.support.api import ApiHub, api_hub
from tests.support.world import ingest, level, list_sku, make_order, set_count


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    """A (barcode 4006381333931), B and the bundle KIT at main, listed on "shop" (a
    sandbox channel nothing answers); orders 1001 (2 A, 1 B) and 1002 (1 A)."""
    with api_hub(tmp_path, migrated_database_url, monkeypatch) as hub:
        engine = hub.hub.engine
        with transaction(engine) as session:
            upsert_sku(session, "A", barcode="4006381333931")
            upsert_sku(session, "B")
            upsert_sku(session, "KIT", components={"A": 2})
        set_count(engine, "A", "main", 10)
        set_count(engine, "B", "main", 5)
        list_sku(engine, "shop", "A", "B")
        ingest(engine, "shop", make_order("1001", [("A", 2), ("B", 1)], placed_minutes=1))
        ingest(engine, "shop", make_order("1002", [("A", 1)], placed_minutes=2))
        yield hub


def put(api: ApiHub, path: str, body: object) -> int:
    response: httpx.Response = api.http.put(path, json=body, headers=api.auth)
    return response.status_code


def test_bins_are_put_and_shown_with_the_stock(api: ApiHub) -> None:
    response = api.http.put(
        "/api/v1/skus/A/bins/main", json={"bin": "Z-9", "sequence": 2}, headers=api.auth
    )
    assert response.status_code == 200, response.text
    assert {key: response.json()[key] for key in ("sku", "location", "bin", "sequence")} == {
        "sku": "A",
        "location": "main",
        "bin": "Z-9",
        "sequence": 2,
    }
    assert put(api, "/api/v1/skus/B/bins/main", {"bin": "A-1", "sequence": 1}) == 200
    assert put(api, "/api/v1/skus/A/bins/main", {"bin": "Z-8"}) == 200  # replaced

    assert api.get("/api/v1/stock/A").json()["bins"] == [
        {"location": "main", "bin": "Z-8", "sequence": None}
    ]
    assert put(api, "/api/v1/skus/NOPE/bins/main", {"bin": "X"}) == 404
    assert put(api, "/api/v1/skus/A/bins/attic", {"bin": "X"}) == 404
    assert put(api, "/api/v1/skus/KIT/bins/main", {"bin": "X"}) == 422
    assert put(api, "/api/v1/skus/A/bins/main", {"bin": ""}) == 422
    assert put(api, "/api/v1/skus/A/bins/main", {"bin": "X", "sequence": -1}) == 422
    assert put(api, "/api/v1/skus/A/bins/main", {"bin": "X", "shelf": 1}) == 422


def test_packaging_barcodes_are_added_listed_and_refused_when_taken(api: ApiHub) -> None:
    made = api.post("/api/v1/skus/A/barcodes", {"barcode": "14006381333938", "quantity": 6,
                                                "name": "case"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert {key: made.json()[key] for key in ("sku", "barcode", "quantity", "name")} == {
        "sku": "A",
        "barcode": "14006381333938",
        "quantity": 6,
        "name": "case",
    }
    listed = api.get("/api/v1/skus/A/barcodes")
    assert [row["barcode"] for row in listed.json()] == ["14006381333938"]

    taken = api.post("/api/v1/skus/B/barcodes", {"barcode": "4006381333931", "quantity": 2})
    assert taken.status_code == 409
    assert "is SKU A's own barcode" in taken.json()["error"]
    assert (
        api.post(
            "/api/v1/skus/B/barcodes", {"barcode": "14006381333938", "quantity": 1}
        ).status_code
        == 409
    )
    assert api.post("/api/v1/skus/B/barcodes", {"barcode": "1", "quantity": 0}).status_code == 422
    assert (
        api.post("/api/v1/skus/NOPE/barcodes", {"barcode": "1", "quantity": 1}).status_code == 404
    )
    assert api.get("/api/v1/skus/NOPE/barcodes").status_code == 404


def test_a_pick_list_is_made_listed_shown_printed_confirmed_and_cancelled(api: ApiHub) -> None:
    assert put(api, "/api/v1/skus/A/bins/main", {"bin": "Z-9", "sequence": 2}) == 200
    assert put(api, "/api/v1/skus/B/bins/main", {"bin": "A-1", "sequence": 1}) == 200

    made = api.post("/api/v1/pick-lists", {"location": "main"})

    assert made.status_code == 201, made.text
    pick_list = made.json()["pick_list"]
    assert pick_list["created_by"] == "api"
    assert [(row["sku"], row["bin"], row["units"]) for row in pick_list["rows"]] == [
        ("B", "A-1", 1),
        ("A", "Z-9", 3),
    ]
    number = pick_list["id"]
    nothing = api.post("/api/v1/pick-lists", {"location": "main", "max_orders": 5})
    assert nothing.status_code == 200
    assert nothing.json() == {
        "pick_list": None,
        "oversold_skipped": 0,
        "message": "nothing to pick",
    }

    rows, _ = api.follow("/api/v1/pick-lists", state="open")
    assert [(row["id"], row["orders"], row["units"]) for row in rows] == [(number, 2, 4)]
    assert api.get(f"/api/v1/pick-lists/{number}").json() == pick_list
    page = api.get(f"/api/v1/pick-lists/{number}/html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert re.findall(r'<td class="sku">(\w+)</td>', page.text) == ["B", "A"]

    twice = [{"sku": "A", "quantity": 2}, {"sku": "A", "quantity": 2}]  # added up: 4
    too_many = api.post(f"/api/v1/pick-lists/{number}/confirm", {"shorts": twice})
    assert too_many.status_code == 422
    assert "has 3 unit(s) of A: a short of 4 is more than that" in too_many.json()["error"]
    confirmed = api.post(
        f"/api/v1/pick-lists/{number}/confirm", {"shorts": [{"sku": "B", "quantity": 1}]}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["state"], confirmed.json()["short"]) == ("picked", 1)
    assert level(api.hub.engine, "B", "main") == (4, 1)  # 1001 took another B of main's
    alerts = api.get("/api/v1/alerts", state="open").json()
    assert [alert["rule"] for alert in alerts] == ["pick_short"]
    assert api.post(f"/api/v1/pick-lists/{number}/confirm", None).status_code == 409

    cancelled = api.post(f"/api/v1/pick-lists/{number}/cancel", None)
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert api.post(f"/api/v1/pick-lists/{number}/cancel", None).status_code == 409
    assert api.get("/api/v1/pick-lists/999").status_code == 404
    assert api.get("/api/v1/pick-lists/999/html").status_code == 404
    assert api.post("/api/v1/pick-lists", {"location": "attic"}).status_code == 404
    assert api.post("/api/v1/pick-lists", {"location": "main", "max_orders": 0}).status_code == 422


def test_pick_lists_are_paged_newest_first(api: ApiHub) -> None:
    made = []
    for _ in range(3):
        response = api.post("/api/v1/pick-lists", {"location": "main", "max_orders": 1})
        if response.json()["pick_list"] is None:
            break
        made.append(response.json()["pick_list"]["id"])
        api.post(f"/api/v1/pick-lists/{made[-1]}/cancel", None)
    rows, pages = api.follow("/api/v1/pick-lists", limit=1)
    assert [row["id"] for row in rows] == sorted(made, reverse=True)
    assert pages == len(made) == 3


def test_a_confirm_that_loses_a_deadlock_is_run_again_from_the_start(
    api: ApiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = api.post("/api/v1/pick-lists", {"location": "main"}).json()["pick_list"]["id"]
    calls = confirm_deadlocked_once(monkeypatch, picking_routes)

    confirmed = api.post(
        f"/api/v1/pick-lists/{number}/confirm", {"shorts": [{"sku": "B", "quantity": 1}]}
    )

    assert confirmed.status_code == 200, confirmed.text
    assert calls == [number, number]  # the first run was rolled back, then run again
    assert (confirmed.json()["state"], confirmed.json()["short"]) == ("picked", 1)
    assert level(api.hub.engine, "B", "main") == (4, 1)  # one unit written off, not two
