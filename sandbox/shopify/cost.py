"""Shopify's calculated query cost and its leaky bucket, for the simulator.

:class:`CostCalculator` prices a validated document the way Shopify's documented
calculator does (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits),
before execution (requested) and over the result (actual); :class:`CostBucket` is
the leaky bucket the requested cost is charged to.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeGuard

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values

JSON = dict[str, Any]
MUTATION_COST: Final = 10

# query cost ---------------------------------------------------------------------------

_Collected = dict[str, list[tuple[FieldNode, GraphQLNamedType]]]


class CostCalculator:
    """Shopify's calculated query cost, statically (requested) and over the result (actual).

    The rules, after https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits:

    - a scalar or enum field costs 0;
    - an object field (or a list of objects) costs 1 plus its selection;
    - a connection (a ``...Connection`` type) costs 2 plus ``first`` (or ``last``) times
      the cost of one node (1 plus the node's selection); ``pageInfo`` and ``edges``
      wrappers are free;
    - every root field of a mutation costs 10, whatever it selects.

    The actual cost walks the result instead: a connection costs 2 plus the nodes it
    returned, an object that came back null costs 1 and nothing below it.
    Approximations: interfaces and unions add up the fields of every fragment instead
    of taking the most expensive type; list arguments and per-field overrides that
    Shopify applies to a few fields are not modelled.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.variables = variables
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }

    @property
    def root_type(self) -> GraphQLObjectType | None:
        if self.operation.operation == OperationType.MUTATION:
            return self.schema.mutation_type
        if self.operation.operation == OperationType.QUERY:
            return self.schema.query_type
        return None

    def root_response_keys(self) -> list[str]:
        root = self.root_type
        if root is None:
            return []
        return list(self._collect([(self.operation.selection_set, root)]))

    def requested(self) -> int:
        root = self.root_type
        if root is None:
            return 0
        fields = self._collect([(self.operation.selection_set, root)])
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(fields)
        return self._requested(fields)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        root = self.root_type
        if root is None:
            return 0
        fields = self._collect([(self.operation.selection_set, root)])
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(fields)
        return self._actual(fields, data)

    # walking --------------------------------------------------------------------------

    def _requested(self, fields: _Collected) -> int:
        total = 0
        for nodes in fields.values():
            definition = _definition(nodes)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            if _is_connection(named):
                size = self._page_size(definition, nodes[0][0])
                node_fields = self._node_fields(nodes, named)
                per_node = 0 if node_fields is None else 1 + self._requested(node_fields)
                total += 2 + size * per_node
            else:
                total += 1 + self._requested(self._children(nodes, named))
        return total

    def _actual(self, fields: _Collected, data: Mapping[str, Any] | None) -> int:
        total = 0
        for key, nodes in fields.items():
            definition = _definition(nodes)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            value = data.get(key) if isinstance(data, Mapping) else None
            if _is_connection(named):
                total += 2 + self._actual_nodes(nodes, named, value)
                continue
            total += 1
            children = self._children(nodes, named)
            if isinstance(value, list):
                total += max((self._actual(children, item) for item in value), default=0)
            elif isinstance(value, Mapping):
                total += self._actual(children, value)
        return total

    def _actual_nodes(
        self,
        nodes: Sequence[tuple[FieldNode, GraphQLNamedType]],
        connection: GraphQLObjectType,
        value: Any,
    ) -> int:
        """What the returned nodes of a connection cost (``nodes`` or ``edges``, the
        dearer of the two when both are selected)."""
        if not isinstance(value, Mapping):
            return 0
        node_type = get_named_type(connection.fields["nodes"].type)
        best = 0
        for key, child_nodes in self._children(nodes, connection).items():
            name = child_nodes[0][0].name.value
            raw = value.get(key)
            items = raw if isinstance(raw, list) else []
            if name == "nodes":
                node_children = self._children(child_nodes, node_type)
                node_values = items
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                edge_fields = self._children(child_nodes, edge_type)
                node_keys = [k for k, n in edge_fields.items() if n[0][0].name.value == "node"]
                if not node_keys:
                    continue
                node_children = self._children(edge_fields[node_keys[0]], node_type)
                node_values = [
                    item.get(node_keys[0]) for item in items if isinstance(item, Mapping)
                ]
            else:
                continue
            best = max(best, sum(1 + self._actual(node_children, item) for item in node_values))
        return best

    def _node_fields(
        self, nodes: Sequence[tuple[FieldNode, GraphQLNamedType]], connection: GraphQLObjectType
    ) -> _Collected | None:
        """The selection of one node of a connection (``nodes`` and ``edges { node }``
        merged), or None when neither is selected."""
        node_type = get_named_type(connection.fields["nodes"].type)
        selections: list[tuple[SelectionSetNode, GraphQLNamedType]] = []
        for child_nodes in self._children(nodes, connection).values():
            name = child_nodes[0][0].name.value
            if name == "nodes":
                selections.extend(
                    (node.selection_set, node_type) for node, _ in child_nodes if node.selection_set
                )
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                for edge_nodes in self._children(child_nodes, edge_type).values():
                    if edge_nodes[0][0].name.value == "node":
                        selections.extend(
                            (node.selection_set, node_type)
                            for node, _ in edge_nodes
                            if node.selection_set
                        )
        if not selections:
            return None
        return self._collect(selections)

    def _page_size(self, definition: GraphQLField, node: FieldNode) -> int:
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return 0
        size = arguments.get("first")
        if size is None:
            size = arguments.get("last")
        return size if isinstance(size, int) and size > 0 else 0

    def _children(
        self, nodes: Sequence[tuple[FieldNode, GraphQLNamedType]], named: GraphQLNamedType
    ) -> _Collected:
        return self._collect(
            [(node.selection_set, named) for node, _ in nodes if node.selection_set is not None]
        )

    def _collect(
        self, selections: Iterable[tuple[SelectionSetNode, GraphQLNamedType]]
    ) -> _Collected:
        """Fields by response key, through fragments, honouring @skip and @include."""
        collected: _Collected = {}
        visited: set[str] = set()

        def walk(selection_set: SelectionSetNode, owner: GraphQLNamedType) -> None:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    collected.setdefault(key, []).append((selection, owner))
                elif isinstance(selection, InlineFragmentNode):
                    walk(selection.selection_set, self._condition(selection, owner))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in visited:
                        continue
                    visited.add(name)
                    walk(fragment.selection_set, self._condition(fragment, owner))

        for selection_set, owner in selections:
            walk(selection_set, owner)
        return collected

    def _condition(
        self, fragment: InlineFragmentNode | FragmentDefinitionNode, owner: GraphQLNamedType
    ) -> GraphQLNamedType:
        if fragment.type_condition is None:
            return owner
        named = self.schema.get_type(fragment.type_condition.name.value)
        return named if named is not None else owner

    def _included(self, node: Any) -> bool:
        for directive, keep_when in (
            (GraphQLSkipDirective, False),
            (GraphQLIncludeDirective, True),
        ):
            try:
                values = get_directive_values(directive, node, self.variables)
            except GraphQLError:
                continue
            if values is not None and bool(values.get("if")) != keep_when:
                return False
        return True


