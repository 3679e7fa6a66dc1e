"""eBay's contract facts (sandbox/reference/ebay/) and the exchange checker built on them.

The facts file must hold every operation the hub and the simulator use, keep structure and
no prose, and be what the derivation script writes. The checker must pass exchanges in
eBay's shapes (bodies written here, after eBay's documented structure) and name the field,
parameter or status of each one that is not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Final

import pytest

from omnisync.sandbox.reference import (
    EBAY_CONTRACTS,
    ENUM_TYPE_KEY,
    REFERENCE_DIR,
    ebay_contracts,
)
from omnisync.sandbox.reference.ebay_facts import (
    ContractError,
    derive,
    derive_contract,
    dumps,
    main,
    write,
)
from tests.support.ebay_contracts import (
    ContractChecker,
    check_request,
    check_response,
    contract_checker,
    operation_for,
)

OPERATIONS: Final = {
    "getInventoryItems": ("inventory", "GET", "/sell/inventory/v1/inventory_item"),
    "getInventoryItem": ("inventory", "GET", "/sell/inventory/v1/inventory_item/{sku}"),
    "getOffers": ("inventory", "GET", "/sell/inventory/v1/offer"),
    "bulkUpdatePriceQuantity": (
        "inventory",
        "POST",
        "/sell/inventory/v1/bulk_update_price_quantity",
    ),
    "getOrders": ("fulfillment", "GET", "/sell/fulfillment/v1/order"),
    "getOrder": ("fulfillment", "GET", "/sell/fulfillment/v1/order/{orderId}"),
    "createShippingFulfillment": (
        "fulfillment",
        "POST",
        "/sell/fulfillment/v1/order/{orderId}/shipping_fulfillment",
    ),
    "getShippingFulfillments": (
        "fulfillment",
        "GET",
        "/sell/fulfillment/v1/order/{orderId}/shipping_fulfillment",
    ),
    "getPublicKey": (
        "notification",
        "GET",
        "/commerce/notification/v1/public_key/{public_key_id}",
    ),
}
PROSE_KEYS: Final = frozenset(
    {"description", "summary", "example", "examples", "title", "externalDocs", "tags"}
)
ORDERS_PATH: Final = "/sell/fulfillment/v1/order"
BULK_PATH: Final = "/sell/inventory/v1/bulk_update_price_quantity"
FULFILL_PATH: Final = "/sell/fulfillment/v1/order/04-11111-22222/shipping_fulfillment"


def _amount(value: str) -> dict[str, str]:
    return {"value": value, "currency": "USD"}


def _order() -> dict[str, Any]:
    return {
        "orderId": "04-11111-22222",
        "creationDate": "2026-03-01T10:00:00.000Z",
        "lastModifiedDate": "2026-03-01T10:05:00.000Z",
        "orderFulfillmentStatus": "NOT_STARTED",
        "orderPaymentStatus": "PAID",
        "sellerId": "omnisync_seller",
        "buyer": {"username": "buyer_one"},
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "pricingSummary": {"priceSubtotal": _amount("20.00"), "total": _amount("25.00")},
        "paymentSummary": {
            "payments": [{"amount": _amount("25.00"), "paymentStatus": "PAID"}],
            "totalDueSeller": _amount("22.00"),
        },
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "shippingStep": {
                    "shippingCarrierCode": "USPS",
                    "shipTo": {
                        "fullName": "Ada Buyer",
                        "contactAddress": {
                            "addressLine1": "1 Main St",
                            "city": "San Jose",
                            "stateOrProvince": "CA",
                            "postalCode": "95125",
                            "countryCode": "US",
                        },
                    },
                },
            }
        ],
        "lineItems": [
            {
                "lineItemId": "10000000001",
                "legacyItemId": "110000000001",
                "sku": "MUG-RED",
                "title": "Red mug",
                "quantity": 2,
                "lineItemCost": _amount("20.00"),
                "total": _amount("20.00"),
                "lineItemFulfillmentStatus": "NOT_STARTED",
                "properties": {"buyerProtection": True},
            }
        ],
    }


def _orders_page() -> dict[str, Any]:
    return {"href": "x", "limit": 200, "offset": 0, "total": 1, "orders": [_order()]}


def _bulk_request() -> dict[str, Any]:
    return {
        "requests": [
            {
                "sku": "MUG-RED",
                "shipToLocationAvailability": {"quantity": 5},
                "offers": [
                    {"offerId": "5000001", "availableQuantity": 5, "price": _amount("9.99")}
                ],
            }
        ]
    }


def _fulfillment_request() -> dict[str, Any]:
    return {
        "lineItems": [{"lineItemId": "10000000001", "quantity": 2}],
        "shippedDate": "2026-03-02T09:00:00.000Z",
        "shippingCarrierCode": "USPS",
        "trackingNumber": "9400111899223856925531",
    }


def _error_body() -> dict[str, Any]:
    return {
        "errors": [
            {
                "errorId": 25702,
                "domain": "API_INVENTORY",
                "category": "REQUEST",
                "message": "SKU MUG-RED could not be found",
                "parameters": [{"name": "sku", "value": "MUG-RED"}],
            }
        ]
    }


# --- the facts file ------------------------------------------------------------------


def test_the_facts_hold_every_operation_the_project_uses() -> None:
    contracts = ebay_contracts()["contracts"]
    for operation_id, (contract, method, path) in OPERATIONS.items():
        operation = contracts[contract]["operations"][operation_id]
        assert (operation["method"], operation["path"]) == (method, path), operation_id
        assert operation["responses"], operation_id
    assert contract_checker().operation_ids == set(OPERATIONS)
    versions = {name: facts["version"] for name, facts in contracts.items()}
    assert versions == {"inventory": "1.18.4", "fulfillment": "1.20.7", "notification": "1.6.2"}
    bulk = contracts["inventory"]["operations"]["bulkUpdatePriceQuantity"]
    assert bulk["requestBody"]["required"] is True
    assert set(bulk["responses"]) >= {"200", "207"}
    assert "https://api.ebay.com/oauth/api_scope/sell.inventory" in bulk["scopes"]


def _prose_keys(node: Any, *, names: bool = False) -> list[str]:
    """Prose keywords anywhere in ``node``; the keys of a ``properties`` map are field
    names (eBay has fields called ``description`` and ``properties``), not keywords."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not names and (key in PROSE_KEYS or (key.startswith("x-") and key != ENUM_TYPE_KEY)):
                found.append(key)
            found += _prose_keys(value, names=not names and key == "properties")
    elif isinstance(node, list):
        for item in node:
            found += _prose_keys(item)
    return found


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in [key, *_strings(value)]]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_the_facts_keep_structure_and_no_prose() -> None:
    contracts = ebay_contracts()["contracts"]
    assert _prose_keys(contracts) == []
    assert max(len(text) for text in _strings(contracts)) < 100  # no sentence smuggled in
    product = contracts["inventory"]["components"]["schemas"]["Product"]["properties"]
    assert product["description"] == {"type": "string"}  # a field named description stays
    line_item = contracts["fulfillment"]["components"]["schemas"]["LineItem"]["properties"]
    assert line_item["properties"] == {"$ref": "#/components/schemas/LineItemProperties"}
    assert EBAY_CONTRACTS.stat().st_size < 100_000


