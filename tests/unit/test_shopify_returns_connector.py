"""The Shopify connector's returns on mocked HTTP: pages read and rejected one return at a
time, what each push sends (and does not send again), refusals, the error path, the
returns webhooks. Every request it sends is checked against Shopify's official schema,
its variables included."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from graphql import get_operation_ast, parse, validate
from graphql.execution.values import get_variable_values

from omnisync.connectors.base import (
    Capability,
    InvalidSignature,
    PayloadError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import QUARANTINED_RETURN, ReturnUpdate, ReturnUpdateLine
from omnisync.core.types import ReturnAction, ReturnDisposition, ReturnStatus
from omnisync.sandbox.clock import ManualTimer
from tests.support.reference import shopify_schema
from tests.unit.test_shopify_returns_mapping import LINE, RETURN, disposed, recorded, state_node

URL = "https://unit.myshopify.com/admin/api/2026-10/graphql.json"
SECRET = "shpss_unit_returns_secret"
ORDER = "gid://shopify/Order/1001"
KEY = "omnisync-return-7-31"
MAIN = "gid://shopify/Location/1"
SHELF = "gid://shopify/Location/2"

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class Shopify:
    """A mocked Admin API answering by operation name; keeps every request it got, each
    one checked against the official schema first."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.sent: list[dict[str, Any]] = []
        self.replies: dict[str, list[Reply]] = {}
        self.status: int | None = None
        router.post(URL).mock(side_effect=self._reply)

    def on(self, operation: str, *replies: Reply) -> None:
        """The data of each next `operation` (the last one again when they run out)."""
        self.replies[operation] = list(replies)

    def operations(self) -> list[str]:
        return [body["operationName"] for body in self.sent]

    def variables(self, operation: str) -> list[dict[str, Any]]:
        return [body["variables"] for body in self.sent if body["operationName"] == operation]

    def _reply(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_valid(body)
        self.sent.append(body)
        if self.status is not None:
            return httpx.Response(self.status, json={"errors": "Internal error"})
        queue = self.replies[body["operationName"]]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        data = reply(body["variables"]) if callable(reply) else reply
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10, "throttleStatus": FULL}
        return httpx.Response(200, json={"data": data, "extensions": {"cost": cost}})


FULL = {"maximumAvailable": 1000.0, "currentlyAvailable": 1000.0, "restoreRate": 100.0}


def assert_valid(body: dict[str, Any]) -> None:
    """The document validates against the official schema, and its variables coerce to
    the types it declares."""
    schema = shopify_schema()
    document = parse(body["query"])
    assert validate(schema, document) == []
    operation = get_operation_ast(document, body["operationName"])
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or [], body["variables"])
    assert not isinstance(coerced, list), [str(error) for error in coerced]


@pytest.fixture
def shopify() -> Iterator[Shopify]:
    with respx.mock(assert_all_called=False) as router:
        yield Shopify(router)


def connector(**settings: Any) -> ShopifyConnector:
    values = {
        "shop": "unit.myshopify.com",
        "access_token": "shpat_unit_token",
        "client_secret": SECRET,
        "location_map": {"main": MAIN, "shelf": SHELF},
        **settings,
    }
    return ShopifyConnector(
        ShopifySettings.model_validate(values),
        hub_locations={"main": "Main", "shelf": "Shelf"},
        clock=ManualTimer(),
    )


def update(action: ReturnAction, *lines: ReturnUpdateLine, **fields: Any) -> ReturnUpdate:
    return ReturnUpdate(
        action=action,
        return_external_id=RETURN,
        order_external_id=ORDER,
        lines=lines,
        idempotency_key=KEY,
        **fields,
    )


def units(quantity: int, disposition: ReturnDisposition, at: str | None = None) -> ReturnUpdateLine:
    return ReturnUpdateLine(
        external_line_id=LINE, quantity=quantity, disposition=disposition, location=at
    )


