"""Returns in the Shopify simulator, over HTTP: what a buyer may ask, what returnProcess and
refundCreate accept and do, the control routes and the returns webhooks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from omnisync.sandbox.shopify import ShopifySimulator, ShopifySimulatorError
from omnisync.sandbox.shopify.nodes import ALL_SCOPES
from tests.support.shopify_webhooks import Receiver, webhook_fixtures
from tests.unit.test_shopify_simulator import data_of, gql, make_simulator, prepare

NO_KEY = """
mutation RefundCreate($input: RefundInput!) {
  refundCreate(input: $input) { refund { id } userErrors { field message } }
}
"""


receiver, running, shop = webhook_fixtures("shopify-returns", make_simulator, prepare)


def shipped(shop: ShopifySimulator, sku: str = "A", quantity: int = 3) -> dict[str, Any]:
    order = shop.buy(sku, quantity)
    assert order is not None
    return shop.ship_order(order["id"])


def approved(shop: ShopifySimulator, quantity: int = 2) -> dict[str, Any]:
    order = shipped(shop)
    made = shop.request_return(order["id"], [("A", quantity)], "defective")
    answer = data_of(gql(shop, "ReturnApprove", {"input": {"id": made["id"]}}))
    assert answer["returnApproveRequest"]["userErrors"] == []
    return state(shop, made["id"])


def state(shop: ShopifySimulator, return_id: str) -> dict[str, Any]:
    """The return as the connector reads it before a push (ReturnState)."""
    node: dict[str, Any] = data_of(gql(shop, "ReturnState", {"id": return_id}))["return"]
    return node


def rfo_line(node: dict[str, Any]) -> str:
    line: str = node["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["id"]
    return line


def location(shop: ShopifySimulator, name: str) -> str:
    gid: str = next(loc["id"] for loc in shop.snapshot()["locations"] if loc["name"] == name)
    return gid


def process(shop: ShopifySimulator, request: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = data_of(gql(shop, "ReturnProcess", {"input": request}))[
        "returnProcess"
    ]
    return payload


def dispose(
    node: dict[str, Any], kind: str, quantity: int, at: str | None = None
) -> dict[str, Any]:
    disposition = {
        "reverseFulfillmentOrderLineItemId": rfo_line(node),
        "quantity": quantity,
        "dispositionType": kind,
    }
    if at is not None:
        disposition["locationId"] = at
    return disposition


def line_of(node: dict[str, Any]) -> str:
    line: str = node["returnLineItems"]["nodes"][0]["id"]
    return line


# the buyer ----------------------------------------------------------------------------


def test_only_fulfilled_units_can_be_returned(shop: ShopifySimulator) -> None:
    order = shop.buy("A", 2)
    assert order is not None
    with pytest.raises(ShopifySimulatorError, match="0 returnable unit"):
        shop.request_return(order["id"], [("A", 1)])
    shop.ship_order(order["id"])
    with pytest.raises(ShopifySimulatorError, match="2 returnable unit"):
        shop.request_return(order["id"], [("A", 3)])
    made = shop.request_return(order["id"], [(order["line_items"][0]["id"], 2)], "size-too-small")
    assert made["status"] == "REQUESTED"
    assert made["lines"][0]["reason"] == "SIZE_TOO_SMALL"


def test_a_unit_held_by_a_return_comes_back_free_once_the_return_is_declined(
    shop: ShopifySimulator,
) -> None:
    order = shipped(shop, quantity=1)
    first = shop.request_return(order["id"], [("A", 1)])
    with pytest.raises(ShopifySimulatorError, match="0 returnable unit"):
        shop.request_return(order["id"], [("A", 1)])
    request = {"id": first["id"], "declineReason": "FINAL_SALE", "declineNote": "Sale item"}
    answer = data_of(gql(shop, "ReturnDecline", {"input": request}))
    assert answer["returnDeclineRequest"]["return"]["status"] == "DECLINED"
    assert shop.get_return(first["id"])["decline"] == {"reason": "FINAL_SALE", "note": "Sale item"}
    assert shop.request_return(order["id"], [("A", 1)])["name"] == "#1001-R2"


def test_an_unknown_reason_is_refused(shop: ShopifySimulator) -> None:
    order = shipped(shop)
    with pytest.raises(ShopifySimulatorError, match="unknown return reason"):
        shop.request_return(order["id"], [("A", 1)], "bored")


# the merchant -------------------------------------------------------------------------


def test_approving_opens_a_reverse_fulfillment_order_and_only_once(shop: ShopifySimulator) -> None:
    node = approved(shop)
    assert node["status"] == "OPEN"
    reverse = node["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"]
    assert [(line["totalQuantity"], line["dispositions"]) for line in reverse] == [(2, [])]
    again = data_of(gql(shop, "ReturnApprove", {"input": {"id": node["id"]}}))
    (error,) = again["returnApproveRequest"]["userErrors"]
    assert error["code"] == "INVALID_STATE"


def test_processing_records_dispositions_restocks_and_closes_the_return(
    shop: ShopifySimulator,
) -> None:
    node = approved(shop)
    backup = location(shop, "Backup")
    before = shop.available("A", "Backup")
    answer = process(
        shop,
        {
            "returnId": node["id"],
            "returnLineItems": [
                {
                    "id": line_of(node),
                    "quantity": 2,
                    "dispositions": [
                        dispose(node, "RESTOCKED", 1, backup),
                        dispose(node, "NOT_RESTOCKED", 1),
                    ],
                }
            ],
            "notifyCustomer": True,
        },
    )
    assert answer == {"return": {"id": node["id"], "status": "CLOSED"}, "userErrors": []}
    assert shop.available("A", "Backup") == before + 1
    seen = shop.get_return(node["id"])
    assert [
        (d["type"], d["quantity"], d["location"]) for d in seen["lines"][0]["dispositions"]
    ] == [
        ("RESTOCKED", 1, "Backup"),
        ("NOT_RESTOCKED", 1, None),
    ]
    assert seen["notices"][-1] == {"action": "process", "notify_customer": True}
    assert seen["closed_at"] is not None


def test_a_process_is_all_or_nothing(shop: ShopifySimulator) -> None:
    node = approved(shop)
    answer = process(
        shop,
        {
            "returnId": node["id"],
            "returnLineItems": [
                {"id": line_of(node), "quantity": 1, "dispositions": [dispose(node, "MISSING", 1)]},
                {"id": line_of(node), "quantity": 2},
            ],
        },
    )
    (error,) = answer["userErrors"]
    assert error["field"] == ["input", "returnLineItems", "1", "quantity"]
    assert answer["return"] is None
    assert state(shop, node["id"])["returnLineItems"]["nodes"][0]["processedQuantity"] == 0


@pytest.mark.parametrize(
    ("disposition", "code"),
    [
        ({"dispositionType": "RESTOCKED"}, "BLANK"),
        ({"dispositionType": "RESTOCKED", "locationId": "gid://shopify/Location/999"}, "NOT_FOUND"),
        ({"dispositionType": "MISSING", "quantity": 3}, "INVALID"),
        (
            {
                "dispositionType": "MISSING",
                "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/9",
            },
            "NOT_FOUND",
        ),
    ],
)
def test_a_disposition_shopify_would_refuse_is_refused(
    shop: ShopifySimulator, disposition: dict[str, Any], code: str
) -> None:
    node = approved(shop)
    wanted = {**dispose(node, "MISSING", 1), **disposition}
    line = {"id": line_of(node), "quantity": wanted["quantity"], "dispositions": [wanted]}
    answer = process(shop, {"returnId": node["id"], "returnLineItems": [line]})
    assert [error["code"] for error in answer["userErrors"]] == [code]


def test_a_requested_return_cannot_be_processed(shop: ShopifySimulator) -> None:
    order = shipped(shop)
    made = shop.request_return(order["id"], [("A", 1)])
    answer = process(
        shop,
        {
            "returnId": made["id"],
            "returnLineItems": [{"id": made["lines"][0]["id"], "quantity": 1}],
        },
    )
    assert [error["code"] for error in answer["userErrors"]] == ["INVALID_STATE"]


# money --------------------------------------------------------------------------------


def outcome(shop: ShopifySimulator, node: dict[str, Any], quantity: int) -> list[dict[str, Any]]:
    data = data_of(
        gql(
            shop,
            "ReturnRefundOutcome",
            {"id": node["id"], "lines": [{"id": line_of(node), "quantity": quantity}]},
        )
    )
    suggested: list[dict[str, Any]] = data["return"]["suggestedFinancialOutcome"][
        "financialTransfer"
    ]["suggestedTransactions"]
    return suggested


def test_a_refund_with_the_process_takes_the_units_off_the_order(shop: ShopifySimulator) -> None:
    node = approved(shop)
    (suggested,) = outcome(shop, node, 2)
    assert suggested["amountSet"]["presentmentMoney"] == {"amount": "25.00", "currencyCode": "USD"}
    answer = process(
        shop,
        {
            "returnId": node["id"],
            "returnLineItems": [
                {"id": line_of(node), "quantity": 2, "dispositions": [dispose(node, "MISSING", 2)]}
            ],
            "financialTransfer": {
                "issueRefund": {
                    "orderTransactions": [
                        {
                            "parentId": suggested["parentTransaction"]["id"],
                            "transactionAmount": {"amount": "25.00", "currencyCode": "USD"},
                        }
                    ]
                }
            },
        },
    )
    assert answer["userErrors"] == []
    (refund,) = shop.get_return(node["id"])["refunds"]
    assert refund["amount"] == "25.00"
    order = shop.orders()[0]
    assert order["financial_status"] == "PARTIALLY_REFUNDED"
    (line,) = order["line_items"]
    assert (line["quantity"], line["current_quantity"], line["unfulfilled_quantity"]) == (3, 1, 0)


def test_a_refund_for_more_than_is_left_of_the_payment_is_refused(shop: ShopifySimulator) -> None:
    node = approved(shop)
    (suggested,) = outcome(shop, node, 1)
    answer = process(
        shop,
        {
            "returnId": node["id"],
            "returnLineItems": [{"id": line_of(node), "quantity": 1}],
            "financialTransfer": {
                "issueRefund": {
                    "orderTransactions": [
                        {
                            "parentId": suggested["parentTransaction"]["id"],
                            "transactionAmount": {"amount": "99.00", "currencyCode": "USD"},
                        }
                    ]
                }
            },
        },
    )
    assert [error["code"] for error in answer["userErrors"]] == ["INVALID"]
    assert shop.get_return(node["id"])["refunds"] == []


def refund_request(shop: ShopifySimulator, amount: str = "12.50") -> dict[str, Any]:
    order = shop.orders()[0]
    data = data_of(
        gql(
            shop,
            "SuggestedRefund",
            {
                "id": order["id"],
                "lines": [{"lineItemId": order["line_items"][0]["id"], "quantity": 1}],
            },
        )
    )
    (suggested,) = data["order"]["suggestedRefund"]["suggestedTransactions"]
    assert suggested["amountSet"]["presentmentMoney"]["amount"] == "12.50"
    return {
        "orderId": order["id"],
        "refundLineItems": [
            {"lineItemId": order["line_items"][0]["id"], "quantity": 1, "restockType": "NO_RESTOCK"}
        ],
        "transactions": [
            {
                "orderId": order["id"],
                "parentId": suggested["parentTransaction"]["id"],
                "amount": amount,
                "gateway": suggested["gateway"],
                "kind": "REFUND",
            }
        ],
        "note": "Return #1001-R1 (k)",
    }


def test_refund_create_is_replayed_by_its_key(shop: ShopifySimulator) -> None:
    shipped(shop)
    request = refund_request(shop)
    first = data_of(gql(shop, "RefundCreate", {"input": request, "key": "k-1"}))["refundCreate"]
    again = data_of(gql(shop, "RefundCreate", {"input": request, "key": "k-1"}))["refundCreate"]
    assert first == again
    assert first["userErrors"] == []
    assert shop.orders()[0]["line_items"][0]["current_quantity"] == 2
    other = {**request, "note": "another"}
    mismatch = data_of(gql(shop, "RefundCreate", {"input": other, "key": "k-1"}))["refundCreate"]
    assert mismatch["refund"] is None
    assert "different operation parameters" in mismatch["userErrors"][0]["message"]


def test_refund_create_needs_its_idempotency_key(shop: ShopifySimulator) -> None:
    shipped(shop)
    response = gql(shop, "RefundCreate", {"input": refund_request(shop)}, document=NO_KEY)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert shop.orders()[0]["line_items"][0]["current_quantity"] == 3


def test_returns_need_the_returns_scopes(shop: ShopifySimulator) -> None:
    approved(shop)
    shop.set_scopes(scope for scope in ALL_SCOPES if scope not in ("read_returns", "write_returns"))
    variables = {"first": 5, "after": None, "query": "updated_at:>='2000-01-01T00:00:00Z'"}
    body = gql(shop, "OrderReturns", variables).json()
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


# control and webhooks -----------------------------------------------------------------


def test_the_buyer_asks_for_a_return_over_the_control_routes(shop: ShopifySimulator) -> None:
    order = shipped(shop)
    asked = httpx.post(
        f"{shop.url}/_control/returns",
        json={"order_id": order["id"], "line": "A", "quantity": 2, "reason": "WRONG_ITEM"},
        timeout=5,
    )
    assert asked.status_code == 201, asked.text
    made = asked.json()["return"]
    assert (made["status"], made["lines"][0]["quantity"]) == ("REQUESTED", 2)
    listed = httpx.get(f"{shop.url}/_control/returns", timeout=5).json()["returns"]
    assert [r["id"] for r in listed] == [made["id"]]
    too_many = httpx.post(
        f"{shop.url}/_control/returns",
        json={"order_id": order["id"], "line": "A", "quantity": 2},
        timeout=5,
    )
    assert too_many.status_code == 409
    assert too_many.json()["error"] == "refused"
    bad = httpx.post(f"{shop.url}/_control/returns", json={"line": "A"}, timeout=5)
    assert bad.status_code == 400


def test_a_return_sends_its_topic_and_orders_updated(
    shop: ShopifySimulator, receiver: Receiver
) -> None:
    order = shipped(shop)
    shop.wait_for_webhooks()
    receiver.received.clear()
    made = shop.request_return(order["id"], [("A", 1)], "unwanted", "changed my mind")
    assert shop.wait_for_webhooks()
    assert receiver.topics() == ["returns/request", "orders/updated"]
    payload = json.loads(receiver.received[0][1])
    assert payload["admin_graphql_api_id"] == made["id"]
    assert payload["status"] == "requested"
    assert payload["order"]["admin_graphql_api_id"] == order["id"]
    (line,) = payload["return_line_items"]
    assert (
        line["fulfillment_line_item"]["line_item"]["admin_graphql_api_id"]
        == order["line_items"][0]["id"]
    )
    assert (line["quantity"], line["return_reason"], line["return_reason_note"]) == (
        1,
        "unwanted",
        "changed my mind",
    )
    updated = json.loads(receiver.received[1][1])
    assert updated["updated_at"] > order["updated_at"][:19]
