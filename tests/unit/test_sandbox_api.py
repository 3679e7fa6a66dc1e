"""The ``sandbox`` marketplace's /api/v1, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from omnisync.sandbox.clock import ManualClock, parse_iso
from omnisync.sandbox.marketplace import SandboxError, SandboxMarketplace

TOKEN = "sb-test-token"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CATALOGUE: list[dict[str, Any]] = [
    {"sku": "A", "title": "Alpha", "quantity": 5, "price": "5.00", "barcode": "4006381333931"},
    {"sku": "B", "title": "Bravo", "quantity": 2, "price": "12.5"},
    {"sku": "C", "title": "Charlie", "quantity": 100},
    {"sku": None, "title": "No SKU", "quantity": 1},
]


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The marketplace's time, its rate limit included: it moves only when a test says so."""
    return ManualClock(START)


@pytest.fixture(scope="module")
def running(clock: ManualClock) -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, name="sb-api", clock=clock) as market:
        yield market


@pytest.fixture
def market(running: SandboxMarketplace) -> SandboxMarketplace:
    running.reset()
    running.set_rate_limit(rate=1000, burst=1000, scale=1)
    running.limiter.refill()
    running.set_listings(CATALOGUE)
    return running


@pytest.fixture
def client(market: SandboxMarketplace) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=market.url, headers=headers, timeout=5) as client:
        yield client


def fetch_all_orders(client: httpx.Client, **params: str | int) -> list[dict[str, Any]]:
    orders, token = [], None
    while True:
        page = client.get(
            "/api/v1/orders", params={**params, **({"page_token": token} if token else {})}
        )
        assert page.status_code == 200, page.text
        orders.extend(page.json()["orders"])
        token = page.json()["next_page_token"]
        if token is None:
            return orders


# auth -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Bearer"}],
)
def test_api_needs_the_bearer_token(market, headers):
    with httpx.Client(base_url=market.url, headers=headers) as anonymous:
        for method, path in [
            ("GET", "/api/v1/orders"),
            ("GET", "/api/v1/listings"),
            ("POST", "/api/v1/inventory"),
            ("POST", "/api/v1/orders/SB-000001/fulfilments"),
        ]:
            response = anonymous.request(method, path, json={})
            assert response.status_code == 401
            assert response.json() == {"error": "unauthorized"}
            assert "X-RateLimit-Limit" in response.headers
    assert market.snapshot()["requests"]["orders"] == 1  # counted, but cost no token


def test_every_api_response_carries_the_rate_limit_headers(market, client):
    market.set_rate_limit(rate=10, burst=20)
    market.limiter.refill()
    response = client.get("/api/v1/listings")
    assert response.headers["X-RateLimit-Limit"] == "10/s burst 20"
    assert response.headers["X-RateLimit-Remaining"] == "19"


# orders -----------------------------------------------------------------------------


def test_order_shape(market, client):
    order = market.buy_many([("A", 2), ("B", 1)], customer={"name": "Ada", "email": "ada@x.io"})
    assert order is not None
    [served] = client.get("/api/v1/orders").json()["orders"]
    assert served == order
    assert served["id"] == "SB-000001"
    assert served["status"] == "open"
    assert served["currency"] == "USD"
    assert served["total"] == "22.50"
    assert served["customer"] == {"name": "Ada", "email": "ada@x.io"}
    assert set(served["shipping_address"]) == {"name", "address1", "city", "zip", "country"}
    assert served["line_items"][0] == {
        "id": "SB-000001-1",
        "sku": "A",
        "title": "Alpha",
        "quantity": 2,
        "price": "5.00",
        "fulfilled_quantity": 0,
        "cancelled_quantity": 0,
    }
    updated = parse_iso(served["updated_at"])
    assert updated.tzinfo is not None
    assert served["updated_at"].endswith("+00:00")
    assert served["created_at"] == served["updated_at"]


