"""Shopify returns to core's, and core's return updates to Shopify's inputs: pure mapping
over recorded payloads (tests/contract/fixtures/shopify/)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omnisync.connectors.base import PayloadError
from omnisync.connectors.shopify.mapping import order_from_node, order_from_webhook
from omnisync.connectors.shopify.return_mapping import (
    DISPOSITION_TYPES,
    ProcessRefused,
    already_processed,
    decline_reason,
    process_landed,
    process_lines,
    return_from_node,
    return_from_webhook,
    return_gid,
    return_state,
    return_status,
)
from omnisync.core.dto import ReturnUpdate, ReturnUpdateLine
from omnisync.core.types import ReturnAction, ReturnDisposition, ReturnStatus

FIXTURES = Path(__file__).parents[1] / "contract" / "fixtures" / "shopify"
TRIGGERED = datetime(2026, 11, 21, 9, 14, 3, tzinfo=UTC)
RETURN = "gid://shopify/Return/77"
LINE = "gid://shopify/ReturnLineItem/501"
FULFILLED = "gid://shopify/FulfillmentLineItem/601"
SHELF = "gid://shopify/Location/9"
RFO_LINE = "gid://shopify/ReverseFulfillmentOrderLineItem/701"
"""The reverse fulfillment order line of state_node's one line."""


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def returns_of_page() -> list[dict[str, Any]]:
    orders = recorded("order_returns_page.json")["data"]["orders"]["nodes"]
    return [node for order in orders for node in order["returns"]["nodes"]]


def mapped(node: dict[str, Any]) -> Any:
    return return_from_node(node, node["returnLineItems"]["nodes"])


@pytest.mark.parametrize(
    ("shopify", "tracked", "ours"),
    [
        ("REQUESTED", False, ReturnStatus.REQUESTED),
        ("OPEN", False, ReturnStatus.APPROVED),
        ("OPEN", True, ReturnStatus.IN_TRANSIT),
        ("CLOSED", False, ReturnStatus.CLOSED),
        ("CLOSED", True, ReturnStatus.CLOSED),
        ("DECLINED", False, ReturnStatus.DECLINED),
        ("CANCELED", False, ReturnStatus.CANCELLED),
        ("requested", False, ReturnStatus.REQUESTED),
        ("open", False, ReturnStatus.APPROVED),
    ],
)
def test_every_shopify_return_status_has_its_own(shopify: str, tracked: bool, ours: Any) -> None:
    assert return_status(shopify, tracked) == ours


def test_a_status_shopify_does_not_have_is_not_guessed() -> None:
    with pytest.raises(KeyError):
        return_status("ARCHIVED", False)


def test_every_recorded_return_maps_with_its_status() -> None:
    returns = [mapped(node) for node in returns_of_page()]
    assert [(r.name, r.status, r.channel_status) for r in returns] == [
        ("#1042-R1", ReturnStatus.REQUESTED, "REQUESTED"),
        ("#1043-R1", ReturnStatus.IN_TRANSIT, "OPEN"),
        ("#1043-R2", ReturnStatus.DECLINED, "DECLINED"),
        ("#1044-R1", ReturnStatus.CLOSED, "CLOSED"),
        ("#1044-R2", ReturnStatus.CANCELLED, "CANCELED"),
    ]


def test_a_return_is_keyed_by_its_gid_and_names_its_order_and_lines() -> None:
    first = mapped(returns_of_page()[0])
    assert first.external_id == "gid://shopify/Return/3847520487"
    assert first.order_external_id == "gid://shopify/Order/5948021637351"
    (line,) = first.lines
    assert line.external_line_id == "gid://shopify/ReturnLineItem/68810859609"
    assert line.quantity == 1
    assert line.channel_sku == "MUG-BLUE"
    assert line.reason == "Size was too small: Runs small"
    assert line.customer_note == "Would like a larger one"
    assert first.reason == line.reason
    assert first.customer_note == "Would like a larger one"
    assert first.requested_at == datetime(2026, 11, 21, 9, 14, 1, tzinfo=UTC)
    assert first.updated_at == datetime(2026, 11, 21, 9, 14, 2, tzinfo=UTC)  # the order's
    assert first.tracking_number is None


def test_the_tracking_of_a_reverse_delivery_is_kept() -> None:
    opened = mapped(returns_of_page()[1])
    assert opened.tracking_number == "1Z999AA10123456784"
    assert opened.reason == "Damaged or defective: Cracked; Changed my mind"
    assert [line.quantity for line in opened.lines] == [2, 1]


def test_a_line_without_a_sku_names_its_order_line_only() -> None:
    (line,) = mapped(returns_of_page()[4]).lines
    assert line.channel_sku is None
    assert line.order_external_line_id == "gid://shopify/LineItem/15318805430503"


