"""The marketplaces' specifications, as the project's own compact copy.

The files beside this module are made by :mod:`sandbox.reference.build` from the
official files, and eBay's facts by :mod:`sandbox.reference.ebay_facts` from eBay's
contracts, which may not be redistributed (see README.md here for where they came from
and how to regenerate them). They are data the simulators and conformance tests read;
nothing outside the repository is needed at run or test time.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any, Final

REFERENCE_DIR: Final = Path(__file__).resolve().parent
SHOPIFY_ADMIN_SCHEMA: Final = REFERENCE_DIR / "shopify" / "admin_2026-10.json.gz"
USAGE_PLAN_KEY: Final = "x-omnisync-usage-plan"
"""Where each Amazon operation keeps its published rate: ``{"rate", "burst"}``."""
EBAY_CONTRACTS: Final = REFERENCE_DIR / "ebay" / "contracts.json"
WOOCOMMERCE_EXAMPLES: Final = REFERENCE_DIR / "woocommerce" / "examples"
"""WooCommerce's documented response bodies, ``<resource>--<section>--1.json``."""
ENUM_TYPE_KEY: Final = "x-omnisync-enum-type"
"""On an eBay string field: the enumeration type its documentation links to (eBay lists the
values only on that page, so they are not in the contracts, nor here)."""


class ReferenceMissing(FileNotFoundError):
    """A reference file is not in the project (a broken checkout or install)."""


@cache
def amazon_model(file_name: str) -> dict[str, Any]:
    """One of Amazon's OpenAPI models, e.g. ``ordersV0.json`` (parsed once)."""
    return _load_json(REFERENCE_DIR / "amazon" / "models" / file_name)


@cache
def amazon_schema(file_name: str) -> dict[str, Any]:
    """One of Amazon's JSON schemas, e.g. ``listings-feed-schema-v2.json`` (parsed once)."""
    return _load_json(REFERENCE_DIR / "amazon" / "schemas" / file_name)


@cache
def ebay_contracts() -> dict[str, Any]:
    """The facts derived from eBay's contracts (parsed once): ``{"about", "contracts"}``,
    each contract ``{"version", "operations": {operationId: ...}, "components"}``."""
    return _load_json(EBAY_CONTRACTS)


@cache
def woocommerce_example(name: str) -> Any:
    """One of WooCommerce's documented response bodies, by its file's stem, e.g.
    ``orders--list-all-orders--1`` (parsed once; treat it as read-only)."""
    path = WOOCOMMERCE_EXAMPLES / f"{name}.json"
    if not path.is_file():
        raise ReferenceMissing(f"{path} is missing from the project")
    return json.loads(path.read_text(encoding="utf-8"))


def woocommerce_example_names() -> list[str]:
    """The stems of every WooCommerce example kept here, sorted."""
    return sorted(path.stem for path in WOOCOMMERCE_EXAMPLES.glob("*.json"))


def shopify_introspection() -> dict[str, Any]:
    """Shopify's Admin API introspection result (``{"data": {"__schema": ...}}``)."""
    if not SHOPIFY_ADMIN_SCHEMA.is_file():
        raise ReferenceMissing(f"{SHOPIFY_ADMIN_SCHEMA} is missing from the project")
    with gzip.open(SHOPIFY_ADMIN_SCHEMA) as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReferenceMissing(f"{path} is missing from the project")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
