"""Does an eBay exchange conform to eBay's contracts? Problems, by name, or none.

The eBay connector's requests and the eBay simulator's responses are checked here
against the facts the project derived from eBay's OpenAPI contracts
(``sandbox/reference/ebay/contracts.json``, read on its own so that a test does not trust
the simulator's reading of it). Each function answers a list of problems, ``[]`` when the
exchange conforms, each problem naming the field, parameter or status at fault.

The check is stricter than eBay where strictness proves something:

- a body may hold only the properties its schema defines (``additionalProperties`` is
  false unless the schema says otherwise), so neither side can invent a field name or
  misspell one without a test noticing;
- a query parameter the operation does not declare is a problem, and so is a declared
  required one that is missing (headers are checked when the caller passes them);
- formats are checked (``int32``/``int64`` ranges), and OpenAPI 3.0's ``nullable`` is
  the only way a ``null`` passes;
- a status the operation does not document is a problem, except 401, 429, 500 and 503,
  which any eBay call may answer. Every error status (400 and up) must carry eBay's error
  envelope ``{"errors": [Error, ...]}``, ``Error`` being the contract's own error type
  (the contracts document the statuses but not their bodies);
- a 207 (Multi-Status), which eBay documents without a schema, carries the operation's
  200 body (a ``statusCode`` per item); another 2xx/3xx documented without a schema
  carries no body, and ``{"type": "object"}`` with nothing in it (createShippingFulfillment's
  201) is answered with no body or an empty object.

eBay's contracts declare no ``enum``: a field's allowed values are only in eBay's online
documentation (the field carries the type's name as ``x-omnisync-enum-type``), so enum
values are checked only where a schema has them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from omnisync.sandbox.reference import ebay_contracts

__all__ = [
    "ContractChecker",
    "check_request",
    "check_response",
    "contract_checker",
    "operation_for",
]

ALWAYS_POSSIBLE: Final = frozenset({401, 429, 500, 503})
"""Statuses any eBay call may answer, documented or not (with the error envelope)."""
MULTI_STATUS: Final = 207
JSON: Final = "application/json"
ENVELOPE_KEY: Final = "x-omnisync-error-envelope"
_PARAMETER: Final = re.compile(r"\{([^}/]+)\}")
_INT_RANGES: Final = {"int32": 2**31, "int64": 2**63}


def _format_checker() -> FormatChecker:
    """Checks OpenAPI's integer formats (the only formats eBay's contracts use)."""
    checker = FormatChecker(formats=())
    for name, limit in _INT_RANGES.items():

        def in_range(instance: object, limit: int = limit) -> bool:
            if isinstance(instance, bool) or not isinstance(instance, int):
                return True  # the format constrains integers only; ``type`` checks the rest
            return -limit <= instance < limit

        checker.checks(name)(in_range)
    return checker


FORMATS: Final = _format_checker()


@dataclass(frozen=True)
class _Operation:
    operation_id: str
    contract: str
    method: str
    template: str
    pattern: re.Pattern[str]
    facts: Mapping[str, Any]

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.template.split("/") if not _PARAMETER.search(part))


class ContractChecker:
    """Checks exchanges against one facts document (``ebay_contracts()`` by default)."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self._operations: dict[str, _Operation] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for contract_name, contract in facts["contracts"].items():
            strict = _strict_contract(contract)
            resources.append(
                (_uri(contract_name), Resource.from_contents(strict, default_specification=DRAFT4))
            )
            for operation_id, operation in strict["operations"].items():
                self._operations[operation_id] = _Operation(
                    operation_id=operation_id,
                    contract=contract_name,
                    method=operation["method"],
                    template=operation["path"],
                    pattern=_path_pattern(operation["path"]),
                    facts=operation,
                )
        self._registry: Registry[Any] = Registry().with_resources(resources)
        # Literal segments first, so /a/b wins over /a/{x} should both match.
        self._routes = sorted(
            self._operations.values(), key=lambda op: (-op.literal_segments, op.operation_id)
        )
        self._validators: dict[str, Draft4Validator] = {}

    @property
    def operation_ids(self) -> frozenset[str]:
        return frozenset(self._operations)

    def operation_for(self, method: str, path: str) -> str | None:
        """The operation a concrete ``method`` and ``path`` (no query string) call."""
        for operation in self._routes:
            if operation.method == method.upper() and operation.pattern.fullmatch(path):
                return operation.operation_id
        return None

    def check_request(
        self,
        operation_id: str,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Problems of a request (``body`` parsed JSON, ``None`` for none). ``headers`` are
        checked only when given (the contracts declare few: e.g. ``Content-Type``)."""
        operation = self._operations.get(operation_id)
        if operation is None:
            return [f"unknown operation {operation_id!r}"]
        problems: list[str] = []
        if method.upper() != operation.method:
            problems.append(f"{operation_id} is {operation.method}, not {method.upper()}")
        matched = operation.pattern.fullmatch(path)
        if matched is None:
            problems.append(f"path {path!r} does not match {operation.template}")
            values: dict[str, str] = {}
        else:
            names = _PARAMETER.findall(operation.template)
            values = dict(zip(names, matched.groups(), strict=True))
        declared = operation.facts["parameters"]
        problems += self._check_parameters(operation, "path", declared, values, matched is None)
        problems += self._check_parameters(operation, "query", declared, query, False)
        for name in sorted(set(query) - {p["name"] for p in declared if p["in"] == "query"}):
            problems.append(f"unknown query parameter {name!r} for {operation_id}")
        if headers is not None:
            lowered = {name.lower(): value for name, value in headers.items()}
            problems += self._check_parameters(operation, "header", declared, lowered, False)
        problems += self._check_request_body(operation, body)
        return problems

    def check_response(self, operation_id: str, status: int, body: Any) -> list[str]:
        """Problems of a response (``body`` parsed JSON, ``None`` for an empty one)."""
        operation = self._operations.get(operation_id)
        if operation is None:
            return [f"unknown operation {operation_id!r}"]
        responses = operation.facts["responses"]
        where = f"{operation_id} response {status} body"
        documented = responses.get(str(status))
        if documented is None and status not in ALWAYS_POSSIBLE:
            listed = ", ".join(sorted(responses))
            return [f"status {status} is not documented for {operation_id} (documented: {listed})"]
        pointer = self._body_pointer(operation, status)
        if pointer is None and status >= 400:
            if body is None:
                return [f"{where}: missing; eBay answers an error with {{'errors': [...]}}"]
            return self._validate(operation.contract, (ENVELOPE_KEY,), body, where)
        if pointer is None:
            return [] if body is None else [f"{where}: the contract documents no body"]
        if body is None:
            schema = _pointed(operation.facts, pointer[2:])
            return [] if _is_bare_object(schema) else [f"{where}: missing"]
        return self._validate(operation.contract, pointer, body, where)

    def _body_pointer(self, operation: _Operation, status: int) -> tuple[str, ...] | None:
        base = ("operations", operation.operation_id, "responses")
        responses = operation.facts["responses"]
        for candidate in (str(status), "200") if status == MULTI_STATUS else (str(status),):
            if JSON in responses.get(candidate, {}).get("content", {}):
                return (*base, candidate, "content", JSON)
        return None

    def _check_parameters(
        self,
        operation: _Operation,
        location: str,
        declared: list[Mapping[str, Any]],
        given: Mapping[str, str],
        skip_missing: bool,
    ) -> list[str]:
        problems: list[str] = []
        for index, parameter in enumerate(declared):
            if parameter["in"] != location:
                continue
            name = parameter["name"]
            key = name.lower() if location == "header" else name
            if key not in given:
                if parameter["required"] and not skip_missing:
                    problems.append(
                        f"{location} parameter {name!r} is required by {operation.operation_id}"
                    )
                continue
            value, problem = _typed(parameter["schema"], given[key])
            where = f"{location} parameter {name!r}"
            if problem is not None:
                problems.append(f"{where}: {problem}")
                continue
            pointer = ("operations", operation.operation_id, "parameters", str(index), "schema")
            problems += self._validate(operation.contract, pointer, value, where, at_root=True)
        return problems

    def _check_request_body(self, operation: _Operation, body: Any) -> list[str]:
        declared = operation.facts.get("requestBody")
        where = f"{operation.operation_id} request body"
        if declared is None:
            return [] if body is None else [f"{where}: the operation takes no body"]
        if body is None:
            return [f"{where}: required"] if declared["required"] else []
        if JSON not in declared["content"]:
            return [f"{where}: the operation takes no {JSON} body"]
        pointer = ("operations", operation.operation_id, "requestBody", "content", JSON)
        return self._validate(operation.contract, pointer, body, where)

    def _validate(
        self,
        contract: str,
        pointer: tuple[str, ...],
        instance: Any,
        where: str,
        *,
        at_root: bool = False,
    ) -> list[str]:
        """Schema problems of ``instance``, each ``where`` and the JSON path at fault (left
        out when ``at_root``: a parameter's value has no inner path)."""
        reference = f"{_uri(contract)}#/" + "/".join(_escape(part) for part in pointer)
        validator = self._validators.get(reference)
        if validator is None:
            validator = Draft4Validator(
                {"$ref": reference}, registry=self._registry, format_checker=FORMATS
            )
            self._validators[reference] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: (e.json_path, e.message))
        if at_root:
            return [f"{where}: {error.message}" for error in errors]
        return [f"{where} {error.json_path}: {error.message}" for error in errors]


def _strict_contract(contract: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``contract`` whose every schema is :func:`_strict`, plus the envelope."""
    strict = copy.deepcopy(dict(contract))
    schemas = strict["components"]["schemas"]
    for name in schemas:
        schemas[name] = _strict(schemas[name])
    for operation in strict["operations"].values():
        for parameter in operation["parameters"]:
            parameter["schema"] = _strict(parameter["schema"])
        holders = [operation.get("requestBody", {}), *operation["responses"].values()]
        for holder in holders:
            content = holder.get("content", {})
            for media_type in content:
                content[media_type] = _strict(content[media_type])
    item = {"$ref": "#/components/schemas/Error"} if "Error" in schemas else {"type": "object"}
    strict[ENVELOPE_KEY] = {
        "type": "object",
        "properties": {"errors": {"type": "array", "minItems": 1, "items": item}},
        "required": ["errors"],
        "additionalProperties": False,
    }
    return strict


def _strict(schema: Any) -> Any:
    """``schema`` with closed objects and OpenAPI 3.0's ``nullable`` in JSON Schema terms.

    eBay's contracts compose nothing with ``allOf``; closing both parts of one would need
    ``unevaluatedProperties`` instead."""
    if not isinstance(schema, Mapping):
        return schema
    strict = {key: value for key, value in schema.items() if key != "nullable"}
    if "properties" in strict:
        strict["properties"] = {
            name: _strict(field) for name, field in strict["properties"].items()
        }
    for key in ("items", "additionalProperties", "not"):
        if isinstance(strict.get(key), Mapping):
            strict[key] = _strict(strict[key])
    for key in ("allOf", "oneOf", "anyOf"):
        if key in strict:
            strict[key] = [_strict(part) for part in strict[key]]
    is_object = strict.get("type") == "object" or "properties" in strict
    if is_object and "additionalProperties" not in strict:
        strict["additionalProperties"] = False
    if schema.get("nullable") is True:
        if "$ref" in strict:
            return {"anyOf": [strict, {"type": "null"}]}
        if "type" in strict:
            strict["type"] = [strict["type"], "null"]
        if "enum" in strict:
            strict["enum"] = [*strict["enum"], None]
    return strict


def _typed(schema: Mapping[str, Any], text: str) -> tuple[Any, str | None]:
    """A parameter's text as the JSON value its schema describes, or why it is not one."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text), None
        if kind == "number":
            return float(text), None
    except ValueError:
        return text, f"{text!r} is not of type {kind!r}"
    if kind == "boolean":
        if text not in ("true", "false"):
            return text, f"{text!r} is not of type 'boolean'"
        return text == "true", None
    return text, None


def _is_bare_object(schema: Any) -> bool:
    return (
        isinstance(schema, Mapping)
        and schema.get("type") == "object"
        and not any(key in schema for key in ("properties", "$ref", "allOf", "oneOf", "anyOf"))
    )


def _pointed(node: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        node = node[part]
    return node


def _path_pattern(template: str) -> re.Pattern[str]:
    pieces = _PARAMETER.split(template)
    # split() alternates literal text and parameter names.
    regex = "".join(
        re.escape(piece) if index % 2 == 0 else "([^/]+)" for index, piece in enumerate(pieces)
    )
    return re.compile(regex)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _uri(contract: str) -> str:
    return f"urn:omnisync:ebay:{contract}"


@cache
def contract_checker() -> ContractChecker:
    """The checker over the project's eBay facts (built once)."""
    return ContractChecker(ebay_contracts())


def operation_for(method: str, path: str) -> str | None:
    """The eBay operation ``method path`` calls (path without the query), or ``None``."""
    return contract_checker().operation_for(method, path)


def check_request(
    operation_id: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems of a request to eBay (``[]`` when it conforms)."""
    return contract_checker().check_request(
        operation_id, method, path, query, body, headers=headers
    )


def check_response(operation_id: str, status: int, body: Any) -> list[str]:
    """Problems of eBay's (or the simulator's) response (``[]`` when it conforms)."""
    return contract_checker().check_response(operation_id, status, body)
