"""The eBay simulator over real HTTP: OAuth grants and refusals, bearer tokens and their
scopes, the Sell Inventory API (paging, offers, bulkUpdatePriceQuantity and its daily cap
of 250 revisions per listing), throttling, and the exchanges it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.ebay import EbaySimulator, EbaySimulatorError
from omnisync.sandbox.registry import simulator_for
from tests.support.ebay import APP_SCOPE, INVENTORY, api, clock_of, token_call
from tests.support.simulators import served_fixtures

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
INVENTORY_SCOPE = f"{APP_SCOPE}/sell.inventory"
READONLY_SCOPE = f"{APP_SCOPE}/sell.inventory.readonly"
SKUS = [f"SKU-{n:02d}" for n in range(1, 31)]


def prepare(simulator: EbaySimulator) -> None:
    clock_of(simulator).set(START)
    simulator.seed_listing("MUG", 10, title="Blue mug", price="12.50", ean="4006381333931")
    simulator.seed_listing("CUP", 4, title="Tea cup", upc=["012345678905"])


served_ebay, ebay = served_fixtures(
    "ebay", lambda: EbaySimulator(name="ebay-test", clock=ManualClock(START)), prepare=prepare
)


def offer_id(simulator: EbaySimulator, sku: str) -> str:
    found: str = simulator.offers(sku)[0]["offerId"]
    return found


def errors_of(response: httpx.Response) -> list[int]:
    return [error["errorId"] for error in response.json()["errors"]]


def bulk(client: httpx.Client, *requests: dict[str, Any]) -> httpx.Response:
    return client.post(f"{INVENTORY}/bulk_update_price_quantity", json={"requests": list(requests)})


def quantity_request(simulator: EbaySimulator, sku: str, quantity: int) -> dict[str, Any]:
    """A request item setting the SKU's quantity and its offer's, as a connector pushes."""
    return {
        "sku": sku,
        "shipToLocationAvailability": {"quantity": quantity},
        "offers": [{"offerId": offer_id(simulator, sku), "availableQuantity": quantity}],
    }


# OAuth --------------------------------------------------------------------------------


def test_the_refresh_token_grant_answers_a_user_token_that_opens_the_sell_apis(ebay):
    answer = token_call(
        ebay,
        {
            "grant_type": "refresh_token",
            "refresh_token": ebay.credentials.refresh_token,
            "scope": f"{INVENTORY_SCOPE} {READONLY_SCOPE}",
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert (body["expires_in"], body["token_type"]) == (7200, "User Access Token")
    assert answer.headers["cache-control"] == "no-store"
    with api(ebay, body["access_token"]) as client:
        assert client.get(f"{INVENTORY}/inventory_item").status_code == 200


def test_the_client_credentials_grant_answers_an_application_token_for_the_public_key(ebay):
    answer = token_call(ebay, {"grant_type": "client_credentials", "scope": APP_SCOPE})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["expires_in"], body["token_type"]) == (7200, "Application Access Token")
    with api(ebay, body["access_token"]) as client:
        key = client.get(f"/commerce/notification/v1/public_key/{ebay.public_key_id}")
        assert key.status_code == 200
        refused = client.get("/sell/fulfillment/v1/order")
        assert refused.status_code == 403
        assert errors_of(refused) == [1100]
        assert refused.json()["errors"][0]["domain"] == "ACCESS"


def test_the_consent_page_redirects_with_a_code_the_authorization_code_grant_takes(ebay):
    consent = httpx.get(
        ebay.url + "/oauth2/authorize",
        params={
            "client_id": ebay.credentials.client_id,
            "redirect_uri": ebay.credentials.ru_name,
            "response_type": "code",
            "scope": f"{APP_SCOPE} {INVENTORY_SCOPE}",
            "state": "s-42",
        },
    )
    assert consent.status_code == 302
    location = urlsplit(consent.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "sandbox.invalid",
        "/accepted",
    )
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert (query["state"], query["expires_in"]) == ("s-42", "299")
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": ebay.credentials.ru_name,
    }
    granted = token_call(ebay, form)
    assert granted.status_code == 200
    body = granted.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "token_type",
    }
    assert (body["refresh_token_expires_in"], body["token_type"]) == (
        47_304_000,
        "User Access Token",
    )
    assert token_call(ebay, form).json()["error"] == "invalid_grant"  # a code is used once
    refreshed = token_call(
        ebay, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    with api(ebay, refreshed.json()["access_token"]) as client:
        assert client.get(f"{INVENTORY}/inventory_item").status_code == 200
        # What the seller did not consent to stays closed.
        assert client.get("/sell/fulfillment/v1/order").status_code == 403


def test_a_consent_code_expires_and_must_come_back_to_the_ru_name(ebay):
    stale = ebay.grant_consent()
    clock_of(ebay).advance(timedelta(seconds=300))
    fresh = ebay.grant_consent()
    name = ebay.credentials.ru_name
    expired = token_call(
        ebay, {"grant_type": "authorization_code", "code": stale, "redirect_uri": name}
    )
    assert (expired.status_code, expired.json()["error"]) == (400, "invalid_grant")
    elsewhere = token_call(
        ebay,
        {"grant_type": "authorization_code", "code": fresh, "redirect_uri": "another-RuName"},
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (400, "invalid_grant")
    with pytest.raises(EbaySimulatorError):
        ebay.grant_consent(["https://api.ebay.com/oauth/api_scope/sell.everything"])


GOOD = "the seller's refresh token"
"""Stands for the simulator's refresh token in the cases below."""


