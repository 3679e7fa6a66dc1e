"""Shipments to WooCommerce: a note per shipment (once), the Shipment Tracking item when
asked for, and the order completed once every unit has shipped."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from omnisync.connectors.base import PermanentError, TransientError
from omnisync.connectors.woocommerce.connector import WooCommerceConnector
from omnisync.connectors.woocommerce.fulfilment import note_text
from omnisync.connectors.woocommerce.settings import WooCommerceSettings
from omnisync.core.dto import Fulfilment, FulfilmentLine
from omnisync.sandbox.reference import woocommerce_example

URL = "https://shop.test"
REST = "/wp-json/wc/v3"
TRACKING = "/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings"
SETTINGS: dict[str, Any] = {
    "url": URL,
    "consumer_key": "ck_fulfil0123456789abcdef",
    "consumer_secret": "cs_fulfil0123456789abcdef",
}


def connector(**changes: Any) -> WooCommerceConnector:
    return WooCommerceConnector(WooCommerceSettings.model_validate({**SETTINGS, **changes}))


def shipment(
    key: str = "omnisync-shipment-1",
    lines: tuple[tuple[str, int], ...] = (("315", 2), ("316", 1)),
    **changes: Any,
) -> Fulfilment:
    values: dict[str, Any] = {
        "order_external_id": "727",
        "lines": tuple(FulfilmentLine(external_line_id=line, quantity=q) for line, q in lines),
        "carrier": "DHL",
        "service": "Express",
        "tracking_number": "00340434292135100186",
        "tracking_url": "https://www.dhl.com/track?n=00340434292135100186",
        "idempotency_key": key,
        **changes,
    }
    return Fulfilment(**values)


def the_order(status: str = "processing") -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(woocommerce_example("orders--retrieve-an-order--1"))
    order["status"] = status  # lines 315 (2 units) and 316 (1 unit)
    return order


@pytest.fixture
def shop() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        yield mock


class Notes:
    """The order's notes as the shop keeps them: listed, and added to by POST."""

    def __init__(self, shop: respx.MockRouter, *existing: str) -> None:
        self.notes: list[dict[str, Any]] = [
            {"id": i, "note": text} for i, text in enumerate(existing)
        ]
        shop.get(f"{REST}/orders/727/notes").mock(
            side_effect=lambda r: httpx.Response(200, json=self.notes)
        )
        self.added = shop.post(f"{REST}/orders/727/notes").mock(side_effect=self.add)

    def add(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.notes.append({"id": len(self.notes), **body})
        return httpx.Response(201, json=self.notes[-1])


def test_the_shipment_is_a_note_and_completes_a_fully_shipped_order(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    notes = Notes(shop)
    completed = shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    result = connector().push_fulfilment(shipment())
    assert (result.key, result.ok) == ("727", True)
    sent = json.loads(notes.added.calls.last.request.content)
    assert sent == {
        "note": "Shipped with DHL Express: tracking 00340434292135100186 "
        "https://www.dhl.com/track?n=00340434292135100186 "
        "[omnisync:omnisync-shipment-1; lines 315x2,316x1]",
        "customer_note": False,
    }
    assert json.loads(completed.calls.last.request.content) == {"status": "completed"}


def test_a_retried_push_adds_no_second_note(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order("completed"))
    notes = Notes(shop, note_text(shipment()))
    completed = shop.put(f"{REST}/orders/727")
    assert connector().push_fulfilment(shipment()).ok
    assert notes.added.call_count == 0
    assert completed.call_count == 0  # completed already


def test_a_note_whose_answer_was_lost_is_not_posted_again(shop: respx.MockRouter) -> None:
    # The engine's retry of the note: the first POST landed, its answer did not.
    class Retrying:
        def call(self, operation: str, request: Any) -> Any:
            for _ in range(3):
                try:
                    return request()
                except TransientError:
                    continue
            raise AssertionError("no attempt succeeded")

        def observe_limit(self, operation: str, per_second: float) -> None: ...

        def pause(self, seconds: float) -> None: ...

    shop.get(f"{REST}/orders/727").respond(json=the_order())
    notes = Notes(shop)

    def land_then_fail(request: httpx.Request) -> httpx.Response:
        notes.add(request)
        return httpx.Response(502, text="bad gateway")

    notes.added.side_effect = land_then_fail
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    settings = WooCommerceSettings.model_validate(SETTINGS)
    assert WooCommerceConnector(settings, calls=Retrying()).push_fulfilment(shipment()).ok
    assert notes.added.call_count == 1
    assert len(notes.notes) == 1


def test_a_partial_shipment_leaves_the_status(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    notes = Notes(shop)
    completed = shop.put(f"{REST}/orders/727")
    assert connector().push_fulfilment(shipment(lines=(("315", 1),))).ok
    assert notes.added.call_count == 1
    assert completed.call_count == 0
    # the rest ships later: the notes now cover every unit
    second = shipment(key="omnisync-shipment-2", lines=(("315", 1), ("316", 1)))
    completed.respond(json=the_order("completed"))
    assert connector().push_fulfilment(second).ok
    assert completed.call_count == 1


def test_customer_note_makes_the_note_the_customers(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    notes = Notes(shop)
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    connector(customer_note=True).push_fulfilment(shipment())
    assert json.loads(notes.added.calls.last.request.content)["customer_note"] is True
    connector(customer_note=True).push_fulfilment(shipment(key="k2", notify_customer=False))
    assert json.loads(notes.added.calls.last.request.content)["customer_note"] is False


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_a_cancelled_or_refunded_order_is_refused_in_woocommerces_words(
    shop: respx.MockRouter, status: str
) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order(status))
    notes = Notes(shop)
    result = connector().push_fulfilment(shipment())
    assert not result.ok
    assert f"is {status}" in (result.error or "")
    assert notes.added.call_count == 0


def test_an_unknown_order_is_refused(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(
        404,
        json={
            "code": "woocommerce_rest_shop_order_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 404},
        },
    )
    result = connector().push_fulfilment(shipment())
    assert not result.ok
    assert "does not know" in (result.error or "")


def test_without_the_extension_no_tracking_item_is_sent(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    Notes(shop)
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    tracking = shop.route(path=TRACKING)
    assert connector().push_fulfilment(shipment()).ok
    assert tracking.call_count == 0


def test_with_the_extension_the_tracking_item_is_added_once(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    Notes(shop)
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    shop.get(TRACKING).respond(json=[])
    created = shop.post(TRACKING).respond(201, json={"tracking_id": "abc"})
    assert connector(shipment_tracking=True).push_fulfilment(shipment()).ok
    body = json.loads(created.calls.last.request.content)
    assert body["custom_tracking_provider"] == "DHL"
    assert body["custom_tracking_link"] == "https://www.dhl.com/track?n=00340434292135100186"
    assert body["tracking_number"] == "00340434292135100186"
    assert len(body["date_shipped"]) == 10  # YYYY-MM-DD
    assert "tracking_provider" not in body


def test_a_known_provider_without_a_link_is_named_as_the_extensions(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    Notes(shop)
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    shop.get(TRACKING).respond(json=[{"tracking_number": "other"}])
    created = shop.post(TRACKING).respond(201, json={})
    connector(shipment_tracking=True).push_fulfilment(shipment(carrier="USPS", tracking_url=None))
    body = json.loads(created.calls.last.request.content)
    assert body["tracking_provider"] == "USPS"
    assert "custom_tracking_link" not in body


def test_a_tracking_item_already_there_is_not_added_again(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    Notes(shop)
    shop.put(f"{REST}/orders/727").respond(json=the_order("completed"))
    shop.get(TRACKING).respond(json=[{"tracking_number": "00340434292135100186"}])
    created = shop.post(TRACKING)
    assert connector(shipment_tracking=True).push_fulfilment(shipment()).ok
    assert created.call_count == 0


def test_the_extension_missing_says_what_to_do(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/727").respond(json=the_order())
    notes = Notes(shop)
    shop.get(TRACKING).respond(
        404,
        json={"code": "rest_no_route", "message": "No route was found.", "data": {"status": 404}},
    )
    with pytest.raises(PermanentError, match="shipment_tracking: false"):
        connector(shipment_tracking=True).push_fulfilment(shipment())
    assert notes.added.call_count == 0