def test_the_order_line_a_return_line_names_is_the_order_mappings_line_id() -> None:
    node = returns_of_page()[0]
    order_line = node["returnLineItems"]["nodes"][0]["fulfillmentLineItem"]["lineItem"]
    order = order_from_node(
        {
            "id": node["order"]["id"],
            "createdAt": "2026-11-20T10:00:00Z",
            "updatedAt": "2026-11-20T10:00:00Z",
            "currencyCode": "USD",
            "totalPriceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "USD"}},
        },
        [{**order_line, "title": "Mug", "quantity": 1, "currentQuantity": 1}],
    )
    (mapped_line,) = mapped(node).lines
    assert mapped_line.order_external_line_id == order.lines[0].external_line_id


def test_the_order_line_a_webhook_return_line_names_is_the_order_webhooks_line_id() -> None:
    hook = recorded("returns_request_webhook.json")
    order_line = hook["return_line_items"][0]["fulfillment_line_item"]["line_item"]
    order = order_from_webhook(
        {
            "admin_graphql_api_id": hook["order"]["admin_graphql_api_id"],
            "created_at": "2026-11-20T10:00:00+00:00",
            "updated_at": "2026-11-20T10:00:00+00:00",
            "line_items": [{**order_line, "sku": "MUG-BLUE", "quantity": 1}],
        }
    )
    (line,) = return_from_webhook(hook, TRIGGERED).lines
    assert line.order_external_line_id == order.lines[0].external_line_id


def test_a_returns_request_delivery_maps_as_it_comes() -> None:
    delivered = return_from_webhook(recorded("returns_request_webhook.json"), TRIGGERED)
    polled = mapped(returns_of_page()[0])
    assert delivered.external_id == polled.external_id
    assert delivered.order_external_id == polled.order_external_id
    assert delivered.status == ReturnStatus.REQUESTED
    assert delivered.name == "#1042-R1"
    assert delivered.updated_at == delivered.requested_at == TRIGGERED
    (line,) = delivered.lines
    assert (line.external_line_id, line.quantity) == (polled.lines[0].external_line_id, 1)
    assert line.reason == "size too small: Runs small"


def test_an_unverified_line_sinks_its_return_with_the_raw_node() -> None:
    node = copy.deepcopy(returns_of_page()[1])
    del node["returnLineItems"]["nodes"][1]["fulfillmentLineItem"]
    with pytest.raises(PayloadError) as caught:
        mapped(node)
    assert caught.value.external_id == node["id"]
    assert json.loads(caught.value.raw)["id"] == node["id"]
    assert str(caught.value).startswith(f"return {node['id']}: ")


def test_a_return_with_an_unknown_status_is_refused() -> None:
    node = {**returns_of_page()[0], "status": "ARCHIVED"}
    with pytest.raises(PayloadError):
        mapped(node)


def test_the_return_a_payload_is_about() -> None:
    assert return_gid(returns_of_page()[0]) == "gid://shopify/Return/3847520487"
    assert return_gid({"id": 5, "admin_graphql_api_id": RETURN}) == RETURN
    assert return_gid({"id": 1, "return": {"admin_graphql_api_id": RETURN}}) == RETURN
    assert return_gid({"id": 1, "admin_graphql_api_id": "gid://shopify/Order/1"}) is None
    assert return_gid({"inventory_item_id": 1}) is None
    assert return_gid([RETURN]) is None


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("Final sale item", "FINAL_SALE"),
        ("the return period ended last week", "RETURN_PERIOD_ENDED"),
        ("return-period ended", "RETURN_PERIOD_ENDED"),
        ("worn and washed", "OTHER"),
        (None, "OTHER"),
    ],
)
def test_a_decline_names_shopifys_reason_or_other(words: str | None, reason: str) -> None:
    assert decline_reason(words) == reason


# writing ------------------------------------------------------------------------------


def state_node(
    processable: int = 4, disposed: list[tuple[str, int]] | None = None
) -> dict[str, Any]:
    """A ReturnState answer: one line of 4 units, its reverse fulfillment order line."""
    return {
        "id": RETURN,
        "name": "#1001-R1",
        "status": "OPEN",
        "order": {"id": "gid://shopify/Order/1001", "refunds": [{"note": None}]},
        "returnLineItems": {
            "nodes": [
                {
                    "id": LINE,
                    "quantity": 4,
                    "processableQuantity": processable,
                    "processedQuantity": 4 - processable,
                    "refundableQuantity": 4 - processable,
                    "refundedQuantity": 0,
                    "fulfillmentLineItem": {
                        "id": FULFILLED,
                        "lineItem": {"id": "gid://shopify/LineItem/11"},
                    },
                }
            ],
            "pageInfo": {"hasNextPage": False},
        },
        "reverseFulfillmentOrders": {
            "nodes": [
                {
                    "lineItems": {
                        "nodes": [
                            {
                                "id": RFO_LINE,
                                "totalQuantity": 4,
                                "fulfillmentLineItem": {"id": FULFILLED},
                                "dispositions": [
                                    {"type": kind, "quantity": n, "location": None}
                                    for kind, n in disposed or []
                                ],
                            }
                        ]
                    }
                }
            ]
        },
    }