@pytest.mark.parametrize(
    ("form", "secret", "status", "error"),
    [
        ({"grant_type": "refresh_token", "refresh_token": GOOD}, "wrong", 401, "invalid_client"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, None, 400, "invalid_grant"),
        ({"grant_type": "refresh_token"}, None, 400, "invalid_request"),
        ({"grant_type": "password"}, None, 400, "unsupported_grant_type"),
        ({}, None, 400, "invalid_request"),
        (
            {
                "grant_type": "refresh_token",
                "refresh_token": GOOD,
                "scope": f"{APP_SCOPE}/sell.marketing",
            },
            None,
            400,
            "invalid_scope",
        ),
        (
            {"grant_type": "client_credentials", "scope": INVENTORY_SCOPE},
            None,
            400,
            "invalid_scope",
        ),
        ({"grant_type": "client_credentials"}, None, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "nope"}, None, 400, "invalid_request"),
    ],
)
def test_the_token_endpoint_refuses_in_oauth_terms(ebay, form, secret, status, error):
    sent = {
        name: ebay.credentials.refresh_token if value == GOOD else value
        for name, value in form.items()
    }
    answer = token_call(ebay, sent, client_secret=secret)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert ebay.credentials.client_secret not in answer.text


def test_a_revoked_refresh_token_is_refused(ebay):
    form = {"grant_type": "refresh_token", "refresh_token": ebay.credentials.refresh_token}
    assert token_call(ebay, form).status_code == 200
    ebay.revoke_refresh_token()
    refused = token_call(ebay, form)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_access_tokens_expire_after_two_hours_on_the_simulators_clock(ebay):
    token = token_call(
        ebay, {"grant_type": "refresh_token", "refresh_token": ebay.credentials.refresh_token}
    ).json()["access_token"]
    with api(ebay, token) as client:
        clock_of(ebay).advance(timedelta(seconds=7199))
        assert client.get(f"{INVENTORY}/inventory_item").status_code == 200
        clock_of(ebay).advance(timedelta(seconds=1))
        expired = client.get(f"{INVENTORY}/inventory_item")
    assert expired.status_code == 401
    assert expired.json()["errors"][0] | {"longMessage": None} == {
        "errorId": 1001,
        "domain": "OAuth",
        "category": "REQUEST",
        "message": "Invalid access token",
        "longMessage": None,
    }


