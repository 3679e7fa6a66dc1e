"""Rebuild the simulators' reference data from the marketplaces' official files.

    python -m omnisync.sandbox.reference.build SOURCE

``SOURCE`` is a folder holding the official files as the marketplaces publish them:
``amazon/models/*.json``, ``amazon/schemas/*.json``, ``amazon/LICENSE``,
``amazon/NOTICE``, ``shopify/admin_2026-10.json.gz`` and ``shopify/LICENSE``. The
compact copies land beside this module, with each source's licence and a
``provenance.json`` (where each file came from and the SHA-256 of input and output).

What is kept: every structural fact (paths, operations, parameters, types, fields,
arguments, enum values, JSON schemas, Amazon's sandbox request/response pairs);
what is dropped: prose (``description`` and ``summary`` strings). Amazon states each
operation's rate limit only in prose, so it is lifted first into the operation's
``x-omnisync-usage-plan`` (``{"rate": per second, "burst": n}``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

TARGET: Final = Path(__file__).resolve().parent
USAGE_PLAN_KEY: Final = "x-omnisync-usage-plan"
AMAZON_MODELS: Final = (
    "ordersV0.json",
    "orders_2026-01-01.json",
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
    "notifications.json",
    "reports_2021-06-30.json",
)
SHOPIFY_SCHEMA: Final = "admin_2026-10.json.gz"
SOURCES: Final = {
    "amazon": {
        "source": "Amazon selling-partner-api-models (models/ and schemas/)",
        "version": "commit 34dc93f, 2026-08",
        "licence": "Apache-2.0 (LICENSE, NOTICE)",
        "licence_files": ["LICENSE", "NOTICE"],
    },
    "shopify": {
        "source": "Shopify Admin GraphQL API introspection result, as shipped in the "
        "@shopify/dev-mcp npm package",
        "version": "API 2026-10, @shopify/dev-mcp 1.16.0",
        "licence": "ISC (LICENSE)",
        "licence_files": ["LICENSE"],
    },
    "woocommerce": {
        "source": "WooCommerce REST API v3 documentation (woocommerce/woocommerce-rest-api-docs,"
        " wp-api-v3): its response examples, as JSON",
        "version": "commit 13d6196",
        "licence": "Apache-2.0 (LICENSE, NOTICE; kept here, the source folder has none)",
        "licence_files": [],
    },
}
"""Update ``version`` here when regenerating from newer files."""

PROSE_KEYS: Final = frozenset({"description", "summary"})
VERBATIM_KEYS: Final = frozenset({"x-amzn-api-sandbox", "example", "examples", "x-example"})
"""Subtrees that are payloads, not schema: a field called ``description`` there is data."""
_HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
_USAGE_PLAN: Final = re.compile(r"\|\s*([0-9]*\.?[0-9]+)\s*\|\s*([0-9]+)\s*\|")


def strip_prose(node: Any) -> Any:
    """``node`` without prose: ``description``/``summary`` keys whose value is text (or
    null). A property *named* ``description`` has a schema (an object) as its value, so
    it stays; payload subtrees (:data:`VERBATIM_KEYS`) are copied untouched."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if key in PROSE_KEYS and (value is None or isinstance(value, str)):
            continue
        kept[key] = value if key in VERBATIM_KEYS else strip_prose(value)
    return kept


def lift_usage_plans(model: dict[str, Any]) -> dict[str, Any]:
    """Copy each operation's ``| rate | burst |`` row from its description into
    :data:`USAGE_PLAN_KEY` (in place; returns ``model``)."""
    for item in model.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _HTTP_METHODS or not isinstance(operation, dict):
                continue
            found = _USAGE_PLAN.search(operation.get("description") or "")
            if found is not None:
                operation[USAGE_PLAN_KEY] = {
                    "rate": float(found.group(1)),
                    "burst": int(found.group(2)),
                }
    return model


def compact_amazon_model(model: dict[str, Any]) -> Any:
    return strip_prose(lift_usage_plans(model))


def compact_shopify_schema(introspection: dict[str, Any]) -> Any:
    return strip_prose(introspection)


def build(source: Path, target: Path = TARGET) -> dict[str, Any]:
    """Write the compact reference from ``source`` into ``target``; the provenance."""
    provenance: dict[str, Any] = {}
    outputs: dict[str, tuple[Path, Path]] = {}
    amazon, shopify = source / "amazon", source / "shopify"
    for name in AMAZON_MODELS:
        written = target / "amazon" / "models" / name
        _write_json(written, compact_amazon_model(_read_json(amazon / "models" / name)))
        outputs[f"amazon/models/{name}"] = (amazon / "models" / name, written)
    for schema in sorted((amazon / "schemas").glob("*.json")):
        written = target / "amazon" / "schemas" / schema.name
        loaded = _read_json(schema)
        # An example document is a payload: copied as it is.
        _write_json(
            written, loaded if schema.name.endswith(".example.json") else strip_prose(loaded)
        )
        outputs[f"amazon/schemas/{schema.name}"] = (schema, written)
    with gzip.open(shopify / SHOPIFY_SCHEMA) as handle:
        introspection = json.load(handle)
    written = target / "shopify" / SHOPIFY_SCHEMA
    written.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the file byte-identical when nothing changed.
    with written.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(_dumps(compact_shopify_schema(introspection), indent=None).encode())
    outputs[f"shopify/{SHOPIFY_SCHEMA}"] = (shopify / SHOPIFY_SCHEMA, written)
    # WooCommerce's documented response bodies are payloads: copied as they are.
    for example in sorted((source / "woocommerce" / "examples").glob("*.json")):
        written = target / "woocommerce" / "examples" / example.name
        _write_json(written, _read_json(example))
        outputs[f"woocommerce/examples/{example.name}"] = (example, written)
    for system, facts in SOURCES.items():
        for licence in facts["licence_files"]:
            shutil.copyfile(source / system / licence, target / system / licence)
        provenance[system] = {
            **{k: v for k, v in facts.items() if k != "licence_files"},
            "files": {
                key: {"source_sha256": _sha256(origin), "sha256": _sha256(copy)}
                for key, (origin, copy) in outputs.items()
                if key.startswith(f"{system}/")
            },
        }
    # Entries another script writes (eBay's facts: ebay_facts.py) stay as they are.
    kept = target / "provenance.json"
    earlier = _read_json(kept) if kept.is_file() else {}
    others = {system: facts for system, facts in earlier.items() if system not in SOURCES}
    _write_json(kept, {**provenance, **others})
    return provenance


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _dumps(data: Any, *, indent: int | None) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(data, indent=indent, ensure_ascii=False, separators=separators)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dumps(data, indent=1) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="folder with the official files")
    arguments = parser.parse_args(argv)
    missing = [
        str(arguments.source / system / name)
        for system, names in (
            ("amazon", [f"models/{m}" for m in AMAZON_MODELS] + ["LICENSE", "NOTICE"]),
            ("shopify", [SHOPIFY_SCHEMA, "LICENSE"]),
            ("woocommerce", ["examples/orders--list-all-orders--1.json"]),
        )
        for name in names
        if not (arguments.source / system / name).is_file()
    ]
    if missing:
        print("missing official files:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    provenance = build(arguments.source)
    count = sum(len(facts["files"]) for facts in provenance.values())
    print(f"{count} files written to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