def test_keyset_pagination_with_an_update_mid_way_skips_nothing(market, client):
    ids = [market.buy("C")["id"] for _ in range(25)]
    first = client.get("/api/v1/orders", params={"limit": 10}).json()
    assert [o["id"] for o in first["orders"]] == ids[:10]
    # One served order and one not yet served change while the client pages.
    market.touch_order(ids[2], status="partially_fulfilled")
    market.touch_order(ids[14])
    second = client.get(
        "/api/v1/orders", params={"limit": 10, "page_token": first["next_page_token"]}
    )
    second_ids = [o["id"] for o in second.json()["orders"]]
    assert second_ids == ids[10:14] + ids[15:21]
    third = client.get(
        "/api/v1/orders", params={"limit": 10, "page_token": second.json()["next_page_token"]}
    ).json()
    assert [o["id"] for o in third["orders"]] == [*ids[21:], ids[2], ids[14]]
    assert third["next_page_token"] is None
    assert third["orders"][-2]["status"] == "partially_fulfilled"
    served = [o["id"] for page in (first, second.json(), third) for o in page["orders"]]
    assert set(served) == set(ids)


def test_pages_are_sorted_and_limit_is_capped(market, client):
    market.set_listings([{"sku": "C", "title": "Charlie", "quantity": 200}])
    for _ in range(110):
        market.buy("C")
    page = client.get("/api/v1/orders", params={"limit": 500}).json()
    assert len(page["orders"]) == 100
    keys = [(o["updated_at"], o["id"]) for o in page["orders"]]
    assert keys == sorted(keys)
    assert page["next_page_token"] is not None
    assert len(client.get("/api/v1/orders").json()["orders"]) == 50


def test_updated_at_min_is_a_closed_start(market, client):
    orders = [market.buy("C") for _ in range(3)]
    since = orders[1]["updated_at"]
    served = fetch_all_orders(client, updated_at_min=since)
    assert [o["id"] for o in served] == [orders[1]["id"], orders[2]["id"]]
    later = parse_iso(since) + timedelta(microseconds=1)
    as_zulu = later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [o["id"] for o in fetch_all_orders(client, updated_at_min=as_zulu)] == [orders[2]["id"]]


def test_pagination_keeps_updated_at_min(market, client):
    orders = [market.buy("C") for _ in range(6)]
    served = fetch_all_orders(client, updated_at_min=orders[2]["updated_at"], limit=2)
    assert [o["id"] for o in served] == [o["id"] for o in orders[2:]]


