"""The Shopify connector's cost estimates agree with the calculated cost of its documents."""

from __future__ import annotations

from typing import Any

from omnisync.connectors.shopify import connector, documents, returns
from omnisync.sandbox.shopify import ShopifySimulator

# The variables the connector sends (page sizes from connectors/shopify/connector.py).
VARIABLES: dict[str, dict[str, Any]] = {
    "Shop": {},
    "Locations": {"first": 250},
    "Orders": {
        "first": connector.ORDERS_PER_PAGE,
        "after": None,
        "query": "updated_at:>='2026-01-01T00:00:00Z'",
    },
    "OrderLineItems": {
        "id": "gid://shopify/Order/1",
        "first": connector.LINE_ITEMS_PER_PAGE,
        "after": None,
    },
    "Variants": {"first": connector.VARIANTS_PER_PAGE, "after": None},
    "InventoryLevel": {
        "item": "gid://shopify/InventoryItem/1",
        "location": "gid://shopify/Location/1",
    },
    "SetQuantities": {
        "input": {"name": "available", "reason": "correction", "quantities": []},
        "key": "k",
    },
    "FulfillmentOrders": {"id": "gid://shopify/Order/1"},
    "FulfillmentCreate": {"fulfillment": {"lineItemsByFulfillmentOrder": []}},
    "OrderCancel": {
        "orderId": "gid://shopify/Order/1",
        "reason": "OTHER",
        "staffNote": None,
        "notifyCustomer": False,
        "restock": False,
        "refundMethod": {"originalPaymentMethodsRefund": True},
    },
    "OrderReturns": {
        "first": returns.RETURN_ORDERS_PER_PAGE,
        "after": None,
        "query": "updated_at:>='2026-01-01T00:00:00Z'",
    },
    "MoreOrderReturns": {"id": "gid://shopify/Order/1", "after": None},
    "ReturnLines": {"id": "gid://shopify/Return/1", "after": None},
    "Return": {"id": "gid://shopify/Return/1"},
    "ReturnState": {"id": "gid://shopify/Return/1"},
    "ReturnApprove": {"input": {"id": "gid://shopify/Return/1", "notifyCustomer": True}},
    "ReturnDecline": {"input": {"id": "gid://shopify/Return/1", "declineReason": "OTHER"}},
    "ReturnRefundOutcome": {"id": "gid://shopify/Return/1", "lines": []},
    "ReturnProcess": {"input": {"returnId": "gid://shopify/Return/1", "returnLineItems": []}},
    "SuggestedRefund": {"id": "gid://shopify/Order/1", "lines": []},
    "RefundCreate": {"input": {"orderId": "gid://shopify/Order/1"}, "key": "k"},
}


def test_estimates_match_the_calculated_cost_and_stay_under_the_query_limit() -> None:
    assert set(VARIABLES) == set(documents.ALL) == set(documents.REQUESTED_COST)
    shop = ShopifySimulator("cost-check")  # in-process: no server, the costs are the point
    try:
        for name, document in documents.ALL.items():
            answer = shop.execute(document, VARIABLES[name], name)
            requested = answer["extensions"]["cost"]["requestedQueryCost"]
            assert requested == documents.REQUESTED_COST[name], name
            assert requested <= 1000, name
    finally:
        shop.stop()