def disposed(kind: str, location: str | None = None, quantity: int = 1) -> dict[str, Any]:
    """One disposition of state_node's line, as returnProcess is sent it."""
    sent: dict[str, Any] = {
        "reverseFulfillmentOrderLineItemId": RFO_LINE,
        "quantity": quantity,
        "dispositionType": kind,
    }
    if location is not None:
        sent["locationId"] = location
    return sent


def process(
    *lines: tuple[int, ReturnDisposition, str | None], told_before: int = 0
) -> ReturnUpdate:
    return ReturnUpdate(
        action=ReturnAction.PROCESS,
        return_external_id=RETURN,
        order_external_id="gid://shopify/Order/1001",
        lines=tuple(
            ReturnUpdateLine(
                external_line_id=LINE,
                quantity=n,
                disposition=d,
                location=loc,
                told_before=told_before,
            )
            for n, d, loc in lines
        ),
        idempotency_key="k",
    )


def test_every_disposition_becomes_shopifys() -> None:
    assert DISPOSITION_TYPES == {
        ReturnDisposition.RESTOCK: "RESTOCKED",
        ReturnDisposition.DAMAGED: "NOT_RESTOCKED",
        ReturnDisposition.MISSING: "MISSING",
        ReturnDisposition.NOT_RETURNED: "NOT_RESTOCKED",
    }


def test_processing_gives_each_unit_its_disposition_and_a_restock_its_location() -> None:
    update = process(
        (1, ReturnDisposition.RESTOCK, "shelf"),
        (1, ReturnDisposition.DAMAGED, None),
        (1, ReturnDisposition.MISSING, None),
        (1, ReturnDisposition.NOT_RETURNED, None),
    )
    asked: list[str | None] = []

    def location_of(code: str | None) -> str:
        asked.append(code)
        return SHELF

    (line,) = process_lines(return_state(state_node()), update, location_of)
    assert line == {
        "id": LINE,
        "quantity": 4,
        "dispositions": [
            disposed("RESTOCKED", SHELF),
            disposed("NOT_RESTOCKED"),
            disposed("MISSING"),
            disposed("NOT_RESTOCKED"),
        ],
    }
    assert asked == ["shelf"]


def test_more_units_than_shopify_has_left_to_dispose_are_refused() -> None:
    state = return_state(state_node(processable=1, disposed=[("RESTOCKED", 3)]))
    with pytest.raises(ProcessRefused, match="1 unit"):
        process_lines(state, process((2, ReturnDisposition.DAMAGED, None)), lambda c: SHELF)


def test_a_line_the_return_does_not_have_is_refused() -> None:
    update = process((1, ReturnDisposition.DAMAGED, None))
    other = update.model_copy(
        update={"lines": (update.lines[0].model_copy(update={"external_line_id": "x"}),)}
    )
    with pytest.raises(ProcessRefused, match="no line x"):
        process_lines(return_state(state_node()), other, lambda c: SHELF)


def test_a_process_is_not_sent_again_once_shopify_holds_its_dispositions() -> None:
    update = process((3, ReturnDisposition.RESTOCK, "shelf"), (1, ReturnDisposition.DAMAGED, None))
    before = return_state(state_node(processable=4))
    after = return_state(
        state_node(processable=0, disposed=[("RESTOCKED", 3), ("NOT_RESTOCKED", 1)])
    )
    assert not already_processed(before, update)
    assert already_processed(after, update)


def test_a_second_process_of_other_units_is_not_taken_for_a_retry() -> None:
    state = return_state(state_node(processable=3, disposed=[("RESTOCKED", 1)]))
    second = process((1, ReturnDisposition.RESTOCK, "shelf"), told_before=1)
    assert not already_processed(state, second)
    assert not already_processed(state, process((3, ReturnDisposition.DAMAGED, None)))
    assert not already_processed(
        return_state(state_node(processable=0, disposed=[("RESTOCKED", 4)])),
        process((1, ReturnDisposition.DAMAGED, None)),
    )


def test_a_second_process_retried_after_it_went_through_is_not_sent_again() -> None:
    """The hub told Shopify of 1 unit before; this push of 1 more went through, its
    answer was lost, and the next run retries it."""
    second = process((1, ReturnDisposition.RESTOCK, "shelf"), told_before=1)
    landed = return_state(state_node(processable=2, disposed=[("RESTOCKED", 1), ("RESTOCKED", 1)]))
    assert already_processed(landed, second)


def test_a_process_whose_answer_was_lost_is_seen_to_have_landed() -> None:
    update = process((1, ReturnDisposition.RESTOCK, "shelf"), (1, ReturnDisposition.DAMAGED, None))
    before = return_state(state_node(processable=3, disposed=[("RESTOCKED", 1)]))
    landed = return_state(
        state_node(
            processable=1, disposed=[("RESTOCKED", 1), ("RESTOCKED", 1), ("NOT_RESTOCKED", 1)]
        )
    )
    other = return_state(state_node(processable=1, disposed=[("RESTOCKED", 1), ("MISSING", 2)]))
    assert process_landed(before, landed, update)
    assert not process_landed(before, before, update)
    assert not process_landed(before, other, update)