def test_late_update_with_an_older_timestamp_is_served_by_updated_at_min(market, client):
    first, second = market.buy("C"), market.buy("C")
    past = parse_iso(second["updated_at"]) - timedelta(milliseconds=1)
    market.touch_order(first["id"], updated_at=past, status="cancelled")
    served = fetch_all_orders(client, updated_at_min=(past - timedelta(seconds=1)).isoformat())
    assert [(o["id"], o["status"]) for o in served] == [
        (first["id"], "cancelled"),
        (second["id"], "open"),
    ]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"updated_at_min": "yesterday"}, "invalid_updated_at_min"),
        ({"page_token": "%%%"}, "invalid_page_token"),
        ({"page_token": "eyJ4IjoxfQ"}, "invalid_page_token"),
        ({"limit": "ten"}, "invalid_limit"),
        ({"limit": "0"}, "invalid_limit"),
    ],
)
def test_bad_order_queries_are_400(client, params, error):
    response = client.get("/api/v1/orders", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_updated_at_is_strictly_increasing_on_a_frozen_clock():
    clock = ManualClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    market = SandboxMarketplace(TOKEN, clock=clock)
    market.set_listings([{"sku": "A", "title": "A", "quantity": 10}])
    first = market.place_order([("A", 1)])
    second = market.place_order([("A", 1)])
    touched = market.touch_order(first["id"])
    assert first["updated_at"] == "2026-11-22T10:00:00.000000+00:00"
    assert second["updated_at"] == "2026-11-22T10:00:00.000001+00:00"
    assert touched["updated_at"] == "2026-11-22T10:00:00.000002+00:00"


# listings ------------------------------------------------------------------------------


def test_listings_page_by_id_including_one_without_sku(client):
    first = client.get("/api/v1/listings", params={"limit": 3}).json()
    assert [item["id"] for item in first["listings"]] == ["LST-1", "LST-2", "LST-3"]
    assert first["listings"][0] == {
        "id": "LST-1",
        "sku": "A",
        "title": "Alpha",
        "quantity": 5,
        "barcode": "4006381333931",
    }
    rest = client.get("/api/v1/listings", params={"page_token": first["next_page_token"]}).json()
    assert rest == {
        "listings": [
            {"id": "LST-4", "sku": None, "title": "No SKU", "quantity": 1, "barcode": None}
        ],
        "next_page_token": None,
    }


@pytest.mark.parametrize("barcode", ["", 4006381333931])
def test_a_listing_with_a_blank_or_non_string_barcode_is_refused(market, barcode):
    with pytest.raises(SandboxError, match="bad barcode"):
        market.set_listings([{"sku": "A", "title": "Alpha", "barcode": barcode}])


# buyers --------------------------------------------------------------------------------


def test_buying_decrements_and_refuses_when_out_of_stock(market, client):
    assert market.buy("B", 2) is not None
    assert market.quantity("B") == 0
    assert market.buy("B") is None
    assert market.buy_many([("A", 1), ("B", 1)]) is None
    assert market.quantity("A") == 5  # all or nothing
    listing = next(i for i in client.get("/api/v1/listings").json()["listings"] if i["sku"] == "B")
    assert listing["quantity"] == 0
    history = next(i for i in market.snapshot()["listings"] if i["sku"] == "B")["history"]
    assert [(h["quantity"], h["source"]) for h in history] == [(0, "sale")]
    with pytest.raises(SandboxError) as unknown:
        market.buy("NOPE")
    assert unknown.value.status == 404


def test_concurrent_buyers_never_oversell(market):
    market.set_listings([{"sku": "HOT", "title": "Hot", "quantity": 30}])
    bought: list[dict[str, Any]] = []

    def buyer() -> None:
        for _ in range(20):
            order = market.buy("HOT")
            if order is not None:
                bought.append(order)

    threads = [threading.Thread(target=buyer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bought) == 30
    assert market.quantity("HOT") == 0
    assert len({o["id"] for o in bought}) == 30


# inventory -------------------------------------------------------------------------------


def test_inventory_push_answers_per_item(market, client):
    market.lock_sku("B")
    response = client.post(
        "/api/v1/inventory",
        json={
            "updates": [
                {"sku": "A", "quantity": 7},
                {"sku": "Z", "quantity": 1},
                {"sku": "B", "quantity": 3},
                {"sku": "C", "quantity": -1},
                {"sku": "C", "quantity": 1.5},
                {"sku": "C", "quantity": "4"},
                {"sku": "C", "quantity": True},
                {"sku": "C", "quantity": 0},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["sku"], r["status"], r.get("code")) for r in results] == [
        ("A", "ok", None),
        ("Z", "error", "unknown_sku"),
        ("B", "error", "listing_locked"),
        ("C", "error", "invalid_quantity"),
        ("C", "error", "invalid_quantity"),
        ("C", "error", "invalid_quantity"),
        ("C", "error", "invalid_quantity"),
        ("C", "ok", None),
    ]
    assert results[0] == {"sku": "A", "status": "ok", "quantity": 7}
    assert all(r["message"] for r in results if r["status"] == "error")
    assert (market.quantity("A"), market.quantity("B"), market.quantity("C")) == (7, 2, 0)
    state = market.snapshot()
    history = next(i for i in state["listings"] if i["sku"] == "A")["history"]
    assert [(h["quantity"], h["source"]) for h in history] == [(7, "push")]
    pushes = [(p["sku"], p["quantity"], p["status"]) for p in state["inventory_pushes"]]
    assert pushes[0] == ("A", 7, "ok")
    assert pushes[-1] == ("C", 0, "ok")
    market.lock_sku("B", locked=False)
    again = client.post("/api/v1/inventory", json={"updates": [{"sku": "B", "quantity": 3}]})
    assert again.json()["results"][0]["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"updates": [{"sku": "A", "quantity": 1}] * 101}, "too_many_updates"),
        ({"updates": "A=1"}, "invalid_request"),
        ({"changes": []}, "invalid_request"),
        ([{"sku": "A", "quantity": 1}], "invalid_request"),
        ({"updates": [{"quantity": 1}]}, "invalid_request"),
        ({"updates": [{"sku": "A"}]}, "invalid_request"),
    ],
)
def test_bad_inventory_bodies_are_400(market, client, body, error):
    response = client.post("/api/v1/inventory", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert market.quantity("A") == 5


def test_inventory_body_that_is_not_json_is_400(client):
    response = client.post("/api/v1/inventory", content=b"sku=A")
    assert response.status_code == 400


# rate limiting --------------------------------------------------------------------------


def test_empty_bucket_answers_429_with_retry_after_then_recovers(market, client, clock):
    market.set_rate_limit(rate=5, burst=2)
    market.limiter.refill()
    assert client.get("/api/v1/listings").status_code == 200
    assert client.get("/api/v1/listings").status_code == 200
    throttled = client.get("/api/v1/orders")
    assert throttled.status_code == 429
    assert throttled.json() == {"error": "rate_limited"}
    retry_after = float(throttled.headers["Retry-After"])
    assert 0 < retry_after <= 0.2
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(timedelta(seconds=retry_after))
    assert client.get("/api/v1/orders").status_code == 200
    state = market.snapshot()
    assert state["responses_429"] == 1
    assert state["requests"] == {"listings": 2, "orders": 2}


def test_rate_scale_speeds_up_the_real_limit(market, client):
    market.set_rate_limit(rate=1, burst=1, scale=5)
    market.limiter.refill()
    assert client.get("/api/v1/listings").status_code == 200
    throttled = client.get("/api/v1/listings")
    assert throttled.status_code == 429
    assert throttled.headers["X-RateLimit-Limit"] == "5/s burst 1"
    assert 0.1 < float(throttled.headers["Retry-After"]) <= 0.2


# fulfilments ------------------------------------------------------------------------------


def test_fulfilment_updates_the_order_and_honours_the_idempotency_key(market, client):
    order = market.buy_many([("A", 3), ("B", 1)])
    line_a, line_b = (line["id"] for line in order["line_items"])
    body = {
        "line_items": [{"id": line_a, "quantity": 1}],
        "tracking_company": "UPS",
        "tracking_number": "1Z999",
        "tracking_url": "https://ups.example/1Z999",
        "notify_customer": True,
    }
    path = f"/api/v1/orders/{order['id']}/fulfilments"
    created = client.post(path, json=body, headers={"Idempotency-Key": "k-1"})
    assert created.status_code == 201
    fulfilment = created.json()["fulfilment"]
    assert fulfilment["id"] == "FUL-1"
    assert fulfilment["order_id"] == order["id"]
    assert fulfilment["tracking_number"] == "1Z999"
    after_first = market.get_order(order["id"])
    assert after_first["status"] == "partially_fulfilled"
    assert after_first["line_items"][0]["fulfilled_quantity"] == 1
    assert after_first["updated_at"] > order["updated_at"]

    repeated = client.post(path, json=body, headers={"Idempotency-Key": "k-1"})
    assert repeated.status_code == 201
    assert repeated.json() == created.json()
    assert market.get_order(order["id"]) == after_first
    assert len(market.snapshot()["fulfilments"]) == 1

    over = client.post(path, json={"line_items": [{"id": line_a, "quantity": 3}]})
    assert over.status_code == 422
    assert over.json()["error"] == "over_fulfilment"

    rest = {"line_items": [{"id": line_a, "quantity": 2}, {"id": line_b, "quantity": 1}]}
    done = client.post(path, json=rest, headers={"Idempotency-Key": "k-2"})
    assert done.status_code == 201
    assert done.json()["fulfilment"]["id"] == "FUL-2"
    assert market.get_order(order["id"])["status"] == "fulfilled"

    other = market.buy("C")
    reused = client.post(
        f"/api/v1/orders/{other['id']}/fulfilments",
        json={"line_items": [{"id": other["line_items"][0]["id"], "quantity": 1}]},
        headers={"Idempotency-Key": "k-1"},
    )
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"


def test_fulfilment_refusals(market, client):
    order = market.buy("A")
    path = f"/api/v1/orders/{order['id']}/fulfilments"
    missing = client.post(
        "/api/v1/orders/SB-999999/fulfilments", json={"line_items": [{"id": "x", "quantity": 1}]}
    )
    assert missing.status_code == 404
    unknown_line = client.post(path, json={"line_items": [{"id": "nope", "quantity": 1}]})
    assert unknown_line.status_code == 422
    assert client.post(path, json={"line_items": []}).status_code == 400
    assert client.post(path, json={"line_items": [{"id": "x", "quantity": 0}]}).status_code == 400
    market.cancel_order(order["id"])
    line = order["line_items"][0]["id"]
    cancelled = client.post(path, json={"line_items": [{"id": line, "quantity": 1}]})
    assert cancelled.status_code == 422
    assert cancelled.json()["error"] == "order_cancelled"


# cancel ---------------------------------------------------------------------------------------


def test_cancel_restores_the_open_quantity(market, client):
    order = market.buy("A", 3)
    assert market.quantity("A") == 2
    line = order["line_items"][0]["id"]
    client.post(
        f"/api/v1/orders/{order['id']}/fulfilments",
        json={"line_items": [{"id": line, "quantity": 1}]},
    )
    cancelled = market.cancel_order(order["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["line_items"][0]["cancelled_quantity"] == 2
    assert cancelled["line_items"][0]["fulfilled_quantity"] == 1
    assert cancelled["updated_at"] > order["updated_at"]
    assert market.quantity("A") == 4
    history = next(i for i in market.snapshot()["listings"] if i["sku"] == "A")["history"]
    assert [(h["quantity"], h["source"]) for h in history] == [(2, "sale"), (4, "cancel")]
    assert market.cancel_order(order["id"]) == cancelled  # again: nothing changes
    assert market.quantity("A") == 4


# snapshot ----------------------------------------------------------------------------------


def test_snapshot_shape(market, client):
    order = market.buy("A")
    client.get("/api/v1/orders")
    client.post("/api/v1/inventory", json={"updates": [{"sku": "A", "quantity": 9}]})
    market.inject("listings", "500")
    state = market.snapshot()
    assert set(state) >= {
        "name",
        "type",
        "listings",
        "orders",
        "fulfilments",
        "inventory_pushes",
        "requests",
        "responses_429",
        "faults_served",
        "faults_pending",
    }
    assert state["type"] == "sandbox"
    assert state["name"] == "sb-api"
    listing = state["listings"][0]
    assert set(listing) == {
        "id",
        "sku",
        "title",
        "quantity",
        "barcode",
        "price",
        "locked",
        "history",
    }
    assert listing["quantity"] == 9
    assert [h["source"] for h in listing["history"]] == ["sale", "push"]
    assert all(h["time"].endswith("+00:00") for h in listing["history"])
    assert state["orders"] == [order]
    assert state["inventory_pushes"][0]["sku"] == "A"
    assert state["requests"] == {"orders": 1, "inventory": 1}
    assert state["faults_pending"] == [
        {"endpoint": "listings", "kind": "500", "count": 1, "seconds": None}
    ]
    state["orders"].clear()  # a snapshot is detached from the live state
    assert market.snapshot()["orders"] == [order]


def test_reset_forgets_everything(market, client):
    market.buy("A")
    client.get("/api/v1/orders")
    market.inject("*", "500")
    market.reset()
    state = market.snapshot()
    assert state["listings"] == state["orders"] == state["faults_pending"] == []
    assert state["requests"] == {}
