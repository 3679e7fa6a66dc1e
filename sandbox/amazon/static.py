"""Amazon's own sandbox payloads, read at run time from the OpenAPI models.

Every operation of the models lists ``x-amzn-api-sandbox.static`` cases under its
responses: request parameters (``{"name": {"value": ...}}``, the body under
``"body"``) and the response Amazon's sandbox gives for them. The simulator asks
:func:`match_static` first and serves the case's status and body when one fits.

Matching, per case parameter: the request's value equals the case's (objects: every
key of the case matches, an empty case object only matches an empty one); extra
request parameters are ignored, as python-amazon-sp-api adds a few. The case with the
most parameters wins. A case whose parameters carry no ``value`` (``{}`` or
``{"body": {}}``) would match every request and is never used. A request that carries
a ``NextToken`` a case names may leave out that case's other parameters, as on
Amazon, where the token stands for the query.

Query values are coerced with the model's declared types first: arrays split on
commas (and repeated keys), integers and booleans parsed, so ``pageSize=1`` matches
the case value ``1``. A list matches a case's list with the same items in any order
(``includedData=BUYER,RECIPIENT`` is the same request as ``RECIPIENT,BUYER``).

Operations are named by their ``operationId``, which is unique across the models but
for one clash: Orders v0 and Orders 2026-01-01 both call theirs ``getOrder``. The hub
calls the current one (2026-01-01) ``getOrder``, so that is its name here too (for
rate limits, faults and cases); v0's is renamed ``getOrderV0`` (:data:`RENAMED`). A
new clash is refused when the models load, rather than one operation hiding the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from omnisync.sandbox.reference import amazon_model

MODEL_FILES: Final = (
    "ordersV0.json",
    "orders_2026-01-01.json",
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
    "notifications.json",
    "reports_2021-06-30.json",
)
RENAMED: Final = {("ordersV0.json", "getOrder"): "getOrderV0"}
"""(model file, operationId) -> the simulator's name for an operation whose id clashes."""
BODY: Final = "body"
NEXT_TOKENS: Final = frozenset({"NextToken", "nextToken", "pageToken", "paginationToken"})
_HTTP_METHODS: Final = frozenset({"get", "post", "put", "patch", "delete"})


@dataclass(frozen=True)
class StaticCase:
    """One request/response pair of Amazon's sandbox."""

    operation: str
    status: int
    parameters: Mapping[str, Any]
    body: Any
    """The response body; None when the case gives none."""


@dataclass(frozen=True)
class OperationSpec:
    """What the model says about one operation."""

    operation: str
    model: str
    method: str
    path: str
    parameters: Mapping[str, Mapping[str, Any]]
    cases: tuple[StaticCase, ...] = field(default=())


@cache
def operation_specs() -> dict[str, OperationSpec]:
    """Every operation of the models, by name (operationId, or :data:`RENAMED`; loaded
    once). Raises ValueError when two operations would share a name."""
    specs: dict[str, OperationSpec] = {}
    for model_file in MODEL_FILES:
        model = amazon_model(model_file)
        for path, item in model["paths"].items():
            shared = item.get("parameters", [])
            for method, operation in item.items():
                if method not in _HTTP_METHODS:
                    continue
                name = RENAMED.get((model_file, operation["operationId"]), operation["operationId"])
                if name in specs:
                    raise ValueError(
                        f"{model_file} and {specs[name].model} both have an operation {name!r}: "
                        "name one of them in RENAMED"
                    )
                parameters = {p["name"]: p for p in [*shared, *operation.get("parameters", [])]}
                specs[name] = OperationSpec(
                    operation=name,
                    model=model_file,
                    method=method.upper(),
                    path=path,
                    parameters=parameters,
                    cases=tuple(_cases(name, operation.get("responses", {}))),
                )
    return specs


def _cases(operation: str, responses: Mapping[str, Any]) -> Iterable[StaticCase]:
    for status, response in responses.items():
        if not status.isdigit():
            continue
        for case in response.get("x-amzn-api-sandbox", {}).get("static", []):
            given = case.get("request", {}).get("parameters", {})
            parameters = {
                name: spec["value"]
                for name, spec in given.items()
                if isinstance(spec, dict) and "value" in spec
            }
            if not parameters:
                continue  # would match anything: Amazon's catch-all examples
            yield StaticCase(operation, int(status), parameters, case.get("response"))


def request_parameters(
    operation: str,
    path_params: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> dict[str, Any]:
    """The request's parameters by model name, typed as the model declares them."""
    declared = operation_specs()[operation].parameters
    raw: dict[str, list[str]] = {}
    for name, value in query:
        raw.setdefault(name, []).append(value)
    params: dict[str, Any] = {
        name: _coerce(declared.get(name), values) for name, values in raw.items()
    }
    params.update(path_params)
    if body:
        try:
            params[BODY] = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            params[BODY] = body.decode("utf-8", "replace")
    return params


def _coerce(declared: Mapping[str, Any] | None, values: list[str]) -> Any:
    kind = declared.get("type") if declared else None
    if kind == "array":
        pieces = [piece for value in values for piece in value.split(",") if piece]
        item_type = (declared or {}).get("items", {}).get("type")
        return [_scalar(item_type, piece) for piece in pieces]
    return _scalar(kind, values[-1])


def _scalar(kind: Any, value: str) -> Any:
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def match_static(operation: str, params: Mapping[str, Any]) -> StaticCase | None:
    """The sandbox case ``params`` ask for, or None (then the simulator's state answers)."""
    best: StaticCase | None = None
    for case in operation_specs()[operation].cases:
        if _case_fits(case, params) and (
            best is None or len(case.parameters) > len(best.parameters)
        ):
            best = case
    return best


def _case_fits(case: StaticCase, params: Mapping[str, Any]) -> bool:
    token_given = any(
        name in NEXT_TOKENS and name in params and params[name] == value
        for name, value in case.parameters.items()
    )
    for name, expected in case.parameters.items():
        if name in params:
            if not values_match(expected, params[name]):
                return False
        elif not token_given:
            return False
    return True


def values_match(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        if not expected:
            return not actual
        return all(
            key in actual and values_match(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return sorted(map(_canonical, expected)) == sorted(map(_canonical, actual))
    return bool(expected == actual)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def linked_order_case(operation: str, order_id: str) -> StaticCase | None:
    """A success case of ``operation`` whose answer is about ``order_id``.

    Amazon keys v0's getOrder / getOrderItems cases on ``orderId=TEST_CASE_200``, but
    the getOrders case lists the order as ``902-1845936-5435065``; a client that follows
    the listing asks for the real id, and gets the same payload here. The 2026-01-01
    getOrder cases name real ids with a given ``includedData``; asked for that id with
    other datasets, the case still answers.
    """
    for case in operation_specs()[operation].cases:
        if case.status < 300 and _case_order_id(case.body) == order_id:
            return case
    return None


def _case_order_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    payload, order = body.get("payload"), body.get("order")
    if isinstance(payload, dict) and isinstance(payload.get("AmazonOrderId"), str):
        return str(payload["AmazonOrderId"])
    if isinstance(order, dict) and isinstance(order.get("orderId"), str):
        return str(order["orderId"])
    return None
