"""The WooCommerce connector against a mocked shop: settings, orders and their paging,
listings, stock and the error mapping."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from omnisync.connectors.base import AuthError, PermanentError, RateLimited, TransientError
from omnisync.connectors.pagination import RepeatedPageToken
from omnisync.connectors.woocommerce.connector import WooCommerceConnector
from omnisync.connectors.woocommerce.paging import RepeatedPage
from omnisync.connectors.woocommerce.settings import SHOP_BUCKET, WooCommerceSettings
from omnisync.core.dto import StockUpdate
from omnisync.sandbox.reference import woocommerce_example

URL = "https://shop.test"
REST = "/wp-json/wc/v3"
KEY = "ck_unit0123456789abcdef0123456789abcdef"
SECRET = "cs_unit0123456789abcdef0123456789abcdef"
SETTINGS: dict[str, Any] = {"url": URL, "consumer_key": KEY, "consumer_secret": SECRET}


def connector(**changes: Any) -> WooCommerceConnector:
    return WooCommerceConnector(WooCommerceSettings.model_validate({**SETTINGS, **changes}))


@pytest.fixture
def shop() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        yield mock


def an_order(
    order_id: int, modified: str = "2026-03-01T10:00:00", **changes: Any
) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(woocommerce_example("orders--retrieve-an-order--1"))
    order.update(id=order_id, number=str(order_id), date_modified_gmt=modified, **changes)
    return order


def page(orders: list[Any], total_pages: int) -> httpx.Response:
    return httpx.Response(
        200, json=orders, headers={"X-WP-Total": "99", "X-WP-TotalPages": str(total_pages)}
    )


# settings ------------------------------------------------------------------------------


def test_the_shop_url_must_be_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        WooCommerceSettings.model_validate({**SETTINGS, "url": "http://shop.example.com"})


def test_plain_http_is_fine_to_a_loopback_simulator() -> None:
    settings = WooCommerceSettings.model_validate({**SETTINGS, "url": "http://127.0.0.1:8799"})
    assert settings.api_base() == "http://127.0.0.1:8799"


def test_the_secrets_never_show_in_the_settings_repr() -> None:
    settings = WooCommerceSettings.model_validate({**SETTINGS, "webhook_secret": "whsec-unit-77"})
    shown = f"{settings!r} {settings}"
    assert KEY not in shown
    assert SECRET not in shown
    assert "whsec-unit-77" not in shown


def test_the_hub_throttles_the_whole_shop_to_one_gentle_rate() -> None:
    limits = WooCommerceConnector.limits_for(WooCommerceSettings.model_validate(SETTINGS))
    assert {name: (limit.per_second, limit.burst) for name, limit in limits.items()} == {
        SHOP_BUCKET: (5.0, 10)
    }
    raised = WooCommerceSettings.model_validate(
        {**SETTINGS, "requests_per_second": 20, "burst": 40}
    )
    assert WooCommerceConnector.limits_for(raised)[SHOP_BUCKET].per_second == 20


def test_page_size_is_one_to_a_hundred() -> None:
    with pytest.raises(ValidationError):
        WooCommerceSettings.model_validate({**SETTINGS, "page_size": 101})


# orders --------------------------------------------------------------------------------


def test_orders_are_asked_by_modification_in_utc_oldest_first(shop: respx.MockRouter) -> None:
    route = shop.get(f"{REST}/orders").mock(return_value=page([an_order(1)], 1))
    since = datetime(2026, 3, 1, 11, 0, tzinfo=UTC).astimezone()
    (result,) = list(connector().fetch_orders(since))
    params = route.calls.last.request.url.params
    assert params["modified_after"] == "2026-03-01T11:00:00"
    assert (params["dates_are_gmt"], params["orderby"], params["order"]) == (
        "true",
        "modified",
        "asc",
    )
    assert (params["per_page"], params["page"]) == ("100", "1")
    assert route.calls.last.request.headers["Authorization"].startswith("Basic ")
    assert result.cursor == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_three_pages_are_read_by_the_total_pages_header(shop: respx.MockRouter) -> None:
    route = shop.get(f"{REST}/orders").mock(
        side_effect=[
            page([an_order(1, "2026-03-01T10:00:00")], 3),
            page([an_order(2, "2026-03-01T10:01:00")], 3),
            page([an_order(3, "2026-03-01T10:02:00")], 3),
        ]
    )
    pages = list(connector().fetch_orders(None))
    assert [p.orders[0].external_id for p in pages] == ["1", "2", "3"]
    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2", "3"]
    assert [p.cursor for p in pages] == [
        datetime(2026, 3, 1, 10, minute, tzinfo=UTC) for minute in range(3)
    ]


def test_a_total_that_shrinks_during_the_walk_ends_it(shop: respx.MockRouter) -> None:
    route = shop.get(f"{REST}/orders").mock(
        side_effect=[page([an_order(1)], 3), page([an_order(2)], 2), page([an_order(3)], 2)]
    )
    assert len(list(connector().fetch_orders(None))) == 2
    assert route.call_count == 2


def test_an_empty_page_beyond_the_end_ends_the_walk(shop: respx.MockRouter) -> None:
    route = shop.get(f"{REST}/orders").mock(side_effect=[page([an_order(1)], 3), page([], 1)])
    pages = list(connector().fetch_orders(None))
    assert [len(p.orders) for p in pages] == [1, 0]
    assert route.call_count == 2


def test_a_page_that_keeps_coming_back_fails_the_walk(shop: respx.MockRouter) -> None:
    # A cache that ignores `page`: the same orders, a total that never ends.
    route = shop.get(f"{REST}/orders").mock(
        side_effect=lambda request: page([an_order(1), an_order(2)], 1000)
    )
    with pytest.raises(RepeatedPage, match="page 2 holds the same items as page 1"):
        list(islice(connector().fetch_orders(None), 10))
    assert route.call_count == 2


def test_a_link_header_names_the_next_page(shop: respx.MockRouter) -> None:
    link = (
        f'<{URL}{REST}/orders?page=2&per_page=100>; rel="next", '
        f'<{URL}{REST}/orders?page=2>; rel="last"'
    )
    route = shop.get(f"{REST}/orders").mock(
        side_effect=[
            httpx.Response(200, json=[an_order(1)], headers={"Link": link}),
            httpx.Response(
                200,
                json=[an_order(2)],
                headers={"Link": f'<{URL}{REST}/orders?page=1>; rel="prev"'},
            ),
        ]
    )
    assert len(list(connector().fetch_orders(None))) == 2
    assert route.calls.last.request.url.params["page"] == "2"


def test_a_repeated_link_fails_the_walk(shop: respx.MockRouter) -> None:
    link = {"Link": f'<{URL}{REST}/orders?page=2>; rel="next"'}
    shop.get(f"{REST}/orders").mock(
        side_effect=lambda request: httpx.Response(200, json=[an_order(1)], headers=link)
    )
    with pytest.raises(RepeatedPageToken):
        list(islice(connector().fetch_orders(None), 10))


def test_one_broken_order_is_quarantined_and_the_page_goes_on(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").mock(
        return_value=page([an_order(1), an_order(2, status="wc-shipped-by-plugin")], 1)
    )
    (result,) = list(connector().fetch_orders(None))
    assert [order.external_id for order in result.orders] == ["1"]
    (rejected,) = result.rejected
    assert rejected.external_id == "2"
    assert "wc-shipped-by-plugin" in rejected.reason
    assert json.loads(rejected.raw)["id"] == 2


def test_checkout_drafts_are_left_out_of_the_page(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").mock(
        return_value=page([an_order(1), an_order(2, status="checkout-draft")], 1)
    )
    (result,) = list(connector().fetch_orders(None))
    assert [order.external_id for order in result.orders] == ["1"]
    assert result.rejected == ()


def test_fetch_order_reads_one(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders/5").respond(json=an_order(5, status="trash"))
    assert connector().fetch_order("5").status.value == "cancelled"


# listings ------------------------------------------------------------------------------


def products() -> list[dict[str, Any]]:
    variable, simple = copy.deepcopy(woocommerce_example("products--list-all-products--1"))
    simple.update(sku="PQ", manage_stock=True, stock_quantity=4)
    grouped = {**copy.deepcopy(simple), "id": 900, "type": "grouped", "sku": "SET"}
    return [variable, simple, grouped]


def test_listings_cover_simple_products_and_each_variation(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/products").mock(return_value=page(products(), 1))
    variations = shop.get(f"{REST}/products/799/variations").mock(
        return_value=page(
            woocommerce_example("product-variations--list-all-product-variations--1"), 1
        )
    )
    listings = list(connector().fetch_listings())
    assert [listing.channel_ids for listing in listings] == [
        {"product_id": 799, "variation_id": 733},
        {"product_id": 799, "variation_id": 732},
        {"product_id": 794},
    ]  # the grouped product has no stock of its own
    assert variations.calls.last.request.url.params["per_page"] == "100"
    assert [listing.key for listing in listings] == [
        "woocommerce:variation:733",
        "woocommerce:variation:732",
        "PQ",
    ]
    assert [listing.untracked_stock is None for listing in listings] == [False, False, True]
    assert listings[2].quantity == 4


# stock ---------------------------------------------------------------------------------


def held(product_id: int, quantity: int | None, manage: Any = True) -> dict[str, Any]:
    return {"id": product_id, "manage_stock": manage, "stock_quantity": quantity}


def update(
    sku: str, quantity: int, product_id: int, last: int | None = None, **ids: int
) -> StockUpdate:
    return StockUpdate(
        channel_sku=sku,
        quantity=quantity,
        channel_ids={"product_id": product_id, **ids},
        last_acknowledged=last,
    )


def echo_batch(request: httpx.Request) -> httpx.Response:
    """The shop's batch answer: every item updated as asked."""
    asked = json.loads(request.content)["update"]
    return httpx.Response(200, json={"update": [{**item, "name": "x"} for item in asked]})