def test_ebay_gives_enum_values_only_in_its_documentation() -> None:
    contracts = ebay_contracts()["contracts"]
    assert '"enum"' not in json.dumps(contracts)
    schemas = contracts["fulfillment"]["components"]["schemas"]
    linked = {
        ("Order", "orderFulfillmentStatus"): "OrderFulfillmentStatus",
        ("Order", "orderPaymentStatus"): "OrderPaymentStatusEnum",
        ("CancelStatus", "cancelState"): "CancelStateEnum",
        ("LineItem", "lineItemFulfillmentStatus"): "LineItemFulfillmentStatusEnum",
    }
    for (schema, field), enum_type in linked.items():
        assert schemas[schema]["properties"][field] == {"type": "string", ENUM_TYPE_KEY: enum_type}


def test_the_file_is_the_derivations_output_with_its_provenance() -> None:
    raw = EBAY_CONTRACTS.read_text(encoding="utf-8")
    assert raw == dumps(json.loads(raw))  # canonical: written by dumps, not edited by hand
    about = ebay_contracts()["about"]
    assert "not the contracts" in about["what"]
    assert {facts["version"] for facts in about["sources"].values()} == {
        "1.18.4",
        "1.20.7",
        "1.6.2",
    }
    provenance = json.loads((REFERENCE_DIR / "provenance.json").read_text(encoding="utf-8"))
    recorded = provenance["ebay"]["files"]["ebay/contracts.json"]["source_sha256"]
    assert recorded == {name: facts["sha256"] for name, facts in about["sources"].items()}
    assert "eBay API License" in provenance["ebay"]["licence"]


