"""The marketplaces' own specifications in ../shared/reference (beside the repository)."""

from __future__ import annotations

import gzip
import json
import os
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema

REPOSITORY = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    folder = Path(
        os.environ.get("OMNISYNC_REFERENCE_DIR", REPOSITORY.parent / "shared" / "reference")
    )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is missing: the reference specifications live in ../shared/reference "
            "beside the repository (or set OMNISYNC_REFERENCE_DIR)"
        )
    return folder


@cache
def shopify_schema() -> GraphQLSchema:
    path = reference_dir() / "shopify" / "admin_2026-10.json.gz"
    with gzip.open(path) as handle:
        schema = build_client_schema(json.load(handle)["data"])
    schema._validation_errors = []  # Shopify's schema trips one strict check on deprecations
    return schema
