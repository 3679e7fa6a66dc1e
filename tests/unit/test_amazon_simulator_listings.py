"""The Amazon simulator's Listings Items API 2021-08-01 over real HTTP: search, get,
patch (ACCEPTED / INVALID / VALIDATION_PREVIEW), sandbox cases and the 5/s limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.http import AmazonSimulatorError
from omnisync.sandbox.clock import ManualClock
from tests.support.amazon_sp_api import seller_api_fixture

US = "ATVPDKIKX0DER"
SELLER = "A2TESTSELLER"
ITEMS = f"/listings/2021-08-01/items/{SELLER}"


@pytest.fixture(scope="module")
def running() -> Iterator[AmazonSimulator]:
    with AmazonSimulator(name="amazon-listings", seller_id=SELLER, rate_scale=1000) as sim:
        yield sim


@pytest.fixture
def sim(running: AmazonSimulator) -> AmazonSimulator:
    running.reset()
    running.add_listings(
        [
            {"sku": f"SKU-{n}", "quantity": n, "productType": "LUGGAGE", "asin": f"B0000000{n}"}
            for n in range(5)
        ]
    )
    return running


api = seller_api_fixture()


def quantity_patch(quantity: Any, code: str = "DEFAULT") -> list[dict[str, Any]]:
    return [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": code, "quantity": quantity}],
        }
    ]


def patch(api: httpx.Client, sku: str, body: dict[str, Any], **params: Any) -> httpx.Response:
    params.setdefault("marketplaceIds", US)
    return api.patch(f"{ITEMS}/{sku}", params=params, json=body)


# search -------------------------------------------------------------------------------


def test_search_pages_through_every_listing(api):
    seen: list[str] = []
    params: dict[str, Any] = {
        "marketplaceIds": US,
        "pageSize": 2,
        "includedData": "summaries,attributes,issues",
        "sortBy": "sku",
        "sortOrder": "ASC",
    }
    while True:
        body = api.get(ITEMS, params=params).json()
        assert body["numberOfResults"] == 5
        assert len(body["items"]) <= 2
        for item in body["items"]:
            [summary] = item["summaries"]
            assert summary["marketplaceId"] == US
            assert summary["productType"] == "LUGGAGE"
            assert summary["asin"] == "B0000000" + item["sku"][-1]
            assert {"createdDate", "lastUpdatedDate", "status"} <= set(summary)
            quantity = int(item["sku"][-1])
            assert summary["status"] == (
                ["BUYABLE", "DISCOVERABLE"] if quantity else ["DISCOVERABLE"]
            )
            assert item["attributes"]["fulfillment_availability"] == [
                {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}
            ]
            assert item["issues"] == []
        seen.extend(item["sku"] for item in body["items"])
        token = body.get("pagination", {}).get("nextToken")
        if token is None:
            break
        params["pageToken"] = token
    assert seen == [f"SKU-{n}" for n in range(5)]


def test_search_defaults_to_summaries_and_filters_by_sku(api):
    body = api.get(
        ITEMS, params={"marketplaceIds": US, "identifiers": "SKU-1,SKU-3", "identifiersType": "SKU"}
    ).json()
    assert sorted(item["sku"] for item in body["items"]) == ["SKU-1", "SKU-3"]
    assert all(set(item) == {"sku", "summaries"} for item in body["items"])
    assert "pagination" not in body


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        (ITEMS, {"marketplaceIds": US, "pageSize": 21}, "pageSize"),
        (ITEMS, {}, "marketplaceIds"),
        (ITEMS, {"marketplaceIds": "A1F83G8C2ARO7P"}, "combination"),
        ("/listings/2021-08-01/items/SOMEONE-ELSE", {"marketplaceIds": US}, "combination"),
        (ITEMS, {"marketplaceIds": US, "includedData": "secrets"}, "includedData"),
        (ITEMS, {"marketplaceIds": US, "pageToken": "nope"}, "pageToken"),
    ],
)
def test_search_refusals(api, path, params, words):
    answer = api.get(path, params=params)
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert words in error["message"]


def test_search_sandbox_case(api):
    params = {
        "identifiersType": "SKU",
        "identifiers": "GM-ZDPI-9B4E,HW-ZDPI-9B4E,TC-ZDPI-9B4E",
        "marketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2",
        "includedData": "summaries,offers,fulfillmentAvailability,issues",
        "pageSize": 1,
    }
    body = api.get(ITEMS, params=params).json()
    assert body["numberOfResults"] == 3
    assert body["items"][0]["sku"] == "GM-ZDPI-9B4E"
    assert body["items"][0]["fulfillmentAvailability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 100}
    ]


def test_get_listings_item(api):
    found = api.get(
        f"{ITEMS}/SKU-2", params={"marketplaceIds": US, "includedData": "fulfillmentAvailability"}
    )
    assert found.json() == {
        "sku": "SKU-2",
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 2}],
    }
    missing = api.get(f"{ITEMS}/NOPE", params={"marketplaceIds": US})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"


def test_a_barcode_is_served_as_externally_assigned_product_identifier(sim, api):
    sim.add_listings(
        [
            {"sku": "EAN-1", "quantity": 1, "barcode": "4006381333931"},
            {"sku": "UPC-1", "quantity": 1, "barcode": "036000291452", "barcode_type": "upc"},
        ]
    )
    params = {"marketplaceIds": US, "includedData": "summaries,attributes"}
    found = {item["sku"]: item for item in api.get(ITEMS, params=params).json()["items"]}
    assert found["EAN-1"]["attributes"]["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": "4006381333931", "marketplace_id": US}
    ]
    assert found["UPC-1"]["attributes"]["externally_assigned_product_identifier"] == [
        {"type": "upc", "value": "036000291452", "marketplace_id": US}
    ]
    assert "externally_assigned_product_identifier" not in found["SKU-1"]["attributes"]
    one = api.get(f"{ITEMS}/EAN-1", params=params).json()
    assert one["attributes"]["externally_assigned_product_identifier"][0]["value"] == (
        "4006381333931"
    )
    summaries_only = api.get(f"{ITEMS}/EAN-1", params={"marketplaceIds": US}).json()
    assert "attributes" not in summaries_only


@pytest.mark.parametrize(
    "given",
    [
        {"barcode": ""},
        {"barcode": 4006381333931},
        {"barcode": "4006381333931", "barcode_type": "x"},
    ],
)
def test_a_bad_barcode_or_barcode_type_is_refused(sim, given):
    with pytest.raises(AmazonSimulatorError, match="barcode"):
        sim.add_listings([{"sku": "BAD", **given}])


# patch --------------------------------------------------------------------------------


def test_patch_sets_the_quantity(sim, api):
    answer = patch(api, "SKU-1", {"productType": "LUGGAGE", "patches": quantity_patch(42)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["sku"] == "SKU-1"
    assert body["status"] == "ACCEPTED"
    assert body["issues"] == []
    assert len(body["submissionId"]) >= 16
    assert sim.quantity("SKU-1") == 42
    [logged] = sim.listing_patches()
    assert logged["status"] == "ACCEPTED"
    assert logged["patches"] == quantity_patch(42)
    assert answer.headers["x-amzn-RateLimit-Limit"] == "5000.0"


@pytest.mark.parametrize(
    ("sku", "body", "code"),
    [
        ("NEW-SKU", {"productType": "LUGGAGE", "patches": quantity_patch(1)}, "NOT_FOUND"),
        ("SKU-1", {"productType": "SHOES", "patches": quantity_patch(1)}, "PRODUCT_TYPE_MISMATCH"),
        ("SKU-1", {"productType": "LUGGAGE", "patches": quantity_patch(-1)}, "4000001"),
        ("SKU-1", {"productType": "LUGGAGE", "patches": quantity_patch(2.5)}, "4000001"),
        ("SKU-1", {"productType": "LUGGAGE", "patches": quantity_patch(None)}, "90220"),
        (
            "SKU-1",
            {
                "productType": "LUGGAGE",
                "patches": [{"op": "replace", "path": "/attributes/a/b", "value": [{}]}],
            },
            "90000900",
        ),
    ],
)
def test_invalid_patches_change_nothing(sim, api, sku, body, code):
    answer = patch(api, sku, body)
    assert answer.status_code == 200
    result = answer.json()
    assert result["status"] == "INVALID"
    assert [issue["code"] for issue in result["issues"]] == [code]
    issue = result["issues"][0]
    assert issue["severity"] == "ERROR"
    assert issue["message"]
    assert isinstance(issue["categories"], list)
    assert sim.quantity("SKU-1") == 1


def test_validation_preview_never_applies(sim, api):
    body = {"productType": "LUGGAGE", "patches": quantity_patch(9)}
    answer = patch(api, "SKU-3", body, mode="VALIDATION_PREVIEW", includedData="identifiers,issues")
    assert answer.json()["status"] == "VALID"
    assert answer.json()["identifiers"] == [{"marketplaceId": US, "asin": "B00000003"}]
    assert sim.quantity("SKU-3") == 3


@pytest.mark.parametrize(
    "body",
    [
        {"patches": quantity_patch(1)},
        {"productType": "LUGGAGE"},
        {"productType": "LUGGAGE", "patches": []},
        {"productType": "LUGGAGE", "patches": [{"op": "upsert", "path": "/attributes/x"}]},
        {"productType": "LUGGAGE", "patches": [{"op": "replace", "path": "/attributes/x"}]},
    ],
)
def test_malformed_patch_bodies_are_400(api, body):
    answer = patch(api, "SKU-1", body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"


def test_patch_sandbox_cases(api):
    bad = patch(api, "BadSKU", {"productType": "LUGGAGE", "patches": quantity_patch(1)})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "BAD_REQUEST"
    valid = patch(
        api,
        "VALIDATION_INVALID",
        {"productType": "LUGGAGE", "patches": quantity_patch(1)},
        mode="VALIDATION_PREVIEW",
        includedData="identifiers,issues",
    )
    assert valid.json()["status"] == "INVALID"
    assert valid.json()["issues"][0]["code"] == "90000900"


def test_patch_limit_is_five_a_second_burst_five():
    # On a clock only the test moves, the six calls land in the same instant, however
    # slowly a loaded machine sends them (in real time, 0.2 s would bring a token back).
    # In-process: the limit is the point, not the network.
    clock = ManualClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    sim = AmazonSimulator(name="amazon-listings-limit", seller_id=SELLER, clock=clock)
    sim.add_listings([{"sku": "A", "quantity": 1, "productType": "LUGGAGE"}])
    headers = {"x-amz-access-token": sim.access_token()}
    body = {"productType": "LUGGAGE", "patches": quantity_patch(3)}
    with TestClient(sim.app, headers=headers) as client:
        codes = [patch(client, "A", body).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert sim.traffic()["responses_429"] == 1