# --- the checker on eBay's facts -----------------------------------------------------


def test_a_concrete_call_maps_to_its_operation() -> None:
    assert operation_for("GET", "/sell/fulfillment/v1/order/04-11111-22222") == "getOrder"
    assert operation_for("get", FULFILL_PATH) == "getShippingFulfillments"
    assert operation_for("POST", FULFILL_PATH) == "createShippingFulfillment"
    assert operation_for("GET", "/sell/inventory/v1/inventory_item/MUG%2FRED") == (
        "getInventoryItem"
    )
    assert operation_for("GET", "/commerce/notification/v1/public_key/k1") == "getPublicKey"
    assert operation_for("DELETE", "/sell/inventory/v1/inventory_item/MUG") is None
    assert operation_for("GET", "/sell/fulfillment/v1/order/") is None
    assert operation_for("GET", "/identity/v1/oauth2/token") is None


def test_good_exchanges_conform() -> None:
    window = {"filter": "lastmodifieddate:[2026-03-01T00:00:00.000Z..]", "limit": "200"}
    assert check_request("getOrders", "GET", ORDERS_PATH, window, None) == []
    assert check_response("getOrders", 200, _orders_page()) == []
    assert check_response("getOrder", 200, _order()) == []
    json_header = {"content-type": "application/json"}
    assert check_request("bulkUpdatePriceQuantity", "POST", BULK_PATH, {}, _bulk_request()) == []
    assert (
        check_request(
            "createShippingFulfillment",
            "POST",
            FULFILL_PATH,
            {},
            _fulfillment_request(),
            headers=json_header,
        )
        == []
    )
    assert check_response("createShippingFulfillment", 201, None) == []
    answer = {"responses": [{"sku": "MUG-RED", "offerId": "5000001", "statusCode": 200}]}
    assert check_response("bulkUpdatePriceQuantity", 200, answer) == []
    partial = {"responses": [{"sku": "MUG-RED", "statusCode": 400, **_error_body()}]}
    assert check_response("bulkUpdatePriceQuantity", 207, partial) == []
    item = {
        "sku": "MUG-RED",
        "locale": "en_US",
        "condition": "NEW",
        "product": {"title": "Red mug", "description": "A red mug.", "imageUrls": ["https://x"]},
        "availability": {"shipToLocationAvailability": {"quantity": 5}},
    }
    assert check_response("getInventoryItem", 200, item) == []
    assert check_response("getInventoryItems", 200, {"total": 1, "inventoryItems": [item]}) == []
    offer = {
        "offerId": "5000001",
        "sku": "MUG-RED",
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "availableQuantity": 5,
        "pricingSummary": {"price": _amount("9.99")},
        "listing": {"listingId": "110000000001", "listingStatus": "ACTIVE"},
        "status": "PUBLISHED",
    }
    assert check_request("getOffers", "GET", "/sell/inventory/v1/offer", {"sku": "MUG"}, None) == []
    assert check_response("getOffers", 200, {"total": 1, "offers": [offer]}) == []
    shipped = {"total": 1, "fulfillments": [{"fulfillmentId": "9400", "lineItems": []}]}
    assert check_response("getShippingFulfillments", 200, shipped) == []
    key = {"algorithm": "ECDSA", "digest": "SHA1", "key": "-----BEGIN PUBLIC KEY-----"}
    assert check_response("getPublicKey", 200, key) == []
    assert check_response("getInventoryItem", 404, _error_body()) == []
    assert check_response("getOrders", 429, _error_body()) == []  # any call may be throttled


