"""The simulated shop's state and the operations on it, with Shopify's rules.

:class:`ShopState` knows nothing of HTTP, locks or webhook delivery: the simulator
(:mod:`sandbox.shopify`) calls it under its lock and turns :attr:`ShopState.events`
into webhooks. Refusals of control operations raise :class:`ShopifySimulatorError`;
refusals of the API's mutations come back as Shopify ``userErrors``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from omnisync.sandbox.clock import MonotonicStamper, isoformat
from omnisync.sandbox.shopify.model import (
    JSON,
    OPEN_FULFILLMENT_ORDER,
    Customer,
    Event,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLine,
    InventoryItem,
    Location,
    Order,
    ShopifySimulatorError,
    Transaction,
    Variant,
    gid,
    gid_number,
    graphql_time,
)
from omnisync.sandbox.shopify.return_records import Refund, ReturnRecord
from omnisync.sandbox.shopify.state_orders import OrderOperations
from omnisync.sandbox.shopify.state_returns import ReturnOperations

DEFAULT_PRICE: Final = Decimal("10.00")
MAX_QUANTITY: Final = 1_000_000_000
SETTABLE_NAMES: Final = ("available", "on_hand")
# The reasons Shopify accepts for inventory changes.
INVENTORY_REASONS: Final = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)


class ShopState(ReturnOperations, OrderOperations):
    """Locations, catalogue, inventory, orders, fulfilments and returns of one shop."""

    def __init__(self, stamper: MonotonicStamper, *, currency: str) -> None:
        self.stamper = stamper
        self.currency = currency
        self._counters: dict[str, int] = {}
        self.locations: dict[int, Location] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, InventoryItem] = {}
        self.variant_by_sku: dict[str, Variant] = {}
        self.customers: dict[str, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillment_order_lines: dict[int, FulfillmentOrderLine] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self.adjustments: list[JSON] = []
        self.transactions: list[Transaction] = []
        self.returns: dict[int, ReturnRecord] = {}
        self.refunds: dict[int, Refund] = {}
        # idempotency key -> (fingerprint of the input, payload, whether it failed)
        self.idempotency: dict[str, tuple[str, JSON, bool]] = {}
        self.events: list[Event] = []

    def next_id(self, kind: str, start: int = 1) -> int:
        number = self._counters.get(kind, start - 1) + 1
        self._counters[kind] = number
        return number

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    # locations ------------------------------------------------------------------------

    def add_location(self, name: str, active: bool = True) -> Location:
        if not name or any(location.name == name for location in self.locations.values()):
            raise ShopifySimulatorError(f"bad or duplicate location name {name!r}")
        location = Location(self.next_id("Location"), name, active, self.stamper.stamp())
        self.locations[location.number] = location
        return location

    def location(self, ref: str | None) -> Location:
        """A location by name or gid; None: the first active one (created if none)."""
        if ref is None:
            for location in self.locations.values():
                if location.active:
                    return location
            return self.add_location("Shop location")
        number = gid_number(ref, "Location")
        for location in self.locations.values():
            if location.number == number or location.name == ref:
                return location
        raise ShopifySimulatorError(f"no location {ref!r}")

    # catalogue ------------------------------------------------------------------------

    def set_catalogue(self, items: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Replace the products. Each item: ``sku`` (a string; ``""`` or None for a variant
        without SKU, both of which Shopify serves), ``title``, ``quantity`` (an int at the
        first location, or {location name: int}; missing locations are created), optional
        ``barcode`` (served as the variant's ``barcode``, as given), ``price`` and
        ``tracked``. A variant without SKU is named by its gid wherever a SKU is taken."""
        built: list[Variant] = []
        seen: set[str] = set()
        for entry in items:
            sku = entry.get("sku")
            if sku is not None and (not isinstance(sku, str) or sku in seen):
                raise ShopifySimulatorError(f"bad or duplicate sku {sku!r}")
            barcode = entry.get("barcode")
            if barcode is not None and not isinstance(barcode, str):
                raise ShopifySimulatorError(f"bad barcode {barcode!r}")
            title = entry.get("title") or sku or "Untitled product"
            levels = self._levels(entry.get("quantity", 0))
            moment = self.stamper.stamp()
            item = InventoryItem(
                self.next_id("InventoryItem"),
                sku,
                bool(entry.get("tracked", True)),
                moment,
                moment,
                levels,
                dict.fromkeys(levels, moment),
            )
            built.append(
                Variant(
                    self.next_id("ProductVariant"),
                    self.next_id("Product"),
                    str(title),
                    "Default Title",
                    sku,
                    _price(entry.get("price", DEFAULT_PRICE)),
                    item,
                    moment,
                    barcode,
                )
            )
            if sku:
                seen.add(sku)
        self.variants = {variant.number: variant for variant in built}
        self.items = {variant.item.number: variant.item for variant in built}
        self.variant_by_sku = {v.sku: v for v in built if v.sku}
        return [self.variant_json(variant) for variant in built]

    def _levels(self, quantity: Any) -> dict[int, int]:
        if isinstance(quantity, Mapping):
            levels: dict[int, int] = {}
            for name, amount in quantity.items():
                try:
                    location = self.location(str(name))
                except ShopifySimulatorError:
                    location = self.add_location(str(name))
                levels[location.number] = _count(amount)
            return levels
        return {self.location(None).number: _count(quantity)}

    def variant(self, ref: str) -> Variant:
        """A variant by SKU, else by gid (``gid://shopify/ProductVariant/<n>``): a variant
        without SKU has only its gid to be bought, refunded or stocked by."""
        variant = self.variant_by_sku.get(ref)
        if variant is None:
            variant = self.variants.get(gid_number(ref, "ProductVariant") or 0)
        if variant is None:
            raise ShopifySimulatorError(f"no variant with sku or gid {ref!r}")
        return variant

    def item(self, ref: str) -> InventoryItem:
        """An inventory item by its gid, or its variant's SKU or gid."""
        number = gid_number(ref, "InventoryItem")
        if number is not None and number in self.items:
            return self.items[number]
        return self.variant(ref).item

    def variant_of(self, item: InventoryItem) -> Variant | None:
        return next((v for v in self.variants.values() if v.item is item), None)

    def available(self, sku: str, location: str | None = None) -> int:
        item = self.variant(sku).item
        if location is None:
            return sum(item.levels.values())
        return item.levels.get(self.location(location).number, 0)

    def set_available(self, sku: str, quantity: int, location: str | None = None) -> None:
        """The merchant edits a level in the admin (what a compare-and-set push must notice)."""
        item = self.variant(sku).item
        place = self.location(location)
        self.change_level(item, place.number, _count(quantity))

    def change_level(self, item: InventoryItem, location: int, available: int) -> None:
        moment = self.stamper.stamp()
        item.levels[location] = available
        item.level_updated_at[location] = moment
        item.updated_at = moment
        self.events.append(Event("inventory_levels/update", level=(item.number, location)))

    def committed(self, item: InventoryItem, location: int) -> int:
        """Units sold and not yet fulfilled from ``location``: Shopify's "committed"."""
        return sum(
            line.remaining
            for fulfillment_order in self.fulfillment_orders.values()
            if fulfillment_order.location.number == location
            and fulfillment_order.status in OPEN_FULFILLMENT_ORDER
            for line in fulfillment_order.lines
            if line.line.variant is not None and line.line.variant.item is item
        )

    def quantity(self, item: InventoryItem, location: int, name: str) -> int:
        available = item.levels.get(location, 0)
        if name == "available":
            return available
        if name == "committed":
            return self.committed(item, location)
        if name == "on_hand":
            return available + self.committed(item, location)
        return 0

    # inventorySetQuantities -------------------------------------------------------------

    def once(
        self,
        key: str,
        request: Mapping[str, Any],
        run: Callable[[], tuple[JSON, bool]],
        refusal: Callable[[str, str], JSON],
    ) -> JSON:
        """A mutation carrying ``@idempotent(key:)``: ``run`` (its payload and whether it
        failed) the first time; the same payload again for the same key and input, and
        Shopify's refusals (``refusal(code, message)``, in the mutation's payload shape)
        for the key reused with another input or after a failure."""
        fingerprint = json.dumps(request, sort_keys=True, default=str)
        if key in self.idempotency:
            first, replay, failed = self.idempotency[key]
            if first != fingerprint:
                return refusal(
                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                    "The same idempotency key cannot be used with different operation parameters.",
                )
            if failed:
                return refusal(
                    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
                    "A previous request with this idempotency key failed. "
                    "Retry with a new idempotency key.",
                )
            return copy.deepcopy(replay)
        payload, failed = run()
        self.idempotency[key] = (fingerprint, payload, failed)
        return copy.deepcopy(payload)

    def set_quantities(self, request: Mapping[str, Any], key: str) -> JSON:
        """The ``inventorySetQuantities`` payload: all or nothing, replayable by ``key``."""
        return self.once(key, request, lambda: self._set_quantities(request, key), _refusal)

    def _set_quantities(self, request: Mapping[str, Any], key: str) -> tuple[JSON, bool]:
        name, reason = str(request["name"]), str(request["reason"])
        errors: list[JSON] = []
        if name not in SETTABLE_NAMES:
            errors.append(
                _user_error(
                    "INVALID_NAME",
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                )
            )
        if reason not in INVENTORY_REASONS:
            errors.append(
                _user_error(
                    "INVALID_REASON", ["input", "reason"], "The specified reason is invalid."
                )
            )
        changes: list[tuple[InventoryItem, int, int]] = []
        seen: set[tuple[int, int]] = set()
        for index, entry in enumerate(request["quantities"]):
            error = self._check_quantity(index, entry, name, seen)
            if isinstance(error, dict):
                errors.append(error)
            else:
                changes.append(error)
        payload: JSON
        if errors:
            payload = {"inventoryAdjustmentGroup": None, "userErrors": errors}
        else:
            payload = {
                "inventoryAdjustmentGroup": self._apply(changes, name, request),
                "userErrors": [],
            }
        self.adjustments.append(
            {
                "time": isoformat(self.stamper.stamp()),
                "idempotency_key": key,
                "name": name,
                "reason": reason,
                "quantities": copy.deepcopy(list(request["quantities"])),
                "status": "refused" if errors else "applied",
                "codes": sorted({str(error["code"]) for error in errors}),
            }
        )
        return payload, bool(errors)

    def _check_quantity(
        self, index: int, entry: Mapping[str, Any], name: str, seen: set[tuple[int, int]]
    ) -> JSON | tuple[InventoryItem, int, int]:
        """A userError for one quantity, or the change it asks for."""
        path = ["input", "quantities", str(index)]
        item = self.items.get(gid_number(entry["inventoryItemId"], "InventoryItem") or 0)
        location = self.locations.get(gid_number(entry["locationId"], "Location") or 0)
        quantity = int(entry["quantity"])
        if item is None:
            message = "The specified inventory item could not be found."
            return _user_error("INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"], message)
        if location is None or not location.active:
            message = "The specified location could not be found."
            return _user_error("INVALID_LOCATION", [*path, "locationId"], message)
        if location.number not in item.levels:
            message = "The specified inventory item is not stocked at the location."
            return _user_error("INVALID_LOCATION", [*path, "locationId"], message)
        if (item.number, location.number) in seen:
            return _user_error(
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                [*path, "inventoryItemId"],
                "The combination of inventoryItemId and locationId must be unique.",
            )
        seen.add((item.number, location.number))
        if item.locked:
            message = "The specified inventory item is not allowed to be adjusted via API."
            return _user_error("NON_MUTABLE_INVENTORY_ITEM", [*path, "inventoryItemId"], message)
        if quantity < 0:
            message = "The quantity can't be negative."
            return _user_error("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"], message)
        if quantity > MAX_QUANTITY:
            message = "The total quantity can't be higher than 1,000,000,000."
            return _user_error("INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"], message)
        change_from = entry.get("changeFromQuantity")
        current = self.quantity(item, location.number, name)
        if name in SETTABLE_NAMES and change_from is not None and change_from != current:
            return _user_error(
                "CHANGE_FROM_QUANTITY_STALE",
                [*path, "changeFromQuantity"],
                "The changeFromQuantity value does not match persisted value.",
            )
        return (item, location.number, quantity)

    def _apply(
        self,
        changes: Sequence[tuple[InventoryItem, int, int]],
        name: str,
        request: Mapping[str, Any],
    ) -> JSON:
        moment = self.stamper.stamp()
        applied: list[JSON] = []
        for item, location, quantity in changes:
            before = self.quantity(item, location, name)
            available = (
                quantity if name == "available" else quantity - self.committed(item, location)
            )
            self.change_level(item, location, available)
            applied.append(
                {
                    "name": name,
                    "delta": quantity - before,
                    "quantityAfterChange": quantity,
                    "item": {"id": item.gid, "sku": item.sku},
                    "location": {"id": gid("Location", location)},
                }
            )
        return {
            "id": gid("InventoryAdjustmentGroup", self.next_id("InventoryAdjustmentGroup")),
            "createdAt": graphql_time(moment),
            "reason": str(request["reason"]),
            "referenceDocumentUri": request.get("referenceDocumentUri"),
            "changes": applied,
        }

    # JSON views -------------------------------------------------------------------------

    def variant_json(self, variant: Variant) -> JSON:
        return {
            "sku": variant.sku,
            "barcode": variant.barcode,
            "title": variant.product_title,
            "price": str(variant.price),
            "product_id": gid("Product", variant.product_number),
            "variant_id": variant.gid,
            "inventory_item_id": variant.item.gid,
            "tracked": variant.item.tracked,
            "locked": variant.item.locked,
            "levels": {
                self.locations[number].name: available
                for number, available in sorted(variant.item.levels.items())
            },
        }

    def location_json(self, location: Location) -> JSON:
        return {"id": location.gid, "name": location.name, "active": location.active}


def _user_error(code: str, field: list[str] | None, message: str) -> JSON:
    return {"code": code, "field": field, "message": message}


def _refusal(code: str, message: str) -> JSON:
    return {"inventoryAdjustmentGroup": None, "userErrors": [_user_error(code, None, message)]}


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShopifySimulatorError(f"bad quantity {value!r}")
    return value


def _price(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ShopifySimulatorError(f"bad price {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ShopifySimulatorError(f"bad price {value!r}")
    return amount
