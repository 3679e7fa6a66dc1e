"""The recorded returns payloads are exact answers to the connector's returns documents
under Shopify's official schema (the documents themselves are validated with every other
one, in test_shopify_documents.py; the variables each push sends, in
tests/unit/test_shopify_returns_connector.py)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLAbstractType, GraphQLResolveInfo, execute_sync, parse

from omnisync.connectors.shopify import documents
from tests.contract.kits import recorded
from tests.support.reference import shopify_schema


def by_fields(value: Any, info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType) -> str:
    """The type of an interface's or union's node: the first possible type having every
    field the recorded node has (the recording, as Shopify's answers, has no __typename)."""
    for candidate in info.schema.get_possible_types(abstract):
        if set(value) <= set(candidate.fields):
            return candidate.name
    raise AssertionError(f"no type of {abstract.name} has the fields {sorted(value)}")


def test_the_recorded_page_of_returns_is_an_exact_answer_to_order_returns() -> None:
    data = recorded("shopify", "order_returns_page.json")["data"]
    variables = {"first": 5, "after": None, "query": "updated_at:>='2026-11-21T00:00:00Z'"}
    result = execute_sync(
        shopify_schema(),
        parse(documents.ORDER_RETURNS),
        root_value=data,
        variable_values=variables,
        operation_name="OrderReturns",
        type_resolver=by_fields,
    )
    assert result.errors is None
    assert result.data == data


def test_the_recorded_page_covers_every_return_status() -> None:
    orders = recorded("shopify", "order_returns_page.json")["data"]["orders"]["nodes"]
    statuses = {node["status"] for order in orders for node in order["returns"]["nodes"]}
    assert statuses == set(shopify_schema().get_type("ReturnStatus").values)  # type: ignore[union-attr]