def test_a_misspelled_field_is_named() -> None:
    order = _order()
    order["orderFulfilmentStatus"] = order.pop("orderFulfillmentStatus")
    assert check_response("getOrder", 200, order) == [
        "getOrder response 200 body $: Additional properties are not allowed "
        "('orderFulfilmentStatus' was unexpected)"
    ]
    request = _fulfillment_request()
    request["trackingNo"] = request.pop("trackingNumber")
    problems = check_request("createShippingFulfillment", "POST", FULFILL_PATH, {}, request)
    assert len(problems) == 1
    assert "'trackingNo' was unexpected" in problems[0]


def test_a_wrong_type_is_named_with_its_path() -> None:
    page = _orders_page()
    page["orders"][0]["pricingSummary"]["total"]["value"] = 25.0  # eBay sends "25.00"
    assert check_response("getOrders", 200, page) == [
        "getOrders response 200 body $.orders[0].pricingSummary.total.value: "
        "25.0 is not of type 'string'"
    ]
    request = _bulk_request()
    request["requests"][0]["shipToLocationAvailability"]["quantity"] = "5"
    problems = check_request("bulkUpdatePriceQuantity", "POST", BULK_PATH, {}, request)
    assert problems == [
        "bulkUpdatePriceQuantity request body $.requests[0].shipToLocationAvailability"
        ".quantity: '5' is not of type 'integer'"
    ]
    answer = {"responses": [{"sku": "MUG-RED", "statusCode": 2**31}]}
    (problem,) = check_response("bulkUpdatePriceQuantity", 200, answer)
    assert "$.responses[0].statusCode" in problem
    assert "int32" in problem


def test_an_unknown_query_parameter_is_named() -> None:
    query = {"filters": "lastmodifieddate:[2026-03-01T00:00:00.000Z..]"}
    assert check_request("getOrders", "GET", ORDERS_PATH, query, None) == [
        "unknown query parameter 'filters' for getOrders"
    ]


def test_a_missing_required_parameter_or_body_is_named() -> None:
    assert check_request(
        "bulkUpdatePriceQuantity", "POST", BULK_PATH, {}, _bulk_request(), headers={}
    ) == ["header parameter 'Content-Type' is required by bulkUpdatePriceQuantity"]
    assert check_request("createShippingFulfillment", "POST", FULFILL_PATH, {}, None) == [
        "createShippingFulfillment request body: required"
    ]
    assert check_request("getOrders", "GET", ORDERS_PATH, {}, {"limit": 1}) == [
        "getOrders request body: the operation takes no body"
    ]


def test_the_wrong_method_or_path_is_a_problem() -> None:
    assert check_request("getOrder", "POST", "/sell/fulfillment/v1/order/1", {}, None) == [
        "getOrder is GET, not POST"
    ]
    assert check_request("getOrder", "GET", "/sell/fulfillment/v1/orders/1", {}, None) == [
        "path '/sell/fulfillment/v1/orders/1' does not match /sell/fulfillment/v1/order/{orderId}"
    ]
    assert check_request("getOrderz", "GET", ORDERS_PATH, {}, None) == [
        "unknown operation 'getOrderz'"
    ]


