"""The ``/_sandbox`` control routes, several marketplaces at once, and
``python -m omnisync.sandbox``."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from omnisync.sandbox.marketplace import SandboxMarketplace

TOKEN = "sb-control-token"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def running() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, name="sb-control", rate=1000, burst=1000) as market:
        yield market


@pytest.fixture
def control(running: SandboxMarketplace) -> Iterator[httpx.Client]:
    running.reset()
    with httpx.Client(base_url=running.url + "/_sandbox", timeout=5) as client:
        yield client


@pytest.fixture
def api(running: SandboxMarketplace) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=running.url + "/api/v1", headers=headers, timeout=5) as client:
        yield client


def test_control_routes_drive_the_marketplace(running, control, api):
    listings = control.post(
        "/listings", json={"listings": [{"sku": "A", "title": "A", "quantity": 2}]}
    )
    assert listings.status_code == 200
    assert listings.json()["listings"][0]["quantity"] == 2

    bought = control.post("/buy", json={"sku": "A", "quantity": 2})
    assert bought.status_code == 201
    order = bought.json()["order"]
    assert order["line_items"][0]["quantity"] == 2

    refused = control.post("/buy", json={"sku": "A"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "out_of_stock"
    assert refused.json()["available"] == 0
    assert control.post("/buy", json={"sku": "Z"}).status_code == 404

    cancelled = control.post(f"/orders/{order['id']}/cancel")
    assert cancelled.json()["order"]["status"] == "cancelled"
    assert running.quantity("A") == 2
    assert control.post("/orders/SB-404404/cancel").status_code == 404

    touched = control.post(
        f"/orders/{order['id']}/touch",
        json={"updated_at": "2020-01-01T00:00:00Z", "status": "open"},
    ).json()["order"]
    assert touched["updated_at"] == "2020-01-01T00:00:00.000000+00:00"
    assert touched["status"] == "open"

    assert control.post("/locks", json={"sku": "A", "locked": True}).status_code == 200
    pushed = api.post("/inventory", json={"updates": [{"sku": "A", "quantity": 1}]})
    assert pushed.json()["results"][0]["code"] == "listing_locked"

    assert control.post("/faults", json={"endpoint": "orders", "kind": "500"}).status_code == 201
    assert api.get("/orders").status_code == 500
    bad_fault = control.post("/faults", json={"endpoint": "orders", "kind": "boom"})
    assert bad_fault.status_code == 400

    assert control.post("/rate", json={"rate": 5, "burst": 7}).json() == {
        "rate_limit": "5/s burst 7"
    }

    state = control.get("/state").json()
    assert state["name"] == "sb-control"
    assert state["orders"][0]["id"] == order["id"]
    assert state["requests"] == {"inventory": 1, "orders": 1}

    assert control.post("/reset").status_code == 200
    assert control.get("/state").json()["orders"] == []
    running.set_rate_limit(rate=1000, burst=1000)


def test_multi_line_buy_is_all_or_nothing(running, control):
    running.set_listings([{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}])
    refused = control.post(
        "/buy", json={"lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]}
    )
    assert refused.status_code == 409
    assert refused.json()["sku"] == "B"
    assert running.quantity("A") == 3
    bought = control.post(
        "/buy", json={"lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]}
    )
    assert [line["sku"] for line in bought.json()["order"]["line_items"]] == ["A", "B"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/listings", {"listings": "A"}),
        ("/listings", {"listings": [{"sku": "A", "quantity": -1}]}),
        ("/listings", {"listings": [{"sku": "A"}, {"sku": "A"}]}),
        ("/buy", {"sku": 5}),
        ("/buy", {"sku": "A", "quantity": 0}),
        ("/locks", {"sku": "A", "locked": "yes"}),
        ("/faults", {"kind": "500", "count": "two"}),
        ("/rate", {"burst": 1.5}),
    ],
)
def test_bad_control_bodies_are_400(running, control, path, body):
    running.set_listings([{"sku": "A", "quantity": 3}])
    response = control.post(path, json=body)
    assert response.status_code == 400, response.text


def test_control_needs_no_auth_and_costs_no_tokens(running, control):
    running.set_rate_limit(rate=0.001, burst=1)
    try:
        for _ in range(5):
            assert control.get("/state").status_code == 200
        assert control.get("/health").json()["type"] == "sandbox"
        assert running.limiter.remaining() == 1
    finally:
        running.set_rate_limit(rate=1000, burst=1000)
        running.limiter.refill()


def test_two_marketplaces_at_once_keep_their_own_state():
    with (
        SandboxMarketplace("one", name="one") as first,
        SandboxMarketplace("two", name="two") as second,
    ):
        assert first.port != second.port
        first.set_listings([{"sku": "A", "quantity": 1}])
        second.set_listings([{"sku": "A", "quantity": 9}])
        first.buy("A")
        one = httpx.get(first.url + "/api/v1/listings", headers={"Authorization": "Bearer one"})
        two = httpx.get(second.url + "/api/v1/listings", headers={"Authorization": "Bearer two"})
        assert one.json()["listings"][0]["quantity"] == 0
        assert two.json()["listings"][0]["quantity"] == 9
        wrong = httpx.get(second.url + "/api/v1/listings", headers={"Authorization": "Bearer one"})
        assert wrong.status_code == 401
        first.stop()
        assert httpx.get(second.url + "/_sandbox/health").status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(first.url + "/_sandbox/health")


def test_simulator_registry_knows_the_sandbox_type():
    from omnisync.sandbox.registry import SIMULATORS, simulator_for

    assert SIMULATORS["sandbox"] is SandboxMarketplace
    assert simulator_for("sandbox") is SandboxMarketplace
    assert simulator_for("etsy") is None


def test_a_restarted_marketplace_keeps_its_state_and_url():
    market = SandboxMarketplace()
    market.set_listings([{"sku": "A", "quantity": 4}])
    url = market.start()
    market.buy("A")
    market.stop()
    assert market.start() == url
    try:
        state = httpx.get(url + "/_sandbox/state").json()
        assert state["listings"][0]["quantity"] == 3
    finally:
        market.stop()


def _ctrl_c_stops_it() -> None:
    """In the child before it starts: Ctrl-C's default action, whatever the tests were
    started with (a shell's background job, `make test &`, inherits SIGINT ignored, and
    Python then never turns Ctrl-C into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_python_dash_m_sandbox_prints_its_url_and_serves():
    process = subprocess.Popen(
        [sys.executable, "-m", "omnisync.sandbox", "--port", "0", "--token", "T"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_stops_it,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + "/api/v1/listings", headers={"Authorization": "Bearer T"})
        assert response.json() == {"listings": [], "next_page_token": None}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never left behind, serving
            process.communicate()
            raise
    assert process.returncode == 0, errors
