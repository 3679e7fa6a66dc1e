"""The shop's products and variations, their stock, and the updates the API makes.

A simple product and a variation both carry stock the WooCommerce way: ``manage_stock``
on, ``stock_quantity`` the units; off, the quantity is null and the item is in stock.
A variable product is a parent of variations and holds no stock of its own here. SKUs
are unique across products and variations, as WooCommerce keeps them. Products,
variations and orders take their ids from one sequence (all are WordPress posts).

:func:`apply_update` is what ``PUT /products/{id}`` and the batch endpoints do to one
item, following WooCommerce's REST controller: ``manage_stock`` is set first;
``stock_quantity`` counts only on an item that manages stock (otherwise it is ignored
and the quantity cleared); a value of the wrong JSON type is refused as WordPress's
schema validation refuses it (``rest_invalid_param``). The simulator also refuses a
negative ``stock_quantity`` (WooCommerce would store it, for backorders): the hub never
means to send one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from omnisync.sandbox.clock import MonotonicStamper
from omnisync.sandbox.money import parse_price
from omnisync.sandbox.woocommerce.model import (
    JSON,
    IdSequence,
    WooApiError,
    WooCommerceSimulatorError,
    invalid_param,
    is_whole,
)

DEFAULT_PRICE: Final = Decimal("10.00")
ItemKind = Literal["simple", "variable", "variation"]


@dataclass
class StockItem:
    """A simple product, a variable product or one of its variations."""

    id: int
    kind: ItemKind
    name: str
    sku: str
    price: Decimal
    created: datetime
    modified: datetime
    manage_stock: bool = False
    stock_quantity: int | None = None
    backorders: str = "no"
    global_unique_id: str = ""
    parent_id: int = 0
    option: str = ""
    """A variation's value of its parent's one attribute (``S``, ``M``)."""
    variation_ids: list[int] = field(default_factory=list)
    total_sales: int = 0

    @property
    def stock_status(self) -> str:
        if not self.manage_stock or self.stock_quantity is None or self.stock_quantity > 0:
            return "instock"
        return "outofstock" if self.backorders == "no" else "onbackorder"

    @property
    def sellable(self) -> bool:
        return self.kind != "variable"


class Catalogue:
    """Every product and variation, by id and by SKU."""

    def __init__(self, ids: IdSequence, stamper: MonotonicStamper) -> None:
        self.ids = ids
        self.stamper = stamper
        self.items: dict[int, StockItem] = {}

    # lookups ------------------------------------------------------------------------

    def by_sku(self, sku: str) -> StockItem:
        for item in self.items.values():
            if item.sku == sku and sku:
                return item
        raise WooCommerceSimulatorError(f"no product or variation with SKU {sku!r}")

    def get(self, item_id: int) -> StockItem | None:
        return self.items.get(item_id)

    def products(self) -> list[StockItem]:
        """Simple and variable products (not variations), oldest first."""
        return [item for item in self.items.values() if item.kind != "variation"]

    def variations_of(self, parent: StockItem) -> list[StockItem]:
        return [self.items[variation_id] for variation_id in parent.variation_ids]

    def sellable(self) -> Iterator[StockItem]:
        return (item for item in self.items.values() if item.sellable)

    def stock(self) -> dict[str, int]:
        """SKU to stock_quantity, for items that manage stock."""
        return {
            item.sku: item.stock_quantity
            for item in self.sellable()
            if item.manage_stock and item.stock_quantity is not None and item.sku
        }

    # the shop owner -----------------------------------------------------------------

    def seed_simple(self, spec: JSON) -> StockItem:
        """A simple product from ``{sku, name?, stock_quantity?, manage_stock?, price?,
        global_unique_id?}``; a known SKU is updated in place."""
        sku = _text(spec, "sku")
        try:
            existing: StockItem | None = self.by_sku(sku)
        except WooCommerceSimulatorError:
            existing = None
        if existing is not None and existing.kind != "simple":
            raise WooCommerceSimulatorError(f"SKU {sku!r} is a {existing.kind}, not a product")
        item = existing or self._new("simple", str(spec.get("name") or sku), sku)
        self._set_seeded(item, spec)
        return item

    def seed_variable(self, spec: JSON) -> StockItem:
        """A variable product ``{name, sku?, variations: [{sku, stock_quantity?,
        manage_stock?, price?, option?, global_unique_id?}]}``."""
        name = _text(spec, "name")
        variations = spec.get("variations")
        if not isinstance(variations, list) or not variations:
            raise WooCommerceSimulatorError("a variable product needs a list of variations")
        skus = [_text(variation, "sku") for variation in variations]
        taken = [sku for sku in [*skus, str(spec.get("sku") or "")] if sku and self._taken(sku)]
        if taken or len(set(skus)) != len(skus):
            raise WooCommerceSimulatorError(f"SKU already used: {', '.join(taken or skus)}")
        parent = self._new("variable", name, str(spec.get("sku") or ""))
        parent.price = Decimal(0)
        for number, variation in enumerate(variations, start=1):
            child = self._new("variation", name, _text(variation, "sku"))
            child.parent_id = parent.id
            child.option = str(variation.get("option") or f"Option {number}")
            self._set_seeded(child, variation)
            parent.variation_ids.append(child.id)
        return parent

    def set_stock(self, sku: str, quantity: int) -> StockItem:
        """The owner edits the stock in wp-admin: managed from now on, ``quantity`` units."""
        if not is_whole(quantity) or quantity < 0:
            raise WooCommerceSimulatorError("quantity must be a whole number, 0 or more")
        item = self.by_sku(sku)
        if not item.sellable:
            raise WooCommerceSimulatorError(f"{sku!r} is a variable product: stock its variations")
        item.manage_stock = True
        item.stock_quantity = quantity
        self.touch(item)
        return item

    def new_item(self, kind: ItemKind, name: str, parent: StockItem | None) -> StockItem:
        """An empty product, or a variation of ``parent`` (the API's create)."""
        item = self._new(kind, name, "")
        if parent is not None:
            item.parent_id = parent.id
            parent.variation_ids.append(item.id)
            item.option = f"Option {len(parent.variation_ids)}"
        return item

    def forget(self, item: StockItem) -> None:
        """Delete a product (its variations with it) or a variation."""
        self.items.pop(item.id, None)
        parent = self.items.get(item.parent_id)
        if parent is not None and item.id in parent.variation_ids:
            parent.variation_ids.remove(item.id)
        for child_id in item.variation_ids:
            self.items.pop(child_id, None)

    def touch(self, item: StockItem) -> None:
        item.modified = self.stamper.stamp()

    # stock moves (orders) -----------------------------------------------------------

    def available(self, item: StockItem) -> int | None:
        """Units a buyer may order (None: unlimited, the item does not manage stock)."""
        if not item.manage_stock or item.stock_quantity is None or item.backorders != "no":
            return None
        return item.stock_quantity

    def move(self, item: StockItem, delta: int) -> tuple[int, int] | None:
        """Add ``delta`` units to a managed item; (before, after), or None if unmanaged.
        Like ``wc_update_product_stock``, it does not bump ``date_modified``."""
        if not item.manage_stock or item.stock_quantity is None:
            return None
        before = item.stock_quantity
        item.stock_quantity = before + delta
        return before, item.stock_quantity

    def _new(self, kind: ItemKind, name: str, sku: str) -> StockItem:
        now = self.stamper.stamp()
        item = StockItem(self.ids.next(), kind, name, sku, DEFAULT_PRICE, now, now)
        self.items[item.id] = item
        return item

    def _taken(self, sku: str) -> bool:
        return any(item.sku == sku for item in self.items.values())

    def _set_seeded(self, item: StockItem, spec: JSON) -> None:
        quantity = spec.get("stock_quantity")
        manage = spec.get("manage_stock", quantity is not None)
        if quantity is not None and (not is_whole(quantity) or quantity < 0):
            raise WooCommerceSimulatorError(f"{item.sku}: stock_quantity must be 0 or more")
        if not isinstance(manage, bool):
            raise WooCommerceSimulatorError(f"{item.sku}: manage_stock must be true or false")
        try:
            item.price = parse_price(spec.get("price", item.price))
        except ValueError as error:
            raise WooCommerceSimulatorError(f"{item.sku}: {error}") from None
        item.manage_stock = manage
        item.stock_quantity = (quantity or 0) if manage else None
        item.global_unique_id = str(spec.get("global_unique_id") or item.global_unique_id)
        self.touch(item)


def apply_update(catalogue: Catalogue, item: StockItem, body: Any) -> None:
    """One product or variation update from the API (all checked before any change)."""
    if not isinstance(body, dict):
        raise WooApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
    manage = body.get("manage_stock", item.manage_stock)
    if not isinstance(manage, bool):
        raise invalid_param("manage_stock", "manage_stock is not of type boolean.")
    quantity = body.get("stock_quantity")
    if "stock_quantity" in body and quantity is not None:
        if not is_whole(quantity):
            raise invalid_param("stock_quantity", "stock_quantity is not of type integer.")
        if quantity < 0:
            raise invalid_param("stock_quantity", "stock_quantity must be 0 or more.")
    for name, value in _present(body).items():
        if not isinstance(value, str):
            raise invalid_param(name, f"{name} is not of type string.")
    price = None
    if "regular_price" in body and body["regular_price"] != "":
        try:
            price = parse_price(body["regular_price"])
        except ValueError:
            raise invalid_param("regular_price", "regular_price is not a price.") from None
    sku = body.get("sku")
    if sku and sku != item.sku and any(other.sku == sku for other in catalogue.items.values()):
        raise WooApiError(
            400,
            "product_invalid_sku",
            "Invalid or duplicated SKU.",
            {"resource_id": item.id, "unique_sku": f"{sku}-1"},
        )
    if "name" in body and item.kind != "variation":
        item.name = body["name"]
    if sku is not None:
        item.sku = sku
    if "global_unique_id" in body:
        item.global_unique_id = body["global_unique_id"]
    if price is not None:
        item.price = price
    if item.kind != "variable":
        item.manage_stock = manage
        if not manage:
            item.stock_quantity = None
        elif quantity is not None:
            item.stock_quantity = quantity
        elif item.stock_quantity is None:
            item.stock_quantity = 0
    catalogue.touch(item)


def _present(body: JSON) -> JSON:
    return {
        name: body[name]
        for name in ("name", "sku", "regular_price", "global_unique_id")
        if name in body
    }


def _text(spec: Any, name: str) -> str:
    value = spec.get(name) if isinstance(spec, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise WooCommerceSimulatorError(f"{name} must be a non-empty string: {spec!r}")
    return value