def test_an_undocumented_status_or_a_bad_error_body_is_a_problem() -> None:
    assert check_response("getOrders", 404, _error_body()) == [
        "status 404 is not documented for getOrders (documented: 200, 400, 500)"
    ]
    assert check_response("getOrders", 503, None) == [
        "getOrders response 503 body: missing; eBay answers an error with {'errors': [...]}"
    ]
    assert check_response("getInventoryItem", 400, {"error": "no such sku"}) == [
        "getInventoryItem response 400 body $: 'errors' is a required property",
        "getInventoryItem response 400 body $: Additional properties are not allowed "
        "('error' was unexpected)",
    ]
    wrong = {"errors": [{"errorId": "25702", "domain": "API_INVENTORY"}]}
    assert check_response("getInventoryItem", 400, wrong) == [
        "getInventoryItem response 400 body $.errors[0].errorId: '25702' is not of type 'integer'"
    ]
    assert check_response("getOrder", 200, None) == ["getOrder response 200 body: missing"]
    assert check_response("createShippingFulfillment", 201, {"fulfillmentId": "1"}) == [
        "createShippingFulfillment response 201 body $: Additional properties are not allowed "
        "('fulfillmentId' was unexpected)"
    ]
    # The 207 that eBay documents without a schema is held to the 200 body.
    (problem,) = check_response("bulkUpdatePriceQuantity", 207, {"responses": [{"status": 400}]})
    assert "'status' was unexpected" in problem


# --- the derivation, on a contract written here ---------------------------------------

ENUM_LINK: Final = (
    "For help, refer to <a href='https://developer.example.test/api-docs/sell/things/"
    "types/sel:ThingStateEnum'>the documentation</a>"
)


def _synthetic_contract() -> dict[str, Any]:
    amount = {
        "type": "object",
        "description": "Money.",
        "properties": {"value": {"type": "string", "description": "Decimal text."}},
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Things API", "description": "Prose.", "version": "v2.1.0"},
        "servers": [
            {
                "url": "https://api.example.test{basePath}",
                "description": "Production",
                "variables": {"basePath": {"default": "/sell/things/v2"}},
            }
        ],
        "paths": {
            "/thing/{thingId}": {
                "get": {
                    "tags": ["thing"],
                    "summary": "Get a thing",
                    "description": "Gets a thing.",
                    "operationId": "getThing",
                    "parameters": [
                        {
                            "name": "thingId",
                            "in": "path",
                            "description": "Its id.",
                            "required": True,
                            "schema": {"type": "string", "description": "An id."},
                        },
                        {
                            "name": "mode",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": ["FULL", "BRIEF"]},
                        },
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "description": "The thing.",
                                        "$ref": "#/components/schemas/Thing",
                                    },
                                    "example": {"description": "a payload"},
                                }
                            },
                        },
                        "404": {
                            "description": "Not Found",
                            "x-response-codes": {
                                "errors": {
                                    "1001": {
                                        "domain": "API_THING",
                                        "category": "REQUEST",
                                        "description": "No thing {thingId}.",
                                    }
                                }
                            },
                        },
                    },
                    "security": [{"api_auth": ["https://scope/things", "https://scope/read"]}],
                },
                "delete": {"operationId": "deleteThing", "responses": {"204": {}}},
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "title": "Thing",
                    "description": "A thing.",
                    "x-ebay-note": "prose",
                    "properties": {
                        "description": {"type": "string", "description": "Its text."},
                        "state": {"type": "string", "description": ENUM_LINK},
                        "size": {"type": "integer", "format": "int32", "example": 3},
                        "price": {
                            "description": "Its price.",
                            "$ref": "#/components/schemas/Amount",
                        },
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "note": {"type": "string", "nullable": True},
                    },
                },
                "Amount": amount,
                "Error": {"type": "object", "properties": {"errorId": {"type": "integer"}}},
                "Unused": {"type": "object", "properties": {"x": {"type": "string"}}},
            }
        },
    }


EXPECTED_CONTRACT: Final = {
    "version": "2.1.0",
    "operations": {
        "getThing": {
            "method": "GET",
            "path": "/sell/things/v2/thing/{thingId}",
            "host": "api.example.test",
            "parameters": [
                {"name": "thingId", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
                {
                    "name": "mode",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": ["FULL", "BRIEF"]},
                },
            ],
            "responses": {
                "200": {"content": {"application/json": {"$ref": "#/components/schemas/Thing"}}},
                "404": {"errorIds": {"1001": {"domain": "API_THING", "category": "REQUEST"}}},
            },
            "scopes": ["https://scope/read", "https://scope/things"],
        }
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "state": {"type": "string", ENUM_TYPE_KEY: "ThingStateEnum"},
                    "size": {"type": "integer", "format": "int32"},
                    "price": {"$ref": "#/components/schemas/Amount"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "note": {"type": "string", "nullable": True},
                },
            },
            "Amount": {"type": "object", "properties": {"value": {"type": "string"}}},
            "Error": {"type": "object", "properties": {"errorId": {"type": "integer"}}},
        }
    },
}
THINGS: Final = {"things": ("things_oas3.json", ("getThing",))}