@pytest.mark.parametrize("authorization", [None, "Bearer made-up", "Basic abc", "Bearer"])
def test_a_missing_or_unknown_token_answers_401(ebay, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.get(ebay.url + f"{INVENTORY}/inventory_item", headers=headers)
    assert answer.status_code == 401
    assert errors_of(answer) == [1001]


def test_a_user_token_needs_the_operations_scope(ebay):
    with api(ebay, ebay.user_token([READONLY_SCOPE])) as client:
        assert client.get(f"{INVENTORY}/offer", params={"sku": "MUG"}).status_code == 200
        write = bulk(client, quantity_request(ebay, "MUG", 3))
        assert (write.status_code, errors_of(write)) == (403, [1100])
        assert client.get("/sell/fulfillment/v1/order").status_code == 403
    assert ebay.stock()["MUG"] == 10


def test_token_exchanges_are_kept_with_the_tokens_masked(ebay):
    form = {"grant_type": "refresh_token", "refresh_token": ebay.credentials.refresh_token}
    token = token_call(ebay, form).json()["access_token"]
    kept = [exchange for exchange in ebay.exchanges() if exchange.operation == "oauth2Token"]
    assert len(kept) == 1
    assert (kept[0].method, kept[0].status, kept[0].request_json) == ("POST", 200, None)
    assert kept[0].response_json["access_token"] == "***"
    assert token not in repr(ebay.exchanges())
    assert ebay.credentials.refresh_token not in repr(ebay.exchanges())


def test_a_reset_forgets_the_account_but_not_the_tokens_handed_out(ebay):
    token = ebay.user_token()
    ebay.revoke_refresh_token()
    ebay.reset()
    assert ebay.stock() == {}
    with api(ebay, token) as client:
        assert client.get(f"{INVENTORY}/inventory_item").json()["total"] == 0
    form = {"grant_type": "refresh_token", "refresh_token": ebay.credentials.refresh_token}
    assert token_call(ebay, form).status_code == 200


def test_a_fault_on_the_token_endpoint_answers_in_oauth_terms(ebay):
    ebay.inject("oauth2Token", 503)
    form = {"grant_type": "refresh_token", "refresh_token": ebay.credentials.refresh_token}
    failed = token_call(ebay, form)
    assert (failed.status_code, failed.json()["error"]) == (503, "server_error")
    assert token_call(ebay, form).status_code == 200
    assert [(e.operation, e.status) for e in ebay.exchanges()] == [
        ("oauth2Token", 503),
        ("oauth2Token", 200),
    ]
    assert ebay.traffic()["faults_served"] == {"503": 1}


# Sell Inventory -----------------------------------------------------------------------


def test_inventory_items_come_page_by_page_offset_being_the_page_number(ebay):
    for sku in SKUS:
        ebay.seed_listing(sku, 1)
    with api(ebay) as client:
        first = client.get(f"{INVENTORY}/inventory_item", params={"limit": "10"}).json()
        assert (first["total"], first["limit"], first["size"]) == (32, 10, 4)
        assert "prev" not in first
        seen = [item["sku"] for item in first["inventoryItems"]]
        page = first
        while "next" in page:
            page = client.get(page["next"]).json()
            seen += [item["sku"] for item in page["inventoryItems"]]
        assert seen == ["MUG", "CUP", *SKUS]
        assert len(page["inventoryItems"]) == 2
        assert page["prev"].endswith("limit=10&offset=2")
        assert client.get(page["href"]).json() == page
        default = client.get(f"{INVENTORY}/inventory_item").json()
        assert (default["limit"], len(default["inventoryItems"])) == (25, 25)
        past = client.get(f"{INVENTORY}/inventory_item", params={"offset": "9"}).json()
        assert past["inventoryItems"] == []
        for bad in ({"limit": "201"}, {"limit": "0"}, {"offset": "-1"}, {"limit": "ten"}):
            refused = client.get(f"{INVENTORY}/inventory_item", params=bad)
            assert (refused.status_code, errors_of(refused)) == (400, [25706])


def test_an_inventory_item_and_an_unknown_sku(ebay):
    with api(ebay) as client:
        item = client.get(f"{INVENTORY}/inventory_item/MUG").json()
        unknown = client.get(f"{INVENTORY}/inventory_item/NOPE")
    assert item == {
        "sku": "MUG",
        "locale": "en_US",
        "product": {"title": "Blue mug", "ean": ["4006381333931"]},
        "condition": "NEW",
        "availability": {"shipToLocationAvailability": {"quantity": 10}},
    }
    assert (unknown.status_code, errors_of(unknown)) == (404, [25710])
    assert unknown.json()["errors"][0]["domain"] == "API_INVENTORY"


def test_the_offers_of_a_sku(ebay):
    with api(ebay) as client:
        found = client.get(f"{INVENTORY}/offer", params={"sku": "MUG"}).json()
        unknown = client.get(f"{INVENTORY}/offer", params={"sku": "NOPE"})
        elsewhere = client.get(
            f"{INVENTORY}/offer", params={"sku": "MUG", "marketplace_id": "EBAY_GB"}
        )
        no_sku = client.get(f"{INVENTORY}/offer")
        one = client.get(f"{INVENTORY}/offer/{found['offers'][0]['offerId']}")
    assert (found["total"], found["size"], found["limit"]) == (1, 1, 100)
    offer = found["offers"][0]
    assert {key: offer[key] for key in ("sku", "marketplaceId", "format", "status")} == {
        "sku": "MUG",
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "status": "PUBLISHED",
    }
    assert offer["availableQuantity"] == 10
    assert offer["pricingSummary"]["price"] == {"value": "12.50", "currency": "USD"}
    assert offer["listing"]["listingStatus"] == "ACTIVE"
    assert one.json() == offer
    assert (unknown.status_code, errors_of(unknown)) == (404, [25713])
    assert (elsewhere.status_code, errors_of(elsewhere)) == (404, [25713])
    assert (no_sku.status_code, errors_of(no_sku)) == (400, [25709])


def test_a_bulk_update_that_all_succeeds_answers_200_and_changes_what_buyers_see(ebay):
    mug = offer_id(ebay, "MUG")
    with api(ebay) as client:
        answer = bulk(
            client,
            quantity_request(ebay, "MUG", 3),
            {"offers": [{"offerId": offer_id(ebay, "CUP"), "price": {"value": "5.00"}}]},
        )
    assert answer.status_code == 200
    assert answer.json() == {
        "responses": [
            {"statusCode": 200, "sku": "MUG", "offerId": mug},
            {"statusCode": 200, "sku": "CUP", "offerId": offer_id(ebay, "CUP")},
        ]
    }
    assert ebay.stock() == {"MUG": 3, "CUP": 4}
    assert ebay.offers("CUP")[0]["pricingSummary"]["price"]["value"] == "5.00"
    assert (ebay.revisions("MUG"), ebay.revisions("CUP")) == (1, 1)


def test_a_bulk_update_with_bad_items_answers_207_and_applies_the_good_ones(ebay):
    with api(ebay) as client:
        answer = bulk(
            client,
            quantity_request(ebay, "MUG", 7),
            {"sku": "NOPE", "shipToLocationAvailability": {"quantity": 1}},
            {"sku": "CUP", "offers": [{"offerId": "999", "availableQuantity": 1}]},
            {"offers": [{"offerId": offer_id(ebay, "CUP"), "availableQuantity": -1}]},
        )
    assert answer.status_code == 207
    responses = answer.json()["responses"]
    assert [entry["statusCode"] for entry in responses] == [200, 404, 404, 400]
    assert [entry.get("errors", [{}])[0].get("errorId") for entry in responses] == [
        None,
        25702,
        25713,
        25004,
    ]
    assert ebay.stock() == {"MUG": 7, "CUP": 4}


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        ({"requests": [{"sku": f"S{n}", "offers": []} for n in range(26)]}, 25727),
        (
            {
                "requests": [
                    {"sku": "MUG", "shipToLocationAvailability": {"quantity": 1}},
                    {"sku": "MUG", "shipToLocationAvailability": {"quantity": 2}},
                ]
            },
            25734,
        ),
        ({"requests": []}, 25709),
        ({"nothing": True}, 25709),
    ],
)
def test_a_bulk_update_refused_whole(ebay, body, error_id):
    with api(ebay) as client:
        answer = client.post(f"{INVENTORY}/bulk_update_price_quantity", json=body)
    assert (answer.status_code, errors_of(answer)) == (400, [error_id])
    assert ebay.stock() == {"MUG": 10, "CUP": 4}