LOCATIONS = {
    "locations": {
        "nodes": [
            {"id": MAIN, "name": "Main", "isActive": True},
            {"id": SHELF, "name": "Shelf", "isActive": True},
        ],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
}


def state(status: str = "OPEN", **options: Any) -> dict[str, Any]:
    node = state_node(**options)
    node["status"] = status
    return {"return": node}


def refusal(mutation: str, message: str) -> dict[str, Any]:
    return {
        mutation: {
            "return": None,
            "userErrors": [{"code": "INVALID", "field": None, "message": message}],
        }
    }


def accepted(mutation: str, status: str) -> dict[str, Any]:
    return {mutation: {"return": {"id": RETURN, "status": status}, "userErrors": []}}


# reading ------------------------------------------------------------------------------


def test_the_connector_takes_returns_with_every_action() -> None:
    assert Capability.RETURNS in ShopifyConnector.capabilities
    assert ShopifyConnector.return_actions == frozenset(ReturnAction)
    assert connector().settings.notify_customer_on_return is True


def test_returns_are_read_from_orders_updated_since_the_cursor(shopify: Shopify) -> None:
    shopify.on("OrderReturns", recorded("order_returns_page.json")["data"])
    since = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    (page,) = list(connector().fetch_returns(since))
    (variables,) = shopify.variables("OrderReturns")
    assert variables["query"] == "updated_at:>='2026-11-21T09:00:00Z'"
    assert "sortKey: UPDATED_AT" in shopify.sent[0]["query"]
    assert len(page.returns) == 5
    assert page.rejected == ()
    # The newest order of the page, though it has no return.
    assert page.cursor == datetime(2026, 11, 23, 11, 30, tzinfo=UTC)


def test_a_return_that_cannot_be_mapped_is_rejected_alone(shopify: Shopify) -> None:
    data = recorded("order_returns_page.json")["data"]
    broken = data["orders"]["nodes"][1]["returns"]["nodes"][0]
    del broken["returnLineItems"]["nodes"][0]["fulfillmentLineItem"]
    shopify.on("OrderReturns", data)
    (page,) = list(connector().fetch_returns(None))
    assert len(page.returns) == 4
    (rejected,) = page.rejected
    assert rejected.external_id == broken["id"]
    assert json.loads(rejected.raw)["id"] == broken["id"]
    assert "names no fulfilled order line" in rejected.reason
    assert rejected.kind == QUARANTINED_RETURN
    assert page.cursor == datetime(2026, 11, 23, 11, 30, tzinfo=UTC)


def test_more_returns_of_an_order_and_more_lines_of_a_return_are_read_on(
    shopify: Shopify,
) -> None:
    data = recorded("order_returns_page.json")["data"]
    first_order = data["orders"]["nodes"][0]
    first_order["returns"]["pageInfo"] = {"hasNextPage": True, "endCursor": "r1"}
    more = copy.deepcopy(data["orders"]["nodes"][2]["returns"]["nodes"][0])
    more["returnLineItems"]["pageInfo"] = {"hasNextPage": True, "endCursor": "l1"}
    extra_line = {
        **more["returnLineItems"]["nodes"][0],
        "id": "gid://shopify/ReturnLineItem/99",
    }
    shopify.on("OrderReturns", {"orders": {**data["orders"], "nodes": [first_order]}})
    shopify.on(
        "MoreOrderReturns",
        {"order": {"returns": {"nodes": [more], "pageInfo": {"hasNextPage": False}}}},
    )
    shopify.on(
        "ReturnLines",
        {
            "return": {
                "returnLineItems": {"nodes": [extra_line], "pageInfo": {"hasNextPage": False}}
            }
        },
    )
    (page,) = list(connector().fetch_returns(None))
    assert [r.name for r in page.returns] == ["#1042-R1", "#1044-R1"]
    assert [line.external_line_id for line in page.returns[1].lines][-1] == extra_line["id"]
    assert shopify.variables("MoreOrderReturns") == [{"id": first_order["id"], "after": "r1"}]
    assert shopify.variables("ReturnLines") == [{"id": more["id"], "after": "l1"}]


# approving and declining --------------------------------------------------------------


@pytest.mark.parametrize("notify", [True, False])
def test_approving_a_requested_return_tells_the_buyer_as_configured(
    shopify: Shopify, notify: bool
) -> None:
    shopify.on("ReturnState", state("REQUESTED"))
    shopify.on("ReturnApprove", accepted("returnApproveRequest", "OPEN"))
    result = connector(notify_customer_on_return=notify).push_return(update(ReturnAction.APPROVE))
    assert result.ok
    assert result.key == RETURN
    assert shopify.variables("ReturnApprove") == [
        {"input": {"id": RETURN, "notifyCustomer": notify}}
    ]


@pytest.mark.parametrize("status", ["OPEN", "CLOSED"])
def test_approving_a_return_shopify_holds_approved_sends_nothing(
    shopify: Shopify, status: str
) -> None:
    shopify.on("ReturnState", state(status))
    assert connector().push_return(update(ReturnAction.APPROVE)).ok
    assert shopify.operations() == ["ReturnState"]


def test_approving_a_declined_return_is_refused_without_a_call(shopify: Shopify) -> None:
    shopify.on("ReturnState", state("DECLINED"))
    result = connector().push_return(update(ReturnAction.APPROVE))
    assert not result.ok
    assert result.error == "return #1001-R1 is DECLINED on Shopify"
    assert shopify.operations() == ["ReturnState"]


def test_a_return_shopify_does_not_know_is_refused(shopify: Shopify) -> None:
    shopify.on("ReturnState", {"return": None})
    result = connector().push_return(update(ReturnAction.APPROVE))
    assert not result.ok
    assert not result.retriable


def test_declining_names_shopifys_reason_and_sends_the_words_as_the_note(shopify: Shopify) -> None:
    shopify.on("ReturnState", state("REQUESTED"))
    shopify.on("ReturnDecline", accepted("returnDeclineRequest", "DECLINED"))
    words = "Final sale: " + "x" * 600
    assert connector().push_return(update(ReturnAction.DECLINE, reason=words)).ok
    (sent,) = shopify.variables("ReturnDecline")
    assert sent["input"]["declineReason"] == "FINAL_SALE"
    assert sent["input"]["declineNote"] == words[:500]
    assert sent["input"]["notifyCustomer"] is True


def test_shopifys_user_errors_are_a_refusal_that_is_not_retried(shopify: Shopify) -> None:
    shopify.on("ReturnState", state("REQUESTED"))
    shopify.on("ReturnApprove", refusal("returnApproveRequest", "Return is not approvable."))
    result = connector().push_return(update(ReturnAction.APPROVE))
    assert not result.ok
    assert not result.retriable
    assert result.error == "Return is not approvable."


def test_an_approve_refused_after_its_lost_answer_went_through_is_done(shopify: Shopify) -> None:
    shopify.on("ReturnState", state("REQUESTED"), state("OPEN"))
    shopify.on("ReturnApprove", refusal("returnApproveRequest", "Return is not approvable."))
    assert connector().push_return(update(ReturnAction.APPROVE)).ok


def test_throttling_and_outages_go_through_the_error_path(shopify: Shopify) -> None:
    shopify.status = 503
    with pytest.raises(TransientError):
        connector().push_return(update(ReturnAction.APPROVE))
    shopify.status = 429
    with pytest.raises(RateLimited):
        connector().push_return(update(ReturnAction.APPROVE))


# processing ---------------------------------------------------------------------------


def test_processing_sends_each_disposition_with_its_location_and_the_refund(
    shopify: Shopify,
) -> None:
    shopify.on("ReturnState", state())
    shopify.on(
        "ReturnRefundOutcome",
        {
            "return": {
                "suggestedFinancialOutcome": {
                    "financialTransfer": {
                        "suggestedTransactions": [
                            {
                                "amountSet": {
                                    "presentmentMoney": {"amount": "25.0", "currencyCode": "EUR"}
                                },
                                "parentTransaction": {"id": "gid://shopify/OrderTransaction/8"},
                            }
                        ]
                    }
                }
            }
        },
    )
    shopify.on("ReturnProcess", accepted("returnProcess", "OPEN"))
    shopify.on("Locations", LOCATIONS)
    pushed = update(
        ReturnAction.PROCESS,
        units(1, ReturnDisposition.RESTOCK, "shelf"),
        units(1, ReturnDisposition.DAMAGED),
        refund=True,
    )
    assert connector(notify_customer_on_return=False).push_return(pushed).ok
    assert shopify.variables("ReturnRefundOutcome") == [
        {"id": RETURN, "lines": [{"id": LINE, "quantity": 2}]}
    ]
    ((sent,),) = [list(v.values()) for v in shopify.variables("ReturnProcess")]
    assert sent == {
        "returnId": RETURN,
        "returnLineItems": [
            {
                "id": LINE,
                "quantity": 2,
                "dispositions": [disposed("RESTOCKED", SHELF), disposed("NOT_RESTOCKED")],
            }
        ],
        "notifyCustomer": False,
        "note": f"omnisync {KEY}",
        "financialTransfer": {
            "issueRefund": {
                "orderTransactions": [
                    {
                        "parentId": "gid://shopify/OrderTransaction/8",
                        "transactionAmount": {"amount": "25.0", "currencyCode": "EUR"},
                    }
                ]
            }
        },
    }


def test_a_restock_at_a_hub_location_that_maps_to_nothing_is_refused(shopify: Shopify) -> None:
    shopify.on("ReturnState", state())
    shopify.on("Locations", LOCATIONS)
    pushed = update(ReturnAction.PROCESS, units(1, ReturnDisposition.RESTOCK, "attic"))
    result = connector().push_return(pushed)
    assert not result.ok
    assert "'attic' maps to no active Shopify location" in (result.error or "")
    assert "ReturnProcess" not in shopify.operations()


def test_a_process_shopify_holds_already_is_not_sent_again(shopify: Shopify) -> None:
    done = state(processable=0, disposed=[("RESTOCKED", 3), ("NOT_RESTOCKED", 1)])
    shopify.on("ReturnState", done)
    pushed = update(
        ReturnAction.PROCESS,
        units(3, ReturnDisposition.RESTOCK, "main"),
        units(1, ReturnDisposition.DAMAGED),
        refund=True,
    )
    assert connector().push_return(pushed).ok
    assert shopify.operations() == ["ReturnState"]


def test_processing_a_return_not_approved_on_shopify_is_refused(shopify: Shopify) -> None:
    shopify.on("ReturnState", state("REQUESTED"))
    result = connector().push_return(
        update(ReturnAction.PROCESS, units(1, ReturnDisposition.DAMAGED))
    )
    assert not result.ok
    assert result.error == "return #1001-R1 is not approved on Shopify yet"


def test_a_refund_shopify_suggests_nothing_for_is_refused_before_processing(
    shopify: Shopify,
) -> None:
    shopify.on("ReturnState", state())
    shopify.on(
        "ReturnRefundOutcome",
        {"return": {"suggestedFinancialOutcome": {"financialTransfer": None}}},
    )
    pushed = update(ReturnAction.PROCESS, units(1, ReturnDisposition.DAMAGED), refund=True)
    result = connector().push_return(pushed)
    assert not result.ok
    assert "ReturnProcess" not in shopify.operations()


# refunding later ----------------------------------------------------------------------


SUGGESTED = {
    "order": {
        "suggestedRefund": {
            "suggestedTransactions": [
                {
                    "amountSet": {"presentmentMoney": {"amount": "12.5", "currencyCode": "USD"}},
                    "gateway": "shopify_payments",
                    "parentTransaction": {"id": "gid://shopify/OrderTransaction/8"},
                }
            ]
        }
    }
}


def test_a_later_refund_goes_through_refund_create_with_the_hubs_key(shopify: Shopify) -> None:
    shopify.on("ReturnState", state(processable=3))
    shopify.on("SuggestedRefund", SUGGESTED)
    shopify.on(
        "RefundCreate",
        {"refundCreate": {"refund": {"id": "gid://shopify/Refund/4"}, "userErrors": []}},
    )
    assert connector().push_return(update(ReturnAction.REFUND, refund=True)).ok
    lines = [
        {"lineItemId": "gid://shopify/LineItem/11", "quantity": 1, "restockType": "NO_RESTOCK"}
    ]
    assert shopify.variables("SuggestedRefund") == [{"id": ORDER, "lines": lines}]
    (sent,) = shopify.variables("RefundCreate")
    assert sent["key"] == KEY
    assert "@idempotent(key: $key)" in shopify.sent[-1]["query"]
    assert sent["input"] == {
        "orderId": ORDER,
        "refundLineItems": lines,
        "transactions": [
            {
                "orderId": ORDER,
                "parentId": "gid://shopify/OrderTransaction/8",
                "amount": "12.5",
                "gateway": "shopify_payments",
                "kind": "REFUND",
            }
        ],
        "notify": True,
        "note": f"Return #1001-R1 ({KEY})",
    }


def test_a_refund_the_order_holds_already_is_not_sent_again(shopify: Shopify) -> None:
    refunded = state(processable=3)
    refunded["return"]["order"]["refunds"] = [{"note": f"Return #1001-R1 ({KEY})"}]
    shopify.on("ReturnState", refunded)
    assert connector().push_return(update(ReturnAction.REFUND, refund=True)).ok
    assert shopify.operations() == ["ReturnState"]


def test_a_refund_with_nothing_processed_is_refused(shopify: Shopify) -> None:
    shopify.on("ReturnState", state(processable=4))
    result = connector().push_return(update(ReturnAction.REFUND, refund=True))
    assert not result.ok
    assert result.error == "return #1001-R1: nothing processed is left to refund"


# webhooks -----------------------------------------------------------------------------


def signed(body: bytes, topic: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": "b1e0c8e2-0d3c-4f3e-9d55-7c1c3f0a9c11",
        "X-Shopify-Triggered-At": "2026-11-21T09:14:03.123Z",
    }


def test_a_returns_request_delivery_maps_without_a_call(shopify: Shopify) -> None:
    body = json.dumps(recorded("returns_request_webhook.json")).encode()
    (delivered,) = connector().parse_webhook(signed(body, "returns/request"), body).returns
    assert delivered.external_id == "gid://shopify/Return/3847520487"
    assert delivered.status == ReturnStatus.REQUESTED
    assert delivered.updated_at == datetime(2026, 11, 21, 9, 14, 3, 123000, tzinfo=UTC)
    assert delivered.lines[0].order_external_line_id == "gid://shopify/LineItem/15318460088551"
    assert shopify.sent == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("returns/close", {"id": 3847684327, "order_id": 5948210151655, "status": "closed"}),
        ("returns/process", {"id": 3847684327}),
        (
            "reverse_deliveries/attach_deliverable",
            {"id": 5, "return": {"id": 3847684327, "admin_graphql_api_id": None}},
        ),
    ],
)
def test_a_thin_delivery_reads_the_return_it_names(
    shopify: Shopify, topic: str, payload: dict[str, Any]
) -> None:
    named = "gid://shopify/Return/3847684327"
    owner = payload.get("return", payload)
    owner["admin_graphql_api_id"] = named
    node = recorded("order_returns_page.json")["data"]["orders"]["nodes"][2]["returns"]["nodes"][0]
    shopify.on("Return", {"return": node})
    body = json.dumps(payload).encode()
    (read,) = connector().parse_webhook(signed(body, topic), body).returns
    assert read.external_id == named
    assert read.status == ReturnStatus.CLOSED
    assert shopify.variables("Return") == [{"id": named}]


