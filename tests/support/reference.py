"""The project's copy of the marketplaces' specifications (sandbox/reference/), read by
tests on their own so that a test does not trust the simulator's reading of them."""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_client_schema

from omnisync.sandbox.reference import REFERENCE_DIR, shopify_introspection

__all__ = ["REFERENCE_DIR", "shopify_schema"]


@cache
def shopify_schema() -> GraphQLSchema:
    schema = build_client_schema(shopify_introspection()["data"])
    schema._validation_errors = []  # Shopify's schema trips one strict check on deprecations
    return schema