def test_250_updates_take_three_reads_and_three_batch_writes(shop: respx.MockRouter) -> None:
    read = shop.get(f"{REST}/products").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=[held(int(i), 0) for i in request.url.params["include"].split(",")],
        )
    )
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    updates = [update(f"SKU{i}", 5, 1000 + i) for i in range(250)]
    results = connector().push_stock(updates)
    assert (read.call_count, write.call_count) == (3, 3)
    assert [len(json.loads(call.request.content)["update"]) for call in write.calls] == [
        100,
        100,
        50,
    ]
    assert [result.key for result in results] == [u.channel_sku for u in updates]
    assert all(result.ok and result.quantity == 5 for result in results)
    first = json.loads(write.calls[0].request.content)["update"][0]
    assert first == {"id": 1000, "stock_quantity": 5, "manage_stock": True}


def test_an_item_error_fails_only_its_item(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/products").respond(json=[held(1, 0), held(2, 0), held(3, 0), held(4, 0)])
    shop.post(f"{REST}/products/batch").respond(
        json={
            "update": [
                held(1, 5),
                {
                    "id": 2,
                    "error": {
                        "code": "woocommerce_rest_invalid_product_id",
                        "message": "Invalid ID.",
                        "data": {"status": 400},
                    },
                },
                {
                    "id": 3,
                    "error": {
                        "code": "db_error",
                        "message": "Database busy.",
                        "data": {"status": 503},
                    },
                },
            ]
        }
    )
    results = connector().push_stock(
        [update("A", 5, 1), update("B", 5, 2), update("C", 5, 3), update("D", 5, 4)]
    )
    assert [r.ok for r in results] == [True, False, False, False]
    assert results[1].error == "woocommerce_rest_invalid_product_id: Invalid ID."
    assert [r.retriable for r in results[1:]] == [False, True, True]  # D: not in the answer


def test_a_product_gone_or_unmanaged_is_never_written(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/products").respond(json=[held(2, 4, manage=False)])
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    gone, unmanaged = connector().push_stock([update("A", 5, 1), update("B", 5, 2)])
    assert not gone.ok
    assert not gone.retriable
    assert "no product 1" in (gone.error or "")
    assert not unmanaged.ok
    assert not unmanaged.retriable
    assert "stock management is off" in (unmanaged.error or "")
    assert write.call_count == 0


def test_rule_c_a_shop_holding_the_target_is_not_written(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/products").respond(json=[held(1, 5)])
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    (result,) = connector().push_stock([update("A", 5, 1, last=7)])
    assert (result.ok, result.quantity) == (True, 5)
    assert write.call_count == 0


def written(route: respx.Route) -> list[int]:
    return [
        item["stock_quantity"] for item in json.loads(route.calls.last.request.content)["update"]
    ]


def test_rule_d_a_sale_the_hub_has_not_taken_in_is_not_given_back(shop: respx.MockRouter) -> None:
    # We pushed 10; the shop sold 2 (holds 8); the hub, not knowing that order yet,
    # restocked 5 and wants 15. Writing 15 would give back the 2 sold: 13 is written.
    shop.get(f"{REST}/products").respond(json=[held(1, 8)])
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    (result,) = connector().push_stock([update("A", 15, 1, last=10)])
    assert written(write) == [13]
    assert (result.ok, result.quantity) == (True, 13)
    # The order reaches the hub: it wants 13, which the shop holds.
    shop.get(f"{REST}/products").respond(json=[held(1, 13)])
    (again,) = connector().push_stock([update("A", 13, 1, last=13)])
    assert (again.ok, again.quantity) == (True, 13)
    assert write.call_count == 1


def test_rule_d_a_sale_already_in_the_hub_is_squared_by_the_next_push(
    shop: respx.MockRouter,
) -> None:
    # The hub took the order in (10 - 2) and restocked 5: it wants 13. The shop holds
    # 8 of the 10 acknowledged: 11 is written (the cautious figure)...
    shop.get(f"{REST}/products").respond(json=[held(1, 8)])
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    (result,) = connector().push_stock([update("A", 13, 1, last=10)])
    assert (result.quantity, written(write)) == (11, [11])
    # ...and reconcile, pushing 13 with 11 acknowledged, writes the target.
    shop.get(f"{REST}/products").respond(json=[held(1, 11)])
    (again,) = connector().push_stock([update("A", 13, 1, last=11)])
    assert (again.quantity, written(write)) == (13, [13])


def test_a_lower_target_is_written_as_is(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/products").respond(json=[held(1, 8)])
    write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    connector().push_stock([update("A", 3, 1, last=10)])
    assert written(write) == [3]


def test_variations_are_read_and_written_per_parent(shop: respx.MockRouter) -> None:
    products_read = shop.get(f"{REST}/products").respond(json=[held(1, 0)])
    variations_read = shop.get(f"{REST}/products/50/variations").respond(
        json=[held(51, 0), held(52, 1)]
    )
    products_write = shop.post(f"{REST}/products/batch").mock(side_effect=echo_batch)
    variations_write = shop.post(f"{REST}/products/50/variations/batch").mock(
        side_effect=echo_batch
    )
    results = connector().push_stock(
        [
            update("V1", 2, 50, variation_id=51),
            update("S", 3, 1),
            update("V2", 4, 50, variation_id=52),
        ]
    )
    assert [(r.key, r.ok, r.quantity) for r in results] == [
        ("V1", True, 2),
        ("S", True, 3),
        ("V2", True, 4),
    ]
    assert variations_read.calls.last.request.url.params["include"] == "51,52"
    assert products_read.calls.last.request.url.params["include"] == "1"
    assert (products_write.call_count, variations_write.call_count) == (1, 1)
    assert written(variations_write) == [2, 4]


def test_an_update_without_ids_fails_alone(shop: respx.MockRouter) -> None:
    (result,) = connector().push_stock([StockUpdate(channel_sku="X", quantity=1)])
    assert not result.ok
    assert "product_id" in (result.error or "")


# errors --------------------------------------------------------------------------------


def error_body(code: str, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, PermanentError),
        (400, PermanentError),
        (500, TransientError),
        (502, TransientError),
    ],
)
def test_error_answers_map_to_connector_errors(
    shop: respx.MockRouter, status: int, expected: type[Exception]
) -> None:
    shop.get(f"{REST}/orders").respond(
        status,
        json=error_body(
            "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", status
        ),
    )
    with pytest.raises(expected) as raised:
        list(connector().fetch_orders(None))
    text = str(raised.value)
    assert "woocommerce_rest_cannot_view: Sorry, you cannot list resources." in text
    assert KEY not in text
    assert SECRET not in text


def test_an_auth_refusal_says_what_to_check(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").respond(
        401, json=error_body("woocommerce_rest_cannot_view", "no", 401)
    )
    with pytest.raises(AuthError, match="consumer key"):
        list(connector().fetch_orders(None))


def test_a_throttled_call_waits_as_told(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").respond(429, headers={"Retry-After": "7"}, json={})
    with pytest.raises(RateLimited) as raised:
        list(connector().fetch_orders(None))
    assert raised.value.retry_after == 7.0


def test_a_secret_echoed_by_the_shop_is_masked(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").respond(400, json=error_body("bad", f"unknown key {KEY}", 400))
    with pytest.raises(PermanentError) as raised:
        list(connector().fetch_orders(None))
    assert KEY not in str(raised.value)


def test_a_body_that_is_not_json_is_transient(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").respond(200, text="<html>maintenance</html>")
    with pytest.raises(TransientError):
        list(connector().fetch_orders(None))


def test_check_reads_one_order_and_one_product(shop: respx.MockRouter) -> None:
    orders = shop.get(f"{REST}/orders").respond(json=[])
    shop.get(f"{REST}/products").respond(
        403, json=error_body("woocommerce_rest_cannot_view", "no", 403)
    )
    problems = connector(webhook_secret="whsec-unit-77").check()
    assert orders.calls.last.request.url.params["per_page"] == "1"
    assert len(problems) == 1
    assert problems[0].startswith("products.list: AuthError")


def test_check_says_when_webhooks_are_off(shop: respx.MockRouter) -> None:
    shop.get(f"{REST}/orders").respond(json=[])
    shop.get(f"{REST}/products").respond(json=[])
    assert [p.split(":")[0] for p in connector().check()] == ["webhook_secret"]
