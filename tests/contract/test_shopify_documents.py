"""Every GraphQL document the Shopify connector sends validates against Shopify's
official Admin schema, version 2026-10."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, execute_sync, parse, validate

from omnisync.connectors.shopify import documents
from tests.contract.kits import recorded
from tests.support.reference import shopify_schema


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_document_is_valid_against_the_official_schema(name: str) -> None:
    document = parse(documents.ALL[name])
    assert validate(shopify_schema(), document) == []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.name.value for op in operations if op.name] == [name]


def test_every_document_constant_is_listed() -> None:
    constants = {
        value
        for key, value in vars(documents).items()
        if key.isupper()
        and isinstance(value, str)
        and "{" in value
        and value.lstrip().startswith(("query", "mutation"))
    }
    assert constants == set(documents.ALL.values())


def test_a_document_the_schema_rejects_is_caught() -> None:
    bad = parse("query Bad { shop { nameThatDoesNotExist } }")
    assert validate(shopify_schema(), bad)


RECORDED: dict[str, tuple[str, dict[str, Any]]] = {
    "Orders": ("orders_page.json", {"first": 50, "after": None, "query": "updated_at:>='x'"}),
    "Variants": ("variants_page.json", {"first": 50, "after": None}),
    "SetQuantities": (
        "set_quantities.json",
        {"input": {"name": "available", "reason": "r", "quantities": []}, "key": "k"},
    ),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_payloads_are_exact_answers_to_our_documents(name: str) -> None:
    """Executing the document over the recorded data gives the recorded data back: the
    fixture holds exactly the fields the document selects, with types the schema allows."""
    fixture, variables = RECORDED[name]
    data = recorded("shopify", fixture)["data"]
    result = execute_sync(
        shopify_schema(),
        parse(documents.ALL[name]),
        root_value=data,
        variable_values=variables,
        operation_name=name,
    )
    assert result.errors is None
    assert result.data == data
