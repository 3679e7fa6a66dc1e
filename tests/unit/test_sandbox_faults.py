"""Fault injection on the ``sandbox`` marketplace: each kind bites once, then stops."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from omnisync.sandbox.marketplace import SandboxMarketplace

TOKEN = "sb-fault-token"


@pytest.fixture(scope="module")
def running() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, name="sb-faults", rate=1000, burst=1000) as market:
        yield market


@pytest.fixture
def market(running: SandboxMarketplace) -> SandboxMarketplace:
    running.reset()
    running.set_listings([{"sku": "A", "title": "Alpha", "quantity": 1000}])
    return running


@pytest.fixture
def client(market: SandboxMarketplace) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=market.url, headers=headers, timeout=5) as client:
        yield client


def orders(client: httpx.Client, **params: str | int) -> httpx.Response:
    return client.get("/api/v1/orders", params=params)


def test_429_fault_answers_with_its_retry_after_once(market, client):
    market.inject("orders", "429", seconds=2.5)
    throttled = orders(client)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.5"
    assert throttled.json() == {"error": "rate_limited"}
    assert orders(client).status_code == 200
    assert market.snapshot()["responses_429"] == 1


def test_429_fault_defaults_to_one_second(market, client):
    market.inject("listings", 429)
    assert client.get("/api/v1/listings").headers["Retry-After"] == "1"


def test_500_fault_once_and_only_on_its_endpoint(market, client):
    market.inject("inventory", "500")
    assert orders(client).status_code == 200
    assert client.get("/api/v1/listings").status_code == 200
    body = {"updates": [{"sku": "A", "quantity": 3}]}
    failed = client.post("/api/v1/inventory", json=body)
    assert failed.status_code == 500
    assert market.quantity("A") == 1000  # the failed request changed nothing
    assert client.post("/api/v1/inventory", json=body).status_code == 200
    assert market.quantity("A") == 3


def test_count_and_star(market, client):
    market.inject("*", "500", count=2)
    assert orders(client).status_code == 500
    assert client.get("/api/v1/listings").status_code == 500
    assert orders(client).status_code == 200
    assert market.snapshot()["faults_served"] == {"500": 2}


def test_slow_fault_answers_late_but_normally(market, client):
    market.buy("A")
    market.inject("orders", "slow", seconds=0.3)
    began = time.monotonic()
    slow = orders(client)
    assert time.monotonic() - began >= 0.3
    assert slow.status_code == 200
    assert len(slow.json()["orders"]) == 1
    assert market.snapshot()["faults_served"] == {"slow": 1}  # used up: the next is prompt
    assert orders(client).status_code == 200
    assert market.snapshot()["faults_served"] == {"slow": 1}


def test_timeout_fault_outlasts_the_client_and_blocks_nobody_else(market, client):
    sleep_s = 30.0
    market.inject("orders", "timeout", seconds=sleep_s)
    began = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.get("/api/v1/orders", timeout=0.2)
    assert orders(client).status_code == 200
    # Answered while the first request still sleeps (a bound on ordering, not on speed).
    assert time.monotonic() - began < sleep_s


def test_malformed_json_fault(market, client):
    market.inject("listings", "malformed_json")
    broken = client.get("/api/v1/listings")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert client.get("/api/v1/listings").json()["listings"][0]["sku"] == "A"


def test_malformed_order_breaks_one_order_of_the_next_page(market, client):
    for _ in range(3):
        market.buy("A")
    market.inject("orders", "malformed_order", count=2)
    first = orders(client).json()["orders"]
    assert isinstance(first[0]["line_items"], str)
    assert all(isinstance(o["line_items"], list) for o in first[1:])
    second = orders(client).json()["orders"]
    assert second[0]["updated_at"] == "not-a-date"
    assert isinstance(second[0]["line_items"], list)
    clean = orders(client).json()["orders"]
    assert all(isinstance(o["line_items"], list) for o in clean)
    for order in clean:
        datetime.fromisoformat(order["updated_at"])
    # The stored order was never broken, only the page that carried it.
    assert isinstance(market.get_order(first[0]["id"])["line_items"], list)


def test_malformed_order_waits_for_a_page_with_orders(market, client):
    market.inject("orders", "malformed_order")
    assert orders(client).json()["orders"] == []
    market.buy("A")
    assert isinstance(orders(client).json()["orders"][0]["line_items"], str)


def test_duplicate_across_pages_repeats_the_previous_last_order(market, client):
    ids = [market.buy("A")["id"] for _ in range(4)]
    first = orders(client, limit=2).json()
    assert [o["id"] for o in first["orders"]] == ids[:2]
    market.inject("orders", "duplicate_across_pages")
    second = orders(client, limit=2, page_token=first["next_page_token"]).json()
    assert [o["id"] for o in second["orders"]] == [ids[1], ids[2], ids[3]]
    again = orders(client, limit=2, page_token=first["next_page_token"]).json()
    assert [o["id"] for o in again["orders"]] == ids[2:]


def test_stale_update_replays_an_older_version(market, client):
    order = market.buy("A", 2)
    line = order["line_items"][0]["id"]
    client.post(
        f"/api/v1/orders/{order['id']}/fulfilments",
        json={"line_items": [{"id": line, "quantity": 2}]},
    )
    current = orders(client).json()["orders"]
    assert [(o["id"], o["status"]) for o in current] == [(order["id"], "fulfilled")]
    newer = market.buy("A")
    market.inject("orders", "stale_update")
    page = orders(client, updated_at_min=newer["updated_at"]).json()["orders"]
    assert [o["id"] for o in page] == [newer["id"], order["id"]]
    stale = page[1]
    assert stale["status"] == "open"
    assert stale["updated_at"] < current[0]["updated_at"]
    assert stale["line_items"][0]["fulfilled_quantity"] == 0
    after = orders(client, updated_at_min=newer["updated_at"]).json()["orders"]
    assert [o["id"] for o in after] == [newer["id"]]


def test_stale_update_of_an_order_that_never_changed_is_made_up_older(market, client):
    order = market.buy("A")
    orders(client)
    market.inject("orders", "stale_update")
    page = orders(client).json()["orders"]
    assert [o["id"] for o in page] == [order["id"], order["id"]]
    assert page[1]["updated_at"] < page[0]["updated_at"]


def test_order_page_faults_are_not_used_up_by_other_endpoints(market, client):
    market.buy("A")
    market.inject("*", "malformed_order")
    assert client.get("/api/v1/listings").status_code == 200
    assert isinstance(orders(client).json()["orders"][0]["line_items"], str)


def test_faults_apply_only_to_authorised_requests(market, client):
    market.inject("orders", "500")
    assert httpx.get(market.url + "/api/v1/orders").status_code == 401
    assert orders(client).status_code == 500


def test_stop_does_not_wait_for_a_sleeping_fault():
    market = SandboxMarketplace(TOKEN)
    market.start()
    sleep_s = 60.0
    market.inject("orders", "timeout", seconds=sleep_s)
    began = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            market.url + "/api/v1/orders", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.2
        )
    market.stop()
    # Stopped while the fault still sleeps (a bound on ordering, not on speed).
    assert time.monotonic() - began < sleep_s
