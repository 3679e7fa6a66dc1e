"""The marketplaces' own specifications in ../shared/reference (beside the repository).

Located by sandbox/reference.py, which the simulators use too."""

from __future__ import annotations

import gzip
import json
from functools import cache

from graphql import GraphQLSchema, build_client_schema

from sandbox.reference import reference_dir

__all__ = ["reference_dir", "shopify_schema"]


@cache
def shopify_schema() -> GraphQLSchema:
    path = reference_dir() / "shopify" / "admin_2026-10.json.gz"
    with gzip.open(path) as handle:
        schema = build_client_schema(json.load(handle)["data"])
    schema._validation_errors = []  # Shopify's schema trips one strict check on deprecations
    return schema