def test_a_delivery_for_a_return_shopify_no_longer_has_is_kept_as_it_came(
    shopify: Shopify,
) -> None:
    shopify.on("Return", {"return": None})
    body = json.dumps({"id": 9, "admin_graphql_api_id": "gid://shopify/Return/9"}).encode()
    with pytest.raises(PayloadError) as caught:
        connector().parse_webhook(signed(body, "returns/cancel"), body)
    assert caught.value.raw == body.decode()
    assert caught.value.external_id == "gid://shopify/Return/9"


def test_a_returns_delivery_with_a_bad_signature_is_refused(shopify: Shopify) -> None:
    body = json.dumps(recorded("returns_request_webhook.json")).encode()
    with pytest.raises(InvalidSignature):
        connector().parse_webhook(signed(body, "returns/request", "wrong"), body)
    assert shopify.sent == []


def test_a_quarantined_return_node_maps_again(shopify: Shopify) -> None:
    node = recorded("order_returns_page.json")["data"]["orders"]["nodes"][0]["returns"]["nodes"][0]
    (again,) = connector().map_quarantined(QUARANTINED_RETURN, json.dumps(node)).returns
    assert again.external_id == node["id"]
    assert shopify.sent == []


def test_a_quarantined_returns_delivery_reads_its_return_again(shopify: Shopify) -> None:
    node = recorded("order_returns_page.json")["data"]["orders"]["nodes"][2]["returns"]["nodes"][0]
    shopify.on("Return", {"return": node})
    kept = json.dumps({"id": 3847684327, "admin_graphql_api_id": node["id"], "status": "closed"})
    (again,) = connector().map_quarantined("webhook", kept).returns
    assert again.status == ReturnStatus.CLOSED
    assert shopify.variables("Return") == [{"id": node["id"]}]