def _reversed(node: Any) -> Any:
    """The same document with every object's keys in the opposite order."""
    if isinstance(node, dict):
        return {key: _reversed(node[key]) for key in reversed(list(node))}
    if isinstance(node, list):
        return [_reversed(item) for item in node]
    return node


def test_derivation_keeps_structure_and_drops_prose() -> None:
    assert derive_contract(_synthetic_contract(), ["getThing"]) == EXPECTED_CONTRACT


def test_derivation_is_deterministic() -> None:
    raw = json.dumps(_synthetic_contract()).encode()
    shuffled = json.dumps(_reversed(_synthetic_contract())).encode()
    first = dumps(derive({"things_oas3.json": raw}, THINGS))
    assert first == dumps(derive({"things_oas3.json": raw}, THINGS))
    facts = derive({"things_oas3.json": shuffled}, THINGS)
    assert dumps(facts["contracts"]) == dumps(json.loads(first)["contracts"])
    assert "\n" not in first.rstrip("\n")
    assert facts["about"]["sources"]["things_oas3.json"]["version"] == "2.1.0"


def test_derivation_refuses_a_contract_without_an_operation() -> None:
    with pytest.raises(ContractError, match="getOther"):
        derive_contract(_synthetic_contract(), ["getThing", "getOther"])
    broken = _synthetic_contract()
    del broken["components"]["schemas"]["Amount"]
    with pytest.raises(ContractError, match="Amount"):
        derive_contract(broken, ["getThing"])


def test_write_records_provenance_and_keeps_the_other_systems(tmp_path: Path) -> None:
    official, target = tmp_path / "official", tmp_path / "reference"
    official.mkdir()
    target.mkdir()
    (official / "things_oas3.json").write_text(json.dumps(_synthetic_contract()))
    amazon = {"amazon": {"source": "a", "version": "b", "licence": "c", "files": {}}}
    (target / "provenance.json").write_text(json.dumps(amazon))

    entry = write(official, target, THINGS)

    provenance = json.loads((target / "provenance.json").read_text())
    assert provenance["amazon"] == amazon["amazon"]
    assert provenance["ebay"] == entry
    written = (target / "ebay" / "contracts.json").read_text()
    raw = (official / "things_oas3.json").read_bytes()
    assert written == dumps(derive({"things_oas3.json": raw}, THINGS))
    assert "description" not in written.replace('"description":{"type"', "")


def test_the_checker_enforces_required_query_parameters_and_enums() -> None:
    checker = ContractChecker(
        derive({"things_oas3.json": json.dumps(_synthetic_contract()).encode()}, THINGS)
    )
    path = "/sell/things/v2/thing/7"
    assert checker.check_request("getThing", "GET", path, {"mode": "FULL"}, None) == []
    assert checker.check_request("getThing", "GET", path, {}, None) == [
        "query parameter 'mode' is required by getThing"
    ]
    assert checker.check_request("getThing", "GET", path, {"mode": "ALL", "limit": "x"}, None) == [
        "query parameter 'limit': 'x' is not of type 'integer'",
        "query parameter 'mode': 'ALL' is not one of ['FULL', 'BRIEF']",
    ]
    thing: dict[str, Any] = {"note": None, "labels": {"colour": "red"}, "price": {"value": "1.00"}}
    assert checker.check_response("getThing", 200, thing) == []
    wrong = copy.deepcopy(thing)
    wrong["labels"]["colour"] = 1
    assert checker.check_response("getThing", 200, wrong) == [
        "getThing response 200 body $.labels.colour: 1 is not of type 'string'"
    ]


def test_the_script_refuses_an_incomplete_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 2
    assert "missing eBay contracts" in capsys.readouterr().err
