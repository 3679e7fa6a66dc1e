"""The WooCommerce simulator answers with the keys and JSON types of WooCommerce's own
documented response bodies (sandbox/reference/woocommerce/examples), one case per
example file, over real HTTP.

How shapes are compared (:func:`shape_differences`): a dict must have exactly the
example's keys (plus :data:`ADDED_KEYS`, fields WooCommerce added after the examples were
written); a list's items are each compared with the example list's first item (an empty
list on either side says nothing more); scalars must be of the same JSON type (int,
float, str, bool, null) with two allowances: null is accepted where the example has null
*or* a value (WooCommerce leaves many fields null: ``date_completed``, a variation's
``image``), and where the example has a number, int and float are both accepted (PHP's
``json_encode`` prints a whole float as ``3``: the example's line ``price`` is ``3`` and
``12``, a real one is ``9.99``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import httpx
import pytest

from omnisync.sandbox.reference import woocommerce_example, woocommerce_example_names
from omnisync.sandbox.woocommerce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    WooCommerceSimulator,
)

API: Final = "/wp-json/wc/v3"
ADDED_KEYS: Final = frozenset({"global_unique_id"})
"""Keys newer WooCommerce answers with that the examples predate (9.2's GTIN field)."""
NOT_SERVED: Final = {
    "order-refunds--create-a-refund--1": "refunds are not simulated",
    "order-refunds--delete-a-refund--1": "refunds are not simulated",
    "order-refunds--list-all-refunds--1": "refunds are not simulated",
    "order-refunds--retrieve-a-refund--1": "refunds are not simulated",
    "orders--batch-update-orders--1": "orders are not batched (the hub never does)",
    "orders--create-an-order--1": "orders are placed by buyers (control), not the API",
    "orders--delete-an-order--1": "orders are not deleted through the API",
    "product-variations--create-a-product-variation--1": "variations are created by batch only",
    "product-variations--delete-a-product-variation--1": "variations are deleted by batch only",
    "products--create-a-product--1": "products are created by batch only",
    "products--create-a-product--2": "products are created by batch only",
    "products--delete-a-product--1": "products are deleted by batch only",
    "webhooks--batch-update-webhooks--1": "webhooks are not batched",
    "webhooks--delete-a-webhook--1": "webhooks are not deleted through the API",
    "webhooks--update-a-webhook--1": "webhooks are not updated through the API",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_differences(answer: Any, example: Any, where: str = "$") -> list[str]:
    """How ``answer``'s shape differs from ``example``'s (empty: the same)."""
    if answer is None:
        return []
    if isinstance(example, dict):
        if not isinstance(answer, dict):
            return [f"{where}: {_json_type(answer)}, not an object"]
        missing = sorted(set(example) - set(answer))
        extra = sorted(set(answer) - set(example) - ADDED_KEYS)
        found = [f"{where}: missing {missing}" for _ in [1] if missing]
        found += [f"{where}: extra {extra}" for _ in [1] if extra]
        for key in sorted(set(example) & set(answer)):
            found += shape_differences(answer[key], example[key], f"{where}.{key}")
        return found
    if isinstance(example, list):
        if not isinstance(answer, list):
            return [f"{where}: {_json_type(answer)}, not a list"]
        if not example:
            return []
        return [
            difference
            for index, item in enumerate(answer)
            for difference in shape_differences(item, example[0], f"{where}[{index}]")
        ]
    if example is None:
        return []
    if _json_type(answer) != _json_type(example) or (
        isinstance(example, int | float) != isinstance(answer, int | float)
    ):
        return [f"{where}: {_json_type(answer)}, the example has {_json_type(example)}"]
    if _json_type(example) == "number":
        return []
    if type(answer) is not type(example):
        return [f"{where}: {type(answer).__name__}, the example has {type(example).__name__}"]
    return []


def test_the_comparison_tells_shapes_apart() -> None:
    example = {"a": 1, "b": [{"c": "x"}], "d": None, "e": {"f": True}}
    assert shape_differences({"a": 2.5, "b": [], "d": "set", "e": {"f": False}}, example) == []
    assert shape_differences({"a": "1", "b": [{"c": "y"}], "d": None, "e": {"f": 1}}, example) == [
        "$.a: str, the example has number",
        "$.e.f: number, the example has bool",
    ]
    assert shape_differences({"a": 1, "b": [{"c": 3}], "e": {}}, example) == [
        "$: missing ['d']",
        "$.b[0].c: number, the example has str",
        "$.e: missing ['f']",
    ]


@pytest.fixture(scope="module")
def shop() -> Iterator[WooCommerceSimulator]:
    with WooCommerceSimulator(name="woo-shapes") as simulator:
        simulator.seed_products(
            [
                {"sku": "MUG", "name": "Mug", "stock_quantity": 5, "price": "9.99"},
                {"sku": "OLD", "name": "Discontinued"},
            ]
        )
        simulator.seed_variable_product(
            {
                "name": "Tee",
                "variations": [
                    {"sku": "TEE-S", "stock_quantity": 3, "option": "S"},
                    {"sku": "TEE-M", "stock_quantity": 2, "option": "M", "price": "12.50"},
                    {"sku": "TEE-XL", "stock_quantity": 0, "option": "XL"},
                ],
            }
        )
        simulator.place_order([("MUG", 1), ("TEE-M", 2)])
        simulator.buy("TEE-S", status="completed")
        # paused: listed and retrievable whichever case runs first, never delivering
        simulator.new_webhook("order.created", "http://127.0.0.1:9/", None, status="paused")
        yield simulator


@pytest.fixture(scope="module")
def ids(shop: WooCommerceSimulator) -> dict[str, int]:
    """The seeded ids, read before any case changes the shop."""
    return _ids(shop)


def _client(shop: WooCommerceSimulator) -> httpx.Client:
    return httpx.Client(
        base_url=shop.url + API, auth=(DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    )


def _ids(shop: WooCommerceSimulator) -> dict[str, int]:
    tee = shop.product("TEE-S")
    return {
        "order": shop.orders()[0]["id"],
        "mug": shop.product("MUG")["id"],
        "tee": int(tee["_links"]["up"][0]["href"].rsplit("/", 1)[1]),
        "tee_s": tee["id"],
        "tee_m": shop.product("TEE-M")["id"],
        "tee_xl": shop.product("TEE-XL")["id"],
        "old": shop.product("OLD")["id"],
    }


Served = Callable[[httpx.Client, dict[str, int], WooCommerceSimulator], httpx.Response]
SERVED: Final[dict[str, Served]] = {
    "orders--list-all-orders--1": lambda c, ids, s: c.get("/orders"),
    "orders--retrieve-an-order--1": lambda c, ids, s: c.get(f"/orders/{ids['order']}"),
    "orders--update-an-order--1": lambda c, ids, s: c.put(
        f"/orders/{ids['order']}", json={"status": "completed"}
    ),
    "products--list-all-products--1": lambda c, ids, s: c.get("/products"),
    "products--retrieve-a-product--1": lambda c, ids, s: c.get(f"/products/{ids['mug']}"),
    "products--update-a-product--1": lambda c, ids, s: c.put(
        f"/products/{ids['mug']}", json={"regular_price": "24.54"}
    ),
    "products--batch-update-products--1": lambda c, ids, s: c.post(
        "/products/batch",
        json={
            "create": [{"name": "Cap", "sku": "CAP", "regular_price": "5.00"}],
            "update": [{"id": ids["tee"], "name": "Tee shirt"}],
            "delete": [ids["old"]],
        },
    ),
    "product-variations--list-all-product-variations--1": lambda c, ids, s: c.get(
        f"/products/{ids['tee']}/variations"
    ),
    "product-variations--retrieve-a-product-variation--1": lambda c, ids, s: c.get(
        f"/products/{ids['tee']}/variations/{ids['tee_s']}"
    ),
    "product-variations--update-a-product-variation--1": lambda c, ids, s: c.put(
        f"/products/{ids['tee']}/variations/{ids['tee_s']}", json={"regular_price": "11.00"}
    ),
    "product-variations--batch-update-product-variations--1": lambda c, ids, s: c.post(
        f"/products/{ids['tee']}/variations/batch",
        json={
            "create": [{"sku": "TEE-L", "regular_price": "13.00", "attributes": [{"option": "L"}]}],
            "update": [{"id": ids["tee_m"], "stock_quantity": 4}],
            "delete": [ids["tee_xl"]],
        },
    ),
    "webhooks--create-a-webhook--1": lambda c, ids, s: c.post(
        "/webhooks",
        json={
            "name": "Order updated",
            "topic": "order.updated",
            "delivery_url": "http://127.0.0.1:9/",
        },
    ),
    "webhooks--list-all-webhooks--1": lambda c, ids, s: c.get("/webhooks"),
    "webhooks--retrieve-a-webhook--1": lambda c, ids, s: c.get(
        f"/webhooks/{c.get('/webhooks').json()[0]['id']}"
    ),
}


def test_every_example_is_either_served_or_skipped_with_a_reason() -> None:
    assert set(woocommerce_example_names()) == set(SERVED) | set(NOT_SERVED)
    assert not set(SERVED) & set(NOT_SERVED)


@pytest.mark.parametrize("example_name", woocommerce_example_names())
def test_the_answer_has_the_shape_of_the_documented_example(
    shop: WooCommerceSimulator, ids: dict[str, int], example_name: str
) -> None:
    if example_name in NOT_SERVED:
        pytest.skip(NOT_SERVED[example_name])
    with _client(shop) as client:
        answer = SERVED[example_name](client, ids, shop)
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    example = woocommerce_example(example_name)
    if isinstance(example, list):
        assert isinstance(body, list)
        assert body, "a listing with something in it"
    if isinstance(example, dict) and set(example) <= {"create", "update", "delete"}:
        assert set(body) == set(example)
        for action in example:
            assert body[action]
            assert all("error" not in item for item in body[action]), body
    assert shape_differences(body, example) == []
