"""Every GraphQL document the Shopify connector sends validates against Shopify's
official Admin schema, version 2026-10."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse, validate

from connectors.shopify import documents
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
