"""Shopify's official Admin GraphQL schema (2026-10): loading, validation, query cost.

The schema is the introspection result kept in the project (:mod:`sandbox.reference`),
loaded once per process.

Validation errors come back the way Shopify (graphql-ruby) reports them:
``{"message", "locations", "extensions": {"code"}}`` with graphql-ruby's codes
(``undefinedField``, ``argumentNotAccepted``, ...). The code is found by running the
validation rule by rule, which only happens for a document already known to be invalid.

Query cost is in :mod:`sandbox.shopify.cost`.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Final

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_client_schema,
    specified_rules,
    validate,
)
from graphql.execution.values import get_directive_values

from omnisync.sandbox.reference import shopify_introspection

JSON = dict[str, Any]

_schema: GraphQLSchema | None = None
_schema_lock = threading.Lock()


def load_schema() -> GraphQLSchema:
    """The official Admin schema, built once per process."""
    global _schema
    with _schema_lock:
        if _schema is None:
            schema = build_client_schema(shopify_introspection()["data"])
            # Shopify's schema trips one strict check on deprecations.
            schema._validation_errors = []
            _schema = schema
        return _schema


# validation ---------------------------------------------------------------------------

# graphql-core rule -> the code graphql-ruby (Shopify's server) gives the same mistake.
_RULE_CODES: Final = {
    "ExecutableDefinitionsRule": "nonExecutableDefinition",
    "KnownOperationTypesRule": "missingMutationConfiguration",
    "UniqueOperationNamesRule": "uniquelyNamedOperations",
    "LoneAnonymousOperationRule": "anonymousOperationWithOthers",
    "KnownTypeNamesRule": "undefinedType",
    "FragmentsOnCompositeTypesRule": "fragmentOnNonCompositeType",
    "VariablesAreInputTypesRule": "variableRequiresValidType",
    "ScalarLeafsRule": "selectionMismatch",
    "FieldsOnCorrectTypeRule": "undefinedField",
    "UniqueFragmentNamesRule": "fragmentNotUnique",
    "KnownFragmentNamesRule": "undefinedFragment",
    "NoUnusedFragmentsRule": "useAndDefineFragment",
    "PossibleFragmentSpreadsRule": "cannotSpreadFragment",
    "NoFragmentCyclesRule": "infiniteLoop",
    "UniqueVariableNamesRule": "variableNotUnique",
    "NoUndefinedVariablesRule": "variableNotDefined",
    "NoUnusedVariablesRule": "variableNotUsed",
    "KnownDirectivesRule": "undefinedDirective",
    "UniqueDirectivesPerLocationRule": "directiveCannotBeRepeated",
    "KnownArgumentNamesRule": "argumentNotAccepted",
    "UniqueArgumentNamesRule": "argumentNotUnique",
    "ValuesOfCorrectTypeRule": "argumentLiteralsIncompatible",
    "ProvidedRequiredArgumentsRule": "missingRequiredArguments",
    "VariablesInAllowedPositionRule": "variableMismatch",
    "OverlappingFieldsCanBeMergedRule": "fieldConflict",
    "UniqueInputFieldNamesRule": "inputFieldNotUnique",
}
_UNDEFINED_FIELD = re.compile(r"Cannot query field '([^']+)' on type '([^']+)'")


def validation_errors(schema: GraphQLSchema, document: DocumentNode) -> list[JSON]:
    """The document's validation errors in Shopify's shape (empty when it is valid)."""
    if not validate(schema, document):
        return []
    shaped: list[JSON] = []
    for rule in specified_rules:
        for error in validate(schema, document, [rule]):
            code = _RULE_CODES.get(rule.__name__, "validationFailed")
            shaped.append(_shopify_validation_error(error, code))
    return shaped


def _shopify_validation_error(error: GraphQLError, code: str) -> JSON:
    shaped = format_error(error)
    extensions: JSON = {"code": code}
    match = _UNDEFINED_FIELD.match(error.message)
    if code == "undefinedField" and match:
        field_name, type_name = match.groups()
        shaped["message"] = f"Field '{field_name}' doesn't exist on type '{type_name}'"
        extensions.update(typeName=type_name, fieldName=field_name)
    shaped["extensions"] = extensions
    return shaped


def format_error(error: GraphQLError, code: str | None = None) -> JSON:
    """``{"message", "locations"?, "path"?, "extensions"?}`` for one error."""
    shaped: JSON = {"message": error.message}
    if error.locations:
        shaped["locations"] = [
            {"line": location.line, "column": location.column} for location in error.locations
        ]
    if error.path:
        shaped["path"] = list(error.path)
    extensions = dict(error.extensions or {})
    if code is not None:
        extensions.setdefault("code", code)
    if extensions:
        shaped["extensions"] = extensions
    return shaped


# directives ---------------------------------------------------------------------------


def idempotency_key(info: GraphQLResolveInfo[Any]) -> str:
    """The ``@idempotent(key:)`` on the mutation field; required from 2026-04."""
    directive = info.schema.get_directive("idempotent")
    values = None
    if directive is not None:
        values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    if values is None:
        raise GraphQLError(
            f"The @idempotent directive is required for {info.field_name} from API version "
            '2026-04: add @idempotent(key: "<a UUID>") to the mutation field.',
            extensions={"code": "BAD_REQUEST"},
        )
    key = values.get("key")
    if not isinstance(key, str) or not key.strip():
        raise GraphQLError(
            "The idempotency key cannot be an empty string or whitespace only.",
            extensions={"code": "BAD_REQUEST"},
        )
    return key
