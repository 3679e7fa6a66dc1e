"""Derive the project's eBay facts from eBay's OpenAPI 3 contracts.

    python -m omnisync.sandbox.reference.ebay_facts SOURCE

``SOURCE`` is a folder holding eBay's contracts as eBay publishes them:
``sell_inventory_v1_oas3.json``, ``sell_fulfillment_v1_oas3.json`` and
``commerce_notification_v1_oas3.json``. The result is ``ebay/contracts.json`` beside this
module, and the ``ebay`` entry of ``provenance.json``.

Why a derivation and not a copy (as for Amazon and Shopify): eBay publishes its contracts
under the eBay API License, which does not allow redistributing them. What the connector,
the simulator and their conformance tests need from them are facts: which operations
exist (method, full path, server), their parameters, the JSON structure of each request
and response body (types, formats, properties, items, enums, references) and the status
codes and error ids each operation documents. Only those are extracted, and only for the
operations the hub and the simulator use (:data:`SOURCES`); every prose text (descriptions,
summaries, examples, message templates, titles) is left behind.

One fact is lifted out of prose before it is dropped: eBay declares no ``enum`` in these
contracts; a string field whose values form an enumeration only links to the enumeration's
documentation page. The name of that type (e.g. ``OrderFulfillmentStatus``) is kept as
``x-omnisync-enum-type`` on the field; its values are not in the contracts, so they are
not here either.

The output is deterministic (sorted keys, compact separators): deriving twice from the
same contracts gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from omnisync.sandbox.reference import EBAY_CONTRACTS, ENUM_TYPE_KEY, REFERENCE_DIR

SOURCES: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "inventory": (
        "sell_inventory_v1_oas3.json",
        ("getInventoryItems", "getInventoryItem", "getOffers", "bulkUpdatePriceQuantity"),
    ),
    "fulfillment": (
        "sell_fulfillment_v1_oas3.json",
        ("getOrders", "getOrder", "createShippingFulfillment", "getShippingFulfillments"),
    ),
    "notification": ("commerce_notification_v1_oas3.json", ("getPublicKey",)),
}
"""Each contract: the file eBay publishes it as, and the operations the project uses."""

OBTAINED_FROM: Final = (
    "eBay's OpenAPI 3 contracts as eBay publishes them (copies in YosefHayim/ebay-mcp "
    "at 993608c6, 2025-12)"
)
"""Where the files were taken from; update it when regenerating from newer files."""

LICENCE: Final = (
    "eBay API License Agreement: the contracts may not be redistributed, so this is a "
    "derived extract of facts (structure, no prose), not the contracts"
)
FACTS_FILE: Final = EBAY_CONTRACTS.relative_to(REFERENCE_DIR).as_posix()
ERROR_SCHEMA: Final = "Error"
"""The contract's error item: always kept, as eBay's error envelope is ``{"errors": [Error]}``."""

_SCHEMA_REF: Final = "#/components/schemas/"
_HTTP_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options")
_PLAIN_KEYWORDS: Final = ("type", "format", "required", "enum", "nullable", "$ref")
_SUBSCHEMA_KEYWORDS: Final = ("items", "additionalProperties", "not")
_SUBSCHEMA_LISTS: Final = ("allOf", "oneOf", "anyOf")
_ENUM_LINK: Final = re.compile(r"/types/[A-Za-z]+:([A-Za-z0-9_]+)")
_SERVER_VARIABLE: Final = re.compile(r"\{([^}]+)\}")


class ContractError(ValueError):
    """A contract lacks what the project needs from it (an operation, a referenced type)."""


def reduce_schema(schema: Any) -> Any:
    """``schema`` reduced to its structure: the keywords a validator needs, nothing else.

    ``properties`` maps field names to schemas, so a field *named* ``description`` stays;
    a ``$ref`` loses the prose eBay writes beside it."""
    if not isinstance(schema, Mapping):
        return schema  # ``additionalProperties: true``/``false``
    reduced: dict[str, Any] = {key: schema[key] for key in _PLAIN_KEYWORDS if key in schema}
    if "properties" in schema:
        reduced["properties"] = {
            name: reduce_schema(field) for name, field in schema["properties"].items()
        }
    for key in _SUBSCHEMA_KEYWORDS:
        if key in schema:
            reduced[key] = reduce_schema(schema[key])
    for key in _SUBSCHEMA_LISTS:
        if key in schema:
            reduced[key] = [reduce_schema(part) for part in schema[key]]
    enum_type = _linked_enum_type(schema)
    if enum_type is not None:
        reduced[ENUM_TYPE_KEY] = enum_type
    return reduced


def derive_contract(document: Mapping[str, Any], operation_ids: Iterable[str]) -> dict[str, Any]:
    """The facts of ``operation_ids`` in one OpenAPI 3 ``document``, with every component
    schema they reach (plus the error item): ``{"version", "operations", "components"}``."""
    wanted = set(operation_ids)
    operations: dict[str, Any] = {}
    for template, item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping) or operation.get("operationId") not in wanted:
                continue
            servers = operation.get("servers") or item.get("servers") or document["servers"]
            host, base_path = _server(servers[0])
            operations[operation["operationId"]] = _operation(
                document,
                operation,
                method=method,
                path=base_path + template,
                host=host,
                path_parameters=item.get("parameters", []),
            )
    missing = sorted(wanted - operations.keys())
    if missing:
        raise ContractError(f"operations not in the contract: {', '.join(missing)}")
    schemas = _reachable_schemas(document, operations)
    return {
        "version": _version(document),
        "operations": operations,
        "components": {"schemas": schemas},
    }


def derive(
    contracts: Mapping[str, bytes],
    sources: Mapping[str, tuple[str, tuple[str, ...]]] = SOURCES,
) -> dict[str, Any]:
    """The whole facts file from the raw ``contracts`` (file name -> bytes as published)."""
    derived: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    for name, (file_name, operation_ids) in sources.items():
        raw = contracts[file_name]
        derived[name] = derive_contract(json.loads(raw), operation_ids)
        recorded[file_name] = {"version": derived[name]["version"], "sha256": _sha256(raw)}
    seen: dict[str, str] = {}
    for name, contract in derived.items():
        for operation_id in contract["operations"]:
            if operation_id in seen:
                raise ContractError(f"{operation_id} is in both {seen[operation_id]} and {name}")
            seen[operation_id] = name
    return {
        "about": {
            "what": "facts derived from eBay's OpenAPI 3 contracts by "
            "omnisync.sandbox.reference.ebay_facts; not the contracts",
            "licence": LICENCE,
            "obtained_from": OBTAINED_FROM,
            "sources": recorded,
        },
        "contracts": derived,
    }


def dumps(facts: Any) -> str:
    """The bytes of the facts file: compact, sorted, one trailing newline."""
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write(
    source: Path,
    target: Path = REFERENCE_DIR,
    sources: Mapping[str, tuple[str, tuple[str, ...]]] = SOURCES,
) -> dict[str, Any]:
    """Derive from the contracts in ``source`` into ``target``/:data:`FACTS_FILE` and record
    the ``ebay`` entry of ``target``/``provenance.json`` (the other systems' entries are
    kept as they are); returns that entry."""
    contracts = {name: (source / name).read_bytes() for name, _ in sources.values()}
    facts = derive(contracts, sources)
    written = target / FACTS_FILE
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(dumps(facts), encoding="utf-8")
    recorded = facts["about"]["sources"]
    entry = {
        "source": OBTAINED_FROM,
        "version": ", ".join(f"{name} {recorded[name]['version']}" for name in sorted(recorded)),
        "licence": LICENCE,
        "files": {
            FACTS_FILE: {
                "source_sha256": {name: recorded[name]["sha256"] for name in sorted(recorded)},
                "sha256": _sha256(written.read_bytes()),
            }
        },
    }
    provenance_file = target / "provenance.json"
    provenance = (
        json.loads(provenance_file.read_text(encoding="utf-8")) if provenance_file.is_file() else {}
    )
    provenance["ebay"] = entry
    provenance_file.write_text(
        json.dumps(provenance, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return entry


def _operation(
    document: Mapping[str, Any],
    operation: Mapping[str, Any],
    *,
    method: str,
    path: str,
    host: str,
    path_parameters: Iterable[Any],
) -> dict[str, Any]:
    parameters: dict[tuple[str, str], dict[str, Any]] = {}
    for declared in [*path_parameters, *operation.get("parameters", [])]:
        parameter = _resolve(document, declared)
        # An operation's own declaration overrides the path item's (OpenAPI 3.0).
        parameters[(parameter["in"], parameter["name"])] = {
            "name": parameter["name"],
            "in": parameter["in"],
            "required": bool(parameter.get("required", False)),
            "schema": reduce_schema(parameter.get("schema", {})),
        }
    facts: dict[str, Any] = {
        "method": method.upper(),
        "path": path,
        "host": host,
        "parameters": [parameters[key] for key in sorted(parameters)],
        "responses": {
            str(status): _response(document, response)
            for status, response in operation.get("responses", {}).items()
        },
    }
    if "requestBody" in operation:
        body = _resolve(document, operation["requestBody"])
        facts["requestBody"] = {
            "required": bool(body.get("required", False)),
            "content": _content(body),
        }
    security = operation.get("security", document.get("security", []))
    facts["scopes"] = sorted(
        {scope for need in security for scopes in need.values() for scope in scopes}
    )
    return facts


def _response(document: Mapping[str, Any], declared: Any) -> dict[str, Any]:
    response = _resolve(document, declared)
    facts: dict[str, Any] = {}
    if "content" in response:
        facts["content"] = _content(response)
    if "headers" in response:
        facts["headers"] = {
            name: reduce_schema(_resolve(document, header).get("schema", {}))
            for name, header in response["headers"].items()
        }
    codes = response.get("x-response-codes", {}).get("errors", {})
    if codes:
        facts["errorIds"] = {
            str(error_id): {key: code[key] for key in ("domain", "category") if key in code}
            for error_id, code in codes.items()
        }
    return facts


def _content(holder: Mapping[str, Any]) -> dict[str, Any]:
    return {
        media_type: reduce_schema(media.get("schema", {}))
        for media_type, media in holder["content"].items()
    }


def _reachable_schemas(
    document: Mapping[str, Any], operations: Mapping[str, Any]
) -> dict[str, Any]:
    available = document.get("components", {}).get("schemas", {})
    pending = sorted(_references(operations))
    if ERROR_SCHEMA in available:
        pending.append(ERROR_SCHEMA)
    kept: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        if name not in available:
            raise ContractError(f"{_SCHEMA_REF}{name} is referenced but not defined")
        kept[name] = reduce_schema(available[name])
        pending.extend(sorted(_references(kept[name]) - kept.keys()))
    return kept


def _references(node: Any) -> set[str]:
    """The component schemas ``node`` (reduced) refers to."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith(_SCHEMA_REF):
                    raise ContractError(f"unsupported reference {value}")
                found.add(value.removeprefix(_SCHEMA_REF))
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """A parameter, body, response or header, following a local ``$ref`` to it."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        reference: str = node["$ref"]
        if not reference.startswith("#/"):
            raise ContractError(f"unsupported reference {reference}")
        node = document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _server(server: Mapping[str, Any]) -> tuple[str, str]:
    """(host, base path) of an OpenAPI server, its variables at their defaults."""
    variables = server.get("variables", {})
    url = _SERVER_VARIABLE.sub(lambda m: str(variables[m.group(1)]["default"]), server["url"])
    parts = urlsplit(url)
    return parts.hostname or "", parts.path.rstrip("/")


def _version(document: Mapping[str, Any]) -> str:
    return str(document.get("info", {}).get("version", "")).removeprefix("v")


def _linked_enum_type(schema: Mapping[str, Any]) -> str | None:
    """The enumeration type a string field's prose links to, when it declares no ``enum``."""
    description = schema.get("description")
    if schema.get("type") != "string" or "enum" in schema or not isinstance(description, str):
        return None
    found = _ENUM_LINK.search(description)
    return found.group(1) if found else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="folder with eBay's OpenAPI 3 contracts")
    arguments = parser.parse_args(argv)
    missing = [
        str(arguments.source / name)
        for name, _ in SOURCES.values()
        if not (arguments.source / name).is_file()
    ]
    if missing:
        print("missing eBay contracts:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    entry = write(arguments.source)
    for name, facts in entry["files"].items():
        size = (REFERENCE_DIR / name).stat().st_size
        print(f"{REFERENCE_DIR / name}: {size} bytes, sha256 {facts['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
