"""The simulated shop's records as GraphQL nodes (dicts for graphql-core's default resolver).

graphql-core's default resolver reads dict keys and calls callables with
``(info, **arguments)``, so every node is a dict whose fields taking arguments
(connections, ``inventoryLevel(locationId)``, ``quantities(names)``, ...) are
callables; nodes below a connection are built page by page. Fields needing an access
scope the app was not granted raise Shopify's ``ACCESS_DENIED`` error. No document
the hub sends selects an interface or a union outside returns, whose nodes carry
``__typename`` (:mod:`sandbox.shopify.return_nodes`).

Fields beyond those the hub's documents select are filled in where cheap; a query
selecting a non-null field that is not here gets graphql-core's "Cannot return null
for non-nullable field" error. Returns, refunds and payments are
:mod:`sandbox.shopify.return_nodes`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError, GraphQLResolveInfo

from omnisync.sandbox.shopify.model import (
    JSON,
    QUANTITY_NAMES,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLine,
    InventoryItem,
    LineItem,
    Location,
    Order,
    Variant,
    connection,
    gid,
    gid_number,
    graphql_time,
    money,
    money_bag,
)
from omnisync.sandbox.shopify.return_nodes import ReturnNodes
from omnisync.sandbox.shopify.return_records import CLOSED, OPEN, REQUESTED
from omnisync.sandbox.shopify.state import ShopState

if TYPE_CHECKING:
    Info = GraphQLResolveInfo[Any]

ALL_SCOPES: Final = (
    "read_orders",
    "write_orders",
    "read_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "write_assigned_fulfillment_orders",
    "read_fulfillments",
    "write_fulfillments",
    "read_returns",
    "write_returns",
)
_READ_FULFILLMENT_ORDERS: Final = (
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
)
_WRITE_FULFILLMENT_ORDERS: Final = (
    "write_merchant_managed_fulfillment_orders",
    "write_assigned_fulfillment_orders",
    "write_third_party_fulfillment_orders",
)
FIELD_SCOPES: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("QueryRoot", "locations"): ("read_locations",),
    ("QueryRoot", "location"): ("read_locations",),
    ("QueryRoot", "orders"): ("read_orders",),
    ("QueryRoot", "order"): ("read_orders",),
    ("QueryRoot", "productVariants"): ("read_products",),
    ("QueryRoot", "productVariant"): ("read_products",),
    ("QueryRoot", "inventoryItem"): ("read_inventory",),
    ("Order", "fulfillmentOrders"): _READ_FULFILLMENT_ORDERS,
    ("InventoryItem", "inventoryLevels"): ("read_inventory",),
    ("InventoryItem", "inventoryLevel"): ("read_inventory",),
    ("Mutation", "inventorySetQuantities"): ("write_inventory",),
    ("Mutation", "fulfillmentCreate"): _WRITE_FULFILLMENT_ORDERS,
    ("Mutation", "orderCancel"): ("write_orders",),
    ("QueryRoot", "return"): ("read_returns",),
    ("Order", "returns"): ("read_returns",),
    ("Mutation", "returnApproveRequest"): ("write_returns",),
    ("Mutation", "returnDeclineRequest"): ("write_returns",),
    ("Mutation", "returnProcess"): ("write_returns",),
    ("Mutation", "refundCreate"): ("write_orders",),
}
"""(type, field) -> the scopes of which one is needed (any of them)."""


def granted_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes, with the read scope every write scope implies."""
    granted = set(scopes)
    granted.update(
        f"read_{scope[len('write_') :]}" for scope in list(granted) if scope.startswith("write_")
    )
    return frozenset(granted)


def access_denied(field: str, alternatives: Collection[str]) -> GraphQLError:
    required = " or ".join(f"`{scope}` access scope" for scope in alternatives) + "."
    return GraphQLError(
        f"Access denied for {field} field. Required access: {required}",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": required,
        },
    )