def test_an_order_whose_returns_did_not_read_is_read_again(shopify: Shopify) -> None:
    order = recorded("order_returns_page.json")["data"]["orders"]["nodes"][1]
    (again, other) = connector().map_quarantined(QUARANTINED_RETURN, json.dumps(order)).returns
    assert (again.name, other.name) == ("#1043-R1", "#1043-R2")
    with pytest.raises(PayloadError):
        connector().map_quarantined(QUARANTINED_RETURN, json.dumps({**order, "returns": {}}))


def test_a_process_refused_after_its_lost_answer_went_through_is_done(shopify: Shopify) -> None:
    landed = state(processable=2, disposed=[("RESTOCKED", 1), ("NOT_RESTOCKED", 1)])
    shopify.on("ReturnState", state(processable=4), landed)
    shopify.on("Locations", LOCATIONS)
    shopify.on("ReturnProcess", refusal("returnProcess", "Quantity exceeds the processable."))
    pushed = update(
        ReturnAction.PROCESS,
        units(1, ReturnDisposition.RESTOCK, "main"),
        units(1, ReturnDisposition.DAMAGED),
    )
    assert connector().push_return(pushed).ok
    assert shopify.operations() == ["ReturnState", "Locations", "ReturnProcess", "ReturnState"]


def test_a_process_shopify_refuses_and_did_not_take_is_a_refusal(shopify: Shopify) -> None:
    shopify.on("ReturnState", state(processable=4))
    shopify.on("ReturnProcess", refusal("returnProcess", "Return is closed."))
    result = connector().push_return(
        update(ReturnAction.PROCESS, units(1, ReturnDisposition.MISSING))
    )
    assert not result.ok
    assert result.error == "Return is closed."
