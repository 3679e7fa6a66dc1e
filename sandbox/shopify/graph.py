"""The simulated shop as GraphQL: the root values graphql-core's ``execute`` runs over.

Queries read the state through :class:`sandbox.shopify.nodes.NodeBuilder`; the
mutations check what Shopify checks before anything runs (input sizes, the
``@idempotent`` key, ``changeFromQuantity`` given) and hand over to
:class:`sandbox.shopify.state.ShopState`. ``orderCancel`` runs its job at once (Shopify
runs it in the background): the job comes back done. The ``orders`` connection applies the
order-page faults queued for endpoint ``"orders"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError, GraphQLResolveInfo, OperationType

from omnisync.sandbox.clock import isoformat
from omnisync.sandbox.faults import FaultKind, FaultQueue
from omnisync.sandbox.shopify.model import (
    JSON,
    MAX_PAGE_SIZE,
    Order,
    ShopifySimulatorError,
    connection,
    decode_cursor,
    gid,
    gid_number,
    term_values,
    time_filters,
)
from omnisync.sandbox.shopify.nodes import ALL_SCOPES, NodeBuilder, granted_scopes
from omnisync.sandbox.shopify.return_graph import ReturnResolvers
from omnisync.sandbox.shopify.schema import idempotency_key
from omnisync.sandbox.shopify.state import ShopState

__all__ = ["ALL_SCOPES", "ShopGraph", "granted_scopes"]

if TYPE_CHECKING:
    Info = GraphQLResolveInfo[Any]

ORDERS_ENDPOINT: Final = "orders"
"""The fault endpoint of the ``orders`` connection (malformed_order, duplicate_across_pages)."""

_ORDER_KEYS: Final[dict[str, Callable[[Order], list[Any]]]] = {
    "UPDATED_AT": lambda order: [isoformat(order.updated_at), order.number],
    "CREATED_AT": lambda order: [isoformat(order.created_at), order.number],
    "PROCESSED_AT": lambda order: [isoformat(order.created_at), order.number],
    "ID": lambda order: [order.number],
    "ORDER_NUMBER": lambda order: [order.number],
}


def _too_many(count: int) -> GraphQLError:
    return GraphQLError(
        f"The input array size of {count} is greater than the maximum allowed of {MAX_PAGE_SIZE}.",
        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
    )


class ShopGraph(ReturnResolvers, NodeBuilder):
    """Root values over one :class:`ShopState`, for one request (scopes as granted now)."""

    def __init__(
        self,
        state: ShopState,
        *,
        scopes: frozenset[str],
        shop_name: str,
        domain: str,
        faults: FaultQueue | None = None,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(state, scopes=scopes)
        self.shop_name = shop_name
        self.domain = domain
        self.faults = faults
        self.on_fault = on_fault

    def root(self, operation: OperationType) -> JSON:
        return_queries, return_mutations = self.return_roots()
        if operation == OperationType.MUTATION:
            return {
                "inventorySetQuantities": self._set_quantities,
                "fulfillmentCreate": self._fulfillment_create,
                "orderCancel": self._order_cancel,
                **return_mutations,
            }
        return {
            **return_queries,
            "shop": self._shop,
            "locations": self._locations,
            "location": self._location,
            "orders": self._orders,
            "order": self._order,
            "productVariants": self._variants,
            "productVariant": self._variant,
            "inventoryItem": self._inventory_item,
        }

    # query root ---------------------------------------------------------------------

    def _shop(self, info: Info) -> JSON:
        return {
            "id": gid("Shop", 1),
            "name": self.shop_name,
            "myshopifyDomain": self.domain,
            "url": f"https://{self.domain}",
            "currencyCode": self.state.currency,
            "ianaTimezone": "Etc/UTC",
            "email": f"owner@{self.domain}",
            "contactEmail": f"owner@{self.domain}",
        }

    def _locations(self, info: Info, **arguments: Any) -> JSON:
        self._guard(info)
        names = term_values(arguments.get("query"), "name")
        items = [
            location
            for location in self.state.locations.values()
            if (location.active or arguments.get("includeInactive"))
            and (not names or location.name in names)
        ]
        return connection(items, self.location_node, lambda loc: [loc.number], arguments)

    def _location(self, info: Info, id: str | None = None) -> JSON | None:
        self._guard(info)
        if id is None:
            active = [loc for loc in self.state.locations.values() if loc.active]
            return self.location_node(active[0]) if active else None
        location = self.state.locations.get(gid_number(id, "Location") or 0)
        return self.location_node(location) if location else None

    def _orders(self, info: Info, **arguments: Any) -> JSON:
        self._guard(info)
        sort = str(arguments.get("sortKey") or "ID")
        key = _ORDER_KEYS.get(sort, _ORDER_KEYS["ID"])
        filters = time_filters(arguments.get("query"), ("updated_at", "created_at"))
        items = sorted(
            (
                order
                for order in self.state.orders.values()
                if all(f.matches(getattr(order, f.field)) for f in filters)
            ),
            key=key,
        )
        page = connection(items, self.order_node, key, arguments, sort)
        self._page_fault(page, items, key, arguments, sort)
        return page

    def _page_fault(
        self,
        page: JSON,
        items: list[Order],
        key: Callable[[Order], list[Any]],
        arguments: JSON,
        sort: str,
    ) -> None:
        """Apply a queued ``malformed_order`` or ``duplicate_across_pages`` fault."""
        if self.faults is None:
            return
        previous: Order | None = None
        if arguments.get("after"):
            last = decode_cursor(str(arguments["after"]), sort)
            previous = next((order for order in items if key(order) == last), None)
        kinds: set[FaultKind] = set()
        if page["nodes"]:
            kinds.add("malformed_order")
        if previous is not None:
            kinds.add("duplicate_across_pages")
        fault = self.faults.take(ORDERS_ENDPOINT, kinds)
        if fault is None:
            return
        if self.on_fault is not None:
            self.on_fault(fault.kind)
        if fault.kind == "malformed_order":
            page["nodes"][0]["createdAt"] = "not-a-date"
        elif previous is not None:
            node = self.order_node(previous)
            page["nodes"].insert(0, node)
            page["edges"].insert(0, {"cursor": arguments["after"], "node": node})

    def _order(self, info: Info, id: str) -> JSON | None:
        self._guard(info)
        order = self.state.orders.get(gid_number(id, "Order") or 0)
        return self.order_node(order) if order else None

    def _variants(self, info: Info, **arguments: Any) -> JSON:
        self._guard(info)
        skus = term_values(arguments.get("query"), "sku")
        items = [
            variant
            for variant in sorted(self.state.variants.values(), key=lambda v: v.number)
            if not skus or variant.sku in skus
        ]
        return connection(items, self.variant_node, lambda v: [v.number], arguments)

    def _variant(self, info: Info, id: str) -> JSON | None:
        self._guard(info)
        variant = self.state.variants.get(gid_number(id, "ProductVariant") or 0)
        return self.variant_node(variant) if variant else None

    def _inventory_item(self, info: Info, id: str) -> JSON | None:
        self._guard(info)
        item = self.state.items.get(gid_number(id, "InventoryItem") or 0)
        return self.item_node(item) if item else None

    # mutations ------------------------------------------------------------------------

    def _set_quantities(self, info: Info, input: Mapping[str, Any]) -> JSON:
        self._guard(info)
        quantities = input["quantities"]
        if len(quantities) > MAX_PAGE_SIZE:
            raise _too_many(len(quantities))
        key = idempotency_key(info)
        for index, entry in enumerate(quantities):
            if "changeFromQuantity" not in entry:
                raise GraphQLError(
                    f"input.quantities.{index}.changeFromQuantity is required: pass the quantity "
                    "you expect to change from, or null to skip the compare-and-swap check.",
                    extensions={"code": "BAD_REQUEST"},
                )
        return self.state.set_quantities(input, key)

    def _fulfillment_create(
        self, info: Info, fulfillment: Mapping[str, Any], message: str | None = None
    ) -> JSON:
        self._guard(info)
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if len(groups) > MAX_PAGE_SIZE:
            raise _too_many(len(groups))
        created, errors = self.state.create_fulfillment(fulfillment)
        return {
            "fulfillment": self.fulfillment_node(created) if created else None,
            "userErrors": errors,
        }

    def _order_cancel(
        self,
        info: Info,
        orderId: str,
        reason: str,
        restock: bool,
        refundMethod: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> JSON:
        """Cancel what is not fulfilled; Shopify's user errors for an unknown or a
        fulfilled order. A cancelled order stays as it is (the job succeeds)."""
        self._guard(info)
        number = gid_number(orderId, "Order")
        if number is None or number not in self.state.orders:
            return _cancel_refused("NOT_FOUND", "Order does not exist.")
        refund = bool(refundMethod and refundMethod.get("originalPaymentMethodsRefund"))
        try:
            self.state.cancel_order(number, reason, restock, refund=refund)
        except ShopifySimulatorError as error:
            return _cancel_refused("INVALID", f"Cannot cancel the order: {error}.")
        job = {"id": gid("Job", self.state.next_id("Job")), "done": True, "query": None}
        return {"job": job, "jobResult": None, "orderCancelUserErrors": [], "userErrors": []}


def _cancel_refused(code: str, message: str) -> JSON:
    error = {"code": code, "field": ["orderId"], "message": message}
    return {
        "job": None,
        "jobResult": None,
        "orderCancelUserErrors": [error],
        "userErrors": [{"field": error["field"], "message": message}],
    }
