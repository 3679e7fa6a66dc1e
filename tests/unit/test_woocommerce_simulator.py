"""The WooCommerce simulator over real HTTP: authentication, paging, filters, batches,
stock through orders, notes, Shipment Tracking, signed webhooks, faults, throttling,
reset, and the control routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.registry import simulator_for
from omnisync.sandbox.woocommerce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_WEBHOOK_SECRET,
    WooCommerceSimulator,
    WooCommerceSimulatorError,
)
from tests.support.loopback import LoopbackEndpoint

API: Final = "/wp-json/wc/v3"
START: Final = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
AUTH: Final = (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver(LoopbackEndpoint):
    """A hub-like webhook endpoint: keeps every POST, answers 200 when the signature
    verifies with the secret (and to pings), 401 when not."""

    def __init__(self, secret: str = DEFAULT_WEBHOOK_SECRET) -> None:
        super().__init__("/woo", [Route("/woo", self._post, methods=["POST"])])
        self.secret = secret
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def _post(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.received.append(Received(dict(request.headers), body))
        signature = request.headers.get("x-wc-webhook-signature")
        if signature is None:
            return Response(status_code=200)
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), body, hashlib.sha256).digest()
        ).decode()
        return Response(status_code=200 if hmac.compare_digest(signature, expected) else 401)

    def events(self) -> list[Received]:
        with self._lock:
            return [item for item in self.received if "x-wc-webhook-topic" in item.headers]


@pytest.fixture(scope="module")
def served() -> Iterator[WooCommerceSimulator]:
    with WooCommerceSimulator(name="woo", clock=ManualClock(START)) as simulator:
        yield simulator


@pytest.fixture
def woo(served: WooCommerceSimulator) -> WooCommerceSimulator:
    assert served.wait_for_deliveries()
    served.reset()
    served.send_webhooks_to(None)
    served.shipment_tracking = False
    served.duplicate_deliveries = 0
    served.set_rate_limit(rate=20.0, burst=40)
    clock(served).set(START)
    served.seed_products([{"sku": "MUG", "name": "Mug", "stock_quantity": 5}])
    return served


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as endpoint:
        yield endpoint


def clock(simulator: WooCommerceSimulator) -> ManualClock:
    assert isinstance(simulator.clock, ManualClock)
    return simulator.clock


def api(simulator: WooCommerceSimulator, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=simulator.url + API, auth=AUTH, timeout=10, **kwargs)


def test_the_registry_knows_the_type() -> None:
    assert simulator_for("woocommerce") is WooCommerceSimulator


# authentication and routes --------------------------------------------------------------


def test_credentials_are_checked_basic_or_query(woo: WooCommerceSimulator) -> None:
    url = woo.url + API + "/orders"
    missing = httpx.get(url)
    wrong_key = httpx.get(url, auth=("ck_other", DEFAULT_CONSUMER_SECRET))
    wrong_secret = httpx.get(url, auth=(DEFAULT_CONSUMER_KEY, "cs_other"))
    by_query = httpx.get(
        url,
        params={"consumer_key": DEFAULT_CONSUMER_KEY, "consumer_secret": DEFAULT_CONSUMER_SECRET},
    )
    unknown = httpx.get(woo.url + API + "/coupons", auth=AUTH)
    assert (missing.status_code, missing.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    assert wrong_key.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer key is invalid.",
        "data": {"status": 401},
    }
    assert wrong_secret.json()["message"] == "Consumer secret is invalid."
    assert by_query.status_code == 200
    assert (unknown.status_code, unknown.json()["code"]) == (404, "rest_no_route")
    logged = woo.requests()
    assert [entry["status"] for entry in logged] == [401, 401, 401, 200, 404]
    assert logged[3]["query"] == {"consumer_key": "***", "consumer_secret": "***"}
    assert DEFAULT_CONSUMER_SECRET not in repr(woo)


# orders: paging, filters -----------------------------------------------------------------


def test_orders_page_with_wordpress_headers_and_links(woo: WooCommerceSimulator) -> None:
    woo.set_stock("MUG", 50)
    placed = [woo.buy("MUG")["id"] for _ in range(5)]
    with api(woo) as client:
        first = client.get("/orders", params={"per_page": 2, "orderby": "id", "order": "asc"})
        last = client.get(
            "/orders", params={"per_page": 2, "page": 3, "orderby": "id", "order": "asc"}
        )
        too_big = client.get("/orders", params={"per_page": 101})
    assert [order["id"] for order in first.json()] == placed[:2]
    assert (first.headers["x-wp-total"], first.headers["x-wp-totalpages"]) == ("5", "3")
    assert first.headers["link"] == (
        f'<{woo.url}{API}/orders?per_page=2&orderby=id&order=asc&page=2>; rel="next"'
    )
    assert [order["id"] for order in last.json()] == placed[4:]
    assert last.headers["link"] == (
        f'<{woo.url}{API}/orders?per_page=2&page=2&orderby=id&order=asc>; rel="prev"'
    )
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "rest_invalid_param"
    assert "per_page" in too_big.json()["data"]["params"]


def test_modified_after_reads_gmt_or_site_time() -> None:
    with WooCommerceSimulator(clock=ManualClock(START), utc_offset=timedelta(hours=-3)) as woo:
        woo.seed_products([{"sku": "MUG", "stock_quantity": 9}])
        early = woo.buy("MUG")
        clock(woo).advance(timedelta(hours=1))
        late = woo.buy("MUG")
        assert late["date_modified_gmt"] == "2026-07-01T13:00:00"
        assert late["date_modified"] == "2026-07-01T10:00:00"
        with api(woo) as client:

            def after(value: str, gmt: bool) -> list[int]:
                params = {"modified_after": value, "dates_are_gmt": str(gmt).lower()}
                return [order["id"] for order in client.get("/orders", params=params).json()]

            assert after("2026-07-01T12:30:00", gmt=True) == [late["id"]]
            assert after("2026-07-01T12:30:00", gmt=False) == []  # 15:30 GMT
            assert after("2026-07-01T09:30:00", gmt=False) == [late["id"]]  # 12:30 GMT
            assert after("2026-07-01T11:00:00", gmt=True) == [late["id"], early["id"]]


def test_status_any_leaves_out_trash_and_drafts(woo: WooCommerceSimulator) -> None:
    kept = woo.buy("MUG")["id"]
    woo.set_order_status(woo.buy("MUG")["id"], "trash")
    woo.buy("MUG", status="checkout-draft")
    with api(woo) as client:
        listed = [order["id"] for order in client.get("/orders").json()]
        trashed = client.get("/orders", params={"status": "trash"}).json()
    assert listed == [kept]
    assert len(trashed) == 1


# stock through orders ----------------------------------------------------------------


def test_buying_takes_stock_pending_does_not_and_too_many_is_refused(
    woo: WooCommerceSimulator,
) -> None:
    order = woo.buy("MUG", 2)
    assert woo.stock() == {"MUG": 3}
    assert order["status"] == "processing"
    assert order["line_items"][0]["sku"] == "MUG"
    assert order["total"] == "20.00"
    pending = woo.buy("MUG", 3, status="pending")
    assert woo.stock() == {"MUG": 3}
    with pytest.raises(WooCommerceSimulatorError, match="not enough units"):
        woo.buy("MUG", 4)
    with pytest.raises(WooCommerceSimulatorError):
        woo.buy("NOPE")
    woo.set_order_status(pending["id"], "processing")
    assert woo.stock() == {"MUG": 0}
    assert woo.product("MUG")["stock_status"] == "outofstock"


def test_cancel_gives_the_units_back_and_notes_say_so(woo: WooCommerceSimulator) -> None:
    order = woo.buy("MUG", 2)
    cancelled = woo.cancel_order(order["id"])
    assert cancelled["status"] == "cancelled"
    assert woo.stock() == {"MUG": 5}
    assert cancelled["date_modified_gmt"] >= order["date_modified_gmt"]
    notes = [note["note"] for note in woo.notes(order["id"])]
    assert notes == [
        "Stock levels increased: Mug (MUG) 3&rarr;5",
        "Order status changed from Processing to Cancelled.",
        "Stock levels reduced: Mug (MUG) 5&rarr;3",
    ]
    with pytest.raises(WooCommerceSimulatorError):
        woo.cancel_order(order["id"])


def test_variations_hold_their_own_stock(woo: WooCommerceSimulator) -> None:
    tee = woo.seed_variable_product(
        {"name": "Tee", "variations": [{"sku": "TEE-S", "stock_quantity": 3, "option": "S"}]}
    )
    order = woo.buy("TEE-S", 2)
    line = order["line_items"][0]
    assert (line["product_id"], line["variation_id"]) == (tee["id"], tee["variations"][0])
    assert line["name"] == "Tee - S"
    assert woo.stock() == {"MUG": 5, "TEE-S": 1}


def test_updating_an_order_over_the_api_completes_it(woo: WooCommerceSimulator) -> None:
    order = woo.buy("MUG")
    clock(woo).advance(timedelta(minutes=5))
    with api(woo) as client:
        done = client.put(f"/orders/{order['id']}", json={"status": "completed"}).json()
        bad = client.put(f"/orders/{order['id']}", json={"status": "shipped"})
        unknown = client.get("/orders/99999")
    assert done["status"] == "completed"
    assert done["date_completed_gmt"] == "2026-07-01T12:05:00"
    assert done["date_modified_gmt"] == "2026-07-01T12:05:00"
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")
    assert unknown.json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }


def test_notes_are_listed_and_added(woo: WooCommerceSimulator) -> None:
    order_id = woo.buy("MUG")["id"]
    with api(woo) as client:
        made = client.post(
            f"/orders/{order_id}/notes",
            json={"note": "Shipped with UPS", "customer_note": True, "added_by_user": True},
        )
        listed = client.get(f"/orders/{order_id}/notes").json()
        missing = client.post(f"/orders/{order_id}/notes", json={})
        nowhere = client.get("/orders/99999/notes")
    assert made.status_code == 201
    assert made.json()["author"] == "shop_manager"
    assert set(made.json()) == {
        "id",
        "author",
        "date_created",
        "date_created_gmt",
        "note",
        "customer_note",
    }
    assert next(note["note"] for note in listed) == "Shipped with UPS"
    assert listed[0]["customer_note"] is True
    assert missing.json()["code"] == "rest_missing_callback_param"
    assert nowhere.json()["code"] == "woocommerce_rest_order_invalid_id"


# products and batches ------------------------------------------------------------------


def test_product_update_sets_stock_only_when_managed(woo: WooCommerceSimulator) -> None:
    free = woo.seed_products([{"sku": "PIN", "name": "Pin"}])[0]
    assert (free["manage_stock"], free["stock_quantity"]) == (False, None)
    with api(woo) as client:
        ignored = client.put(f"/products/{free['id']}", json={"stock_quantity": 4}).json()
        managed = client.put(
            f"/products/{free['id']}", json={"manage_stock": True, "stock_quantity": 4}
        ).json()
        by_sku = client.get("/products", params={"sku": "PIN"}).json()
    assert ignored["stock_quantity"] is None
    assert (managed["manage_stock"], managed["stock_quantity"]) == (True, 4)
    assert [product["id"] for product in by_sku] == [free["id"]]
    assert woo.stock() == {"MUG": 5, "PIN": 4}


def test_a_batch_answers_per_item_and_refuses_more_than_100(woo: WooCommerceSimulator) -> None:
    mug = woo.product("MUG")["id"]
    with api(woo) as client:
        answer = client.post(
            "/products/batch",
            json={
                "update": [
                    {"id": mug, "stock_quantity": 7},
                    {"id": 99999, "stock_quantity": 1},
                    {"id": mug, "stock_quantity": -1},
                    {"id": mug, "stock_quantity": "many"},
                ]
            },
        )
        too_many = client.post(
            "/products/batch", json={"update": [{"id": mug, "stock_quantity": 1}] * 101}
        )
    updated = answer.json()["update"]
    assert answer.status_code == 200
    assert set(answer.json()) == {"update"}
    assert updated[0]["stock_quantity"] == 7
    assert updated[1] == {
        "id": 99999,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert [item["error"]["code"] for item in updated[2:]] == ["rest_invalid_param"] * 2
    assert woo.stock() == {"MUG": 7}
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert [entry["operation"] for entry in woo.requests()] == ["batchProducts"] * 2


def test_a_variations_batch_updates_stock(woo: WooCommerceSimulator) -> None:
    tee = woo.seed_variable_product(
        {"name": "Tee", "variations": [{"sku": "TEE-S", "stock_quantity": 3}]}
    )
    with api(woo) as client:
        answer = client.post(
            f"/products/{tee['id']}/variations/batch",
            json={"update": [{"id": tee["variations"][0], "stock_quantity": 8}, {"id": 1}]},
        ).json()
        listed = client.get(f"/products/{tee['id']}/variations").json()
    assert answer["update"][0]["stock_quantity"] == 8
    assert answer["update"][1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert [(item["sku"], item["stock_quantity"]) for item in listed] == [("TEE-S", 8)]


# Shipment Tracking -------------------------------------------------------------------


def test_shipment_tracking_routes_exist_only_with_the_extension(
    woo: WooCommerceSimulator,
) -> None:
    order_id = woo.buy("MUG")["id"]
    path = f"{woo.url}/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"
    item = {"tracking_provider": "ups", "tracking_number": "1Z999", "date_shipped": "2026-07-01"}
    off = httpx.post(path, json=item, auth=AUTH)
    woo.shipment_tracking = True
    made = httpx.post(path, json=item, auth=AUTH)
    listed = httpx.get(path, auth=AUTH).json()
    assert (off.status_code, off.json()["code"]) == (404, "rest_no_route")
    assert made.status_code == 201
    assert made.headers["location"] == made.json()["_links"]["self"][0]["href"]
    assert {key: made.json()[key] for key in item} == {**item, "tracking_provider": "UPS"}
    assert made.json()["tracking_link"].endswith("1Z999")
    assert [entry["tracking_id"] for entry in listed] == [made.json()["tracking_id"]]
    assert woo.trackings(order_id)[0]["tracking_number"] == "1Z999"


# webhooks -----------------------------------------------------------------------------


def _verifies(received: Received, secret: str = DEFAULT_WEBHOOK_SECRET) -> bool:
    digest = hmac.new(secret.encode(), received.body, hashlib.sha256).digest()
    return received.headers["x-wc-webhook-signature"] == base64.b64encode(digest).decode()


def test_webhooks_are_pinged_then_signed(woo: WooCommerceSimulator, receiver: Receiver) -> None:
    woo.send_webhooks_to(receiver.url)
    order = woo.buy("MUG")
    woo.set_stock("MUG", 9)
    assert woo.wait_for_deliveries(10)
    pings = [item for item in receiver.received if "x-wc-webhook-topic" not in item.headers]
    hooks = {hook["topic"]: hook["id"] for hook in woo.snapshot()["webhooks"]}
    assert sorted(hooks) == ["order.created", "order.deleted", "order.updated", "product.updated"]
    assert sorted(ping.body for ping in pings) == sorted(
        f"webhook_id={hook_id}".encode() for hook_id in hooks.values()
    )
    assert pings[0].headers["content-type"] == "application/x-www-form-urlencoded"
    created, updated = receiver.events()
    assert all(_verifies(event) for event in (created, updated))
    assert created.headers["x-wc-webhook-topic"] == "order.created"
    assert created.headers["x-wc-webhook-resource"] == "order"
    assert created.headers["x-wc-webhook-event"] == "created"
    assert created.headers["x-wc-webhook-source"] == woo.url + "/"
    assert created.headers["x-wc-webhook-id"] == str(hooks["order.created"])
    assert created.headers["user-agent"].startswith("WooCommerce/")
    assert b"\\/" in created.body  # PHP's json_encode: verify the raw bytes
    assert updated.headers["x-wc-webhook-topic"] == "product.updated"
    assert [d["status_code"] for d in woo.deliveries()] == [200] * 6
    assert woo.deliveries()[-2]["body"]["id"] == order["id"]


def test_duplicates_redelivery_and_tampering(woo: WooCommerceSimulator, receiver: Receiver) -> None:
    woo.duplicate_deliveries = 2
    woo.send_webhooks_to(receiver.url)
    woo.buy("MUG")
    woo.redeliver_last()
    woo.tamper_next()
    woo.cancel_order(woo.orders()[0]["id"])
    assert woo.wait_for_deliveries(10)
    events = receiver.events()
    topics = [event.headers["x-wc-webhook-topic"] for event in events]
    assert topics == [
        "order.created",
        "order.created",
        "order.updated",
        "order.created",
        "order.updated",
    ]
    assert len({event.body for event in events[:4]}) == 1
    assert len({event.headers["x-wc-webhook-delivery-id"] for event in events}) == 5
    assert [_verifies(event) for event in events] == [True] * 4 + [False]
    assert woo.deliveries()[-1]["status_code"] == 401
    assert woo.deliveries()[-1]["tampered"] is True


def test_webhooks_created_over_the_api_use_their_own_secret(
    woo: WooCommerceSimulator,
) -> None:
    with Receiver(secret="hub-secret") as hub, api(woo) as client:
        made = client.post(
            "/webhooks",
            json={"topic": "order.created", "delivery_url": hub.url, "secret": "hub-secret"},
        )
        bad = client.post("/webhooks", json={"topic": "order.shipped", "delivery_url": hub.url})
        woo.buy("MUG")
        assert woo.wait_for_deliveries(10)
        (event,) = hub.events()
    assert made.status_code == 201
    assert "secret" not in made.json()
    assert bad.json()["code"] == "woocommerce_rest_webhook_invalid_topic"
    assert _verifies(event, "hub-secret")


# faults, throttling, reset -------------------------------------------------------------


def test_faults_answer_wordpress_error_bodies(woo: WooCommerceSimulator) -> None:
    woo.inject("listOrders", 500)
    woo.inject("*", 503)
    with api(woo) as client:
        failed = client.get("/orders")
        unavailable = client.get("/products")
        fine = client.get("/orders")
    assert (failed.status_code, failed.json()["code"]) == (500, "internal_server_error")
    assert failed.json()["data"] == {"status": 500}
    assert (unavailable.status_code, unavailable.json()["data"]["status"]) == (503, 503)
    assert fine.status_code == 200
    assert [entry["status"] for entry in woo.requests()] == [500, 503, 200]


def test_the_rate_limit_refills_on_the_simulator_clock(woo: WooCommerceSimulator) -> None:
    woo.set_rate_limit(rate=1.0, burst=2)
    with api(woo) as client:
        statuses = [client.get("/products").status_code for _ in range(3)]
        refused = client.get("/products")
        clock(woo).advance(timedelta(seconds=1))
        again = client.get("/products")
    assert statuses == [200, 200, 429]
    assert refused.json()["code"] == "rate_limit_exceeded"
    assert float(refused.headers["retry-after"]) == pytest.approx(1.0)
    assert again.status_code == 200


def test_reset_forgets_everything(woo: WooCommerceSimulator, receiver: Receiver) -> None:
    woo.send_webhooks_to(receiver.url)
    woo.buy("MUG")
    assert woo.wait_for_deliveries(10)
    with api(woo) as client:
        client.get("/orders")
    woo.reset()
    assert (woo.orders(), woo.stock(), woo.deliveries(), woo.requests()) == ([], {}, [], [])
    assert woo.snapshot()["webhooks"] == []


# control routes ------------------------------------------------------------------------


def test_the_control_desk_orders_ships_and_cancels(woo: WooCommerceSimulator) -> None:
    woo.shipment_tracking = True
    control = woo.url + "/_control"
    assert httpx.get(control + "/kind").json()["type"] == "woocommerce"
    placed = httpx.post(control + "/orders", json={"lines": [{"sku": "MUG", "quantity": 2}]})
    order_id = placed.json()["order"]["order_id"]
    shipped = httpx.post(control + "/ship", json={"order_id": order_id, "tracking_number": "1Z1"})
    refused = httpx.post(control + "/cancel", json={"order_id": "99999"})
    too_many = httpx.post(control + "/orders", json={"lines": [{"sku": "MUG", "quantity": 9}]})
    assert placed.status_code == 201
    assert shipped.json()["order"]["status"] == "completed"
    assert shipped.json()["order"]["tracking_number"] == "1Z1"
    assert httpx.get(control + "/stock").json() == {"stock": {"MUG": 3}}
    assert refused.status_code == 404
    assert too_many.status_code == 409
    assert httpx.get(woo.url + "/_simulator/health").json()["type"] == "woocommerce"