def test_a_body_that_is_not_json_is_refused(ebay):
    with api(ebay) as client:
        answer = client.post(
            f"{INVENTORY}/bulk_update_price_quantity",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert (answer.status_code, errors_of(answer)) == (400, [25709])


def test_the_251st_revision_of_a_day_is_refused_until_midnight_utc(ebay):
    clock_of(ebay).set(datetime(2026, 3, 10, 23, 59, 58, tzinfo=UTC))
    ebay.set_revisions("MUG", 249)
    with api(ebay) as client:
        assert bulk(client, quantity_request(ebay, "MUG", 9)).status_code == 200
        assert ebay.revisions("MUG") == 250
        refused = bulk(client, quantity_request(ebay, "MUG", 8), quantity_request(ebay, "CUP", 2))
        assert refused.status_code == 207
        first, second = refused.json()["responses"]
        assert (first["statusCode"], second["statusCode"]) == (400, 200)
        error = first["errors"][0]
        assert (error["errorId"], error["domain"]) == (25026, "API_INVENTORY")
        assert "daily revision limit" in error["message"]
        assert ebay.stock() == {"MUG": 9, "CUP": 2}
        assert ebay.revisions("MUG") == 250
        clock_of(ebay).advance(timedelta(seconds=3))  # 00:00:01 UTC, the next day
        assert ebay.revisions("MUG") == 0
        assert bulk(client, quantity_request(ebay, "MUG", 8)).status_code == 200
    assert (ebay.stock()["MUG"], ebay.revisions("MUG")) == (8, 1)


def test_setting_the_same_quantity_again_revises_nothing(ebay):
    ebay.set_revisions("MUG", 250)
    with api(ebay) as client:
        same = bulk(client, quantity_request(ebay, "MUG", 10))
        higher_than_offer = bulk(
            client, {"sku": "MUG", "shipToLocationAvailability": {"quantity": 50}}
        )
        new_price = bulk(
            client,
            {"offers": [{"offerId": offer_id(ebay, "MUG"), "price": {"value": "13.00"}}]},
        )
    assert (same.status_code, higher_than_offer.status_code) == (200, 200)
    assert ebay.revisions("MUG") == 250
    # The buyer still sees the offer's 10: raising the item's quantity alone changes nothing.
    assert ebay.stock()["MUG"] == 10
    assert new_price.status_code == 207  # a new price is a revision too
    assert new_price.json()["responses"][0]["errors"][0]["errorId"] == 25026


def test_a_buyer_sees_the_smaller_of_the_offer_and_item_quantities(ebay):
    with api(ebay) as client:
        answer = bulk(
            client,
            {
                "sku": "MUG",
                "shipToLocationAvailability": {"quantity": 10},
                "offers": [{"offerId": offer_id(ebay, "MUG"), "availableQuantity": 4}],
            },
        )
    assert answer.status_code == 200
    assert ebay.stock()["MUG"] == 4
    ebay.buy("MUG", 4)
    with pytest.raises(EbaySimulatorError, match="available"):
        ebay.buy("MUG")
    assert ebay.inventory_item("MUG")["availability"]["shipToLocationAvailability"] == {
        "quantity": 6
    }


def test_throttled_calls_answer_429_in_ebays_envelope(ebay):
    ebay.set_rate_limit(rate=1.0, burst=2)
    try:
        with api(ebay) as client:
            assert client.get(f"{INVENTORY}/inventory_item").status_code == 200
            assert client.get(f"{INVENTORY}/inventory_item").status_code == 200
            throttled = client.get(f"{INVENTORY}/inventory_item")
            assert (throttled.status_code, errors_of(throttled)) == (429, [2001])
            assert throttled.headers["retry-after"] == "1"
            clock_of(ebay).advance(timedelta(seconds=1))
            assert client.get(f"{INVENTORY}/inventory_item").status_code == 200
    finally:
        ebay.set_rate_limit(rate=50.0, burst=100)
    assert ebay.traffic()["responses_429"] == 1


def test_an_injected_429_fault_answers_429_then_the_next_call_goes_through(ebay):
    ebay.inject("bulkUpdatePriceQuantity", 429)
    with api(ebay) as client:
        faulted = bulk(client, quantity_request(ebay, "MUG", 2))
        assert (faulted.status_code, errors_of(faulted)) == (429, [2001])
        assert ebay.stock()["MUG"] == 10
        assert bulk(client, quantity_request(ebay, "MUG", 2)).status_code == 200
    kept = [(e.operation, e.status) for e in ebay.exchanges()]
    assert kept == [("bulkUpdatePriceQuantity", 429), ("bulkUpdatePriceQuantity", 200)]


def test_the_registry_knows_the_ebay_type():
    assert simulator_for("ebay") is EbaySimulator