class NodeBuilder(ReturnNodes):
    """Nodes over one :class:`ShopState`, with the scopes granted when it was made."""

    def __init__(self, state: ShopState, *, scopes: frozenset[str]) -> None:
        self.state = state
        self.scopes = scopes

    def _guard(self, info: Info) -> None:
        alternatives = FIELD_SCOPES.get((info.parent_type.name, info.field_name))
        if alternatives and not self.scopes.intersection(alternatives):
            raise access_denied(info.field_name, alternatives)

    def _guarded(self, resolve: Callable[..., Any]) -> Callable[..., Any]:
        def resolver(info: Info, **arguments: Any) -> Any:
            self._guard(info)
            return resolve(info, **arguments)

        return resolver

    def location_node(self, location: Location) -> JSON:
        return {
            "id": location.gid,
            "legacyResourceId": str(location.number),
            "name": location.name,
            "isActive": location.active,
            "isPrimary": location.number == min(self.state.locations),
            "fulfillsOnlineOrders": location.active,
            "shipsInventory": location.active,
            "hasActiveInventory": True,
            "createdAt": graphql_time(location.created_at),
            "updatedAt": graphql_time(location.created_at),
        }

    def order_node(self, order: Order) -> JSON:
        currency = order.currency
        customer = order.customer
        return {
            "id": order.gid,
            "legacyResourceId": str(order.number),
            "name": order.name,
            "email": customer.email,
            "createdAt": graphql_time(order.created_at),
            "processedAt": graphql_time(order.created_at),
            "updatedAt": graphql_time(order.updated_at),
            "cancelledAt": graphql_time(order.cancelled_at),
            "cancelReason": order.cancel_reason,
            "closed": False,
            "closedAt": None,
            "displayFinancialStatus": order.financial_status,
            "displayFulfillmentStatus": order.fulfillment_status,
            "currencyCode": currency,
            "presentmentCurrencyCode": currency,
            "totalPriceSet": money_bag(order.total(), currency),
            "subtotalPriceSet": money_bag(order.total(), currency),
            "currentTotalPriceSet": money_bag(order.current_total(), currency),
            "customer": {
                "id": customer.gid,
                "firstName": customer.first_name,
                "lastName": customer.last_name,
                "displayName": customer.display_name,
                "email": customer.email,
            },
            "shippingAddress": {
                "id": gid("MailingAddress", order.number),
                **order.shipping_address,
            },
            "lineItems": lambda info, **arguments: connection(
                order.lines, self.line_node, lambda line: [line.number], arguments
            ),
            "fulfillmentOrders": self._guarded(
                lambda info, **arguments: connection(
                    order.fulfillment_orders,
                    self.fulfillment_order_node,
                    lambda fulfillment_order: [fulfillment_order.number],
                    arguments,
                )
            ),
            "fulfillments": lambda info, first=None: [
                self.fulfillment_node(f) for f in order.fulfillments[:first]
            ],
            "returnStatus": self._return_status(order),
            "returns": self._guarded(
                lambda info, **arguments: connection(
                    self.state.returns_of(order),
                    self.return_node,
                    lambda record: [record.number],
                    arguments,
                )
            ),
            "refunds": lambda info, first=None: [
                self.refund_node(r)
                for r in self.state.refunds.values()
                if r.order_number == order.number
            ][:first],
            "transactions": lambda info, first=None, **_: [
                self.transaction_node(t)
                for t in self.state.transactions
                if t.order_number == order.number
            ][:first],
            "suggestedRefund": lambda info, **arguments: self.suggested_refund_node(
                order, arguments
            ),
        }

    def _return_status(self, order: Order) -> str:
        """``Order.returnStatus``: the most pressing state among its returns."""
        states = {record.status for record in self.state.returns_of(order)}
        if REQUESTED in states:
            return "RETURN_REQUESTED"
        if OPEN in states:
            return "IN_PROGRESS"
        return "RETURNED" if CLOSED in states else "NO_RETURN"

    def line_node(self, line: LineItem) -> JSON:
        currency = self.state.currency
        return {
            "id": line.gid,
            "sku": line.sku,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "currentQuantity": line.current_quantity,
            "unfulfilledQuantity": line.unfulfilled_quantity,
            "fulfillableQuantity": line.unfulfilled_quantity,
            "nonFulfillableQuantity": line.quantity - line.unfulfilled_quantity,
            "refundableQuantity": line.current_quantity,
            "requiresShipping": True,
            "originalUnitPriceSet": money_bag(line.price, currency),
            "discountedUnitPriceSet": money_bag(line.price, currency),
            "originalTotalPriceSet": money_bag(line.price * line.quantity, currency),
            "variant": self.variant_node(line.variant) if line.variant else None,
        }

    def variant_node(self, variant: Variant) -> JSON:
        return {
            "id": variant.gid,
            "legacyResourceId": str(variant.number),
            "sku": variant.sku,
            "barcode": variant.barcode,
            "title": variant.title,
            "displayName": variant.display_name,
            "price": money(variant.price),
            "inventoryQuantity": sum(variant.item.levels.values()),
            "createdAt": graphql_time(variant.created_at),
            "updatedAt": graphql_time(variant.item.updated_at),
            "product": {
                "id": gid("Product", variant.product_number),
                "title": variant.product_title,
            },
            "inventoryItem": self.item_node(variant.item),
        }

    def item_node(self, item: InventoryItem) -> JSON:
        def level(info: Info, locationId: str, **_: Any) -> JSON | None:
            number = gid_number(locationId, "Location")
            if number is None or number not in item.levels:
                return None
            return self.level_node(item, number)

        def variant(info: Info) -> JSON | None:
            owner = self.state.variant_of(item)
            return self.variant_node(owner) if owner else None

        return {
            "id": item.gid,
            "legacyResourceId": str(item.number),
            "sku": item.sku,
            "tracked": item.tracked,
            "requiresShipping": True,
            "createdAt": graphql_time(item.created_at),
            "updatedAt": graphql_time(item.updated_at),
            "inventoryLevels": self._guarded(
                lambda info, **arguments: connection(
                    sorted(item.levels),
                    lambda location: self.level_node(item, location),
                    lambda location: [location],
                    arguments,
                )
            ),
            "inventoryLevel": self._guarded(level),
            "variant": variant,
        }

    def level_node(self, item: InventoryItem, location: int) -> JSON:
        level_id = f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item.number}"
        updated = graphql_time(item.level_updated_at.get(location, item.updated_at))

        def quantities(info: Info, names: list[str]) -> list[JSON]:
            unknown = [name for name in names if name not in QUANTITY_NAMES]
            if unknown:
                raise GraphQLError(f"The quantity name {unknown[0]!r} is not valid.")
            return [
                {
                    "id": f"gid://shopify/InventoryQuantity/{location}"
                    f"?inventory_item_id={item.number}&name={name}",
                    "name": name,
                    "quantity": self.state.quantity(item, location, name),
                    "updatedAt": updated,
                }
                for name in names
            ]

        return {
            "id": level_id,
            "location": self.location_node(self.state.locations[location]),
            "item": lambda info: self.item_node(item),
            "quantities": quantities,
            "canDeactivate": True,
            "createdAt": graphql_time(item.created_at),
            "updatedAt": updated,
        }

    def fulfillment_order_node(self, fulfillment_order: FulfillmentOrder) -> JSON:
        order = self.state.orders[fulfillment_order.order_number]
        return {
            "id": fulfillment_order.gid,
            "status": fulfillment_order.status,
            "requestStatus": "UNSUBMITTED",
            "orderId": order.gid,
            "orderName": order.name,
            "createdAt": graphql_time(fulfillment_order.created_at),
            "updatedAt": graphql_time(fulfillment_order.updated_at),
            "assignedLocation": {
                "name": fulfillment_order.location.name,
                "location": self.location_node(fulfillment_order.location),
            },
            "lineItems": lambda info, **arguments: connection(
                fulfillment_order.lines,
                self.fulfillment_order_line_node,
                lambda entry: [entry.number],
                arguments,
            ),
        }

    def fulfillment_order_line_node(self, entry: FulfillmentOrderLine) -> JSON:
        return {
            "id": entry.gid,
            "remainingQuantity": entry.remaining,
            "totalQuantity": entry.total,
            "sku": entry.line.sku,
            "inventoryItemId": entry.line.variant.item.gid if entry.line.variant else None,
            "lineItem": self.line_node(entry.line),
        }

    def fulfillment_node(self, fulfillment: Fulfillment) -> JSON:
        order = self.state.orders[fulfillment.order_number]
        position = order.fulfillments.index(fulfillment) + 1
        tracking = {
            "company": fulfillment.tracking_company,
            "number": fulfillment.tracking_number,
            "url": fulfillment.tracking_url,
        }
        return {
            "id": fulfillment.gid,
            "legacyResourceId": str(fulfillment.number),
            "name": f"{order.name}-F{position}",
            "status": fulfillment.status,
            "displayStatus": "FULFILLED",
            "createdAt": graphql_time(fulfillment.created_at),
            "updatedAt": graphql_time(fulfillment.created_at),
            "totalQuantity": sum(quantity for _, quantity in fulfillment.lines),
            "requiresShipping": True,
            "location": self.location_node(fulfillment.location),
            "trackingInfo": lambda info, first=None: [tracking][:first],
            "order": lambda info: self.order_node(order),
        }