def _definition(nodes: Sequence[tuple[FieldNode, GraphQLNamedType]]) -> GraphQLField | None:
    node, owner = nodes[0]
    if not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
        return None
    definition: GraphQLField | None = owner.fields.get(node.name.value)
    return definition


def _is_connection(named: GraphQLNamedType) -> TypeGuard[GraphQLObjectType]:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "nodes" in named.fields
    )


# the leaky bucket ---------------------------------------------------------------------


class CostBucket:
    """Shopify's leaky bucket of query cost for one shop (and app).

    ``maximum`` points at most; ``restore_rate`` points come back per second, times
    ``scale`` (a test runs the real shape faster with ``scale=10``). The reported
    ``restoreRate`` is the effective one, so a client's arithmetic stays right.
    ``monotonic`` is the time source, in seconds: the simulator's clock.
    """

    def __init__(
        self,
        maximum: float,
        restore_rate: float,
        *,
        scale: float = 1.0,
        monotonic: Callable[[], float],
    ) -> None:
        _check_bucket(maximum, restore_rate, scale)
        self._maximum = float(maximum)
        self._restore_rate = float(restore_rate)
        self._scale = float(scale)
        self._monotonic = monotonic
        self._available = self._maximum
        self._updated = monotonic()
        self._lock = threading.Lock()

    @property
    def maximum(self) -> float:
        return self._maximum

    @property
    def effective_rate(self) -> float:
        return self._restore_rate * self._scale

    def configure(
        self,
        *,
        maximum: float | None = None,
        restore_rate: float | None = None,
        scale: float | None = None,
    ) -> None:
        """New limits; the points in the bucket stay (capped at the new maximum)."""
        with self._lock:
            self._restore()
            new_maximum = self._maximum if maximum is None else float(maximum)
            new_rate = self._restore_rate if restore_rate is None else float(restore_rate)
            new_scale = self._scale if scale is None else float(scale)
            _check_bucket(new_maximum, new_rate, new_scale)
            self._maximum, self._restore_rate, self._scale = new_maximum, new_rate, new_scale
            self._available = min(self._available, new_maximum)

    def try_charge(self, cost: float) -> bool:
        """Take ``cost`` points when the bucket holds them; a refusal takes nothing."""
        with self._lock:
            self._restore()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: float) -> None:
        if points <= 0:
            return
        with self._lock:
            self._restore()
            self._available = min(self._maximum, self._available + points)

    def set_available(self, points: float) -> None:
        """Put the bucket at ``points`` (0 drains it, ``maximum`` fills it)."""
        with self._lock:
            self._available = max(0.0, min(self._maximum, float(points)))
            self._updated = self._monotonic()

    def status(self) -> JSON:
        """``throttleStatus`` as Shopify reports it."""
        with self._lock:
            self._restore()
            return {
                "maximumAvailable": self._maximum,
                "currentlyAvailable": math.floor(self._available),
                "restoreRate": self.effective_rate,
            }

    def _restore(self) -> None:
        now = self._monotonic()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._available = min(self._maximum, self._available + elapsed * self.effective_rate)


def _check_bucket(maximum: float, restore_rate: float, scale: float) -> None:
    if maximum <= 0 or restore_rate <= 0 or scale <= 0:
        raise ValueError("bucket size, restore rate and scale must be positive")
