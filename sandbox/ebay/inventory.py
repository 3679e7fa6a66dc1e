"""The seller's eBay inventory: inventory items, their published offers, and how often
each listing was revised today.

An inventory item is a SKU with its product (title, EAN/UPC) and its ship-to-home
quantity (``availability.shipToLocationAvailability.quantity``). Each seeded SKU has one
published fixed-price offer on the simulator's marketplace, with its own
``availableQuantity``, price and live listing; a buyer sees
``min(offer availableQuantity, item quantity)`` (:meth:`Catalogue.visible`). A sale
lowers both, a cancellation gives both back.

Revisions: eBay lets a listing be revised at most :data:`DAILY_REVISIONS` times a day.
The day here is the calendar day in UTC on the simulator's clock, so moving a
:class:`~sandbox.clock.ManualClock` past midnight UTC starts every count again. What
counts is decided by :mod:`sandbox.ebay.bulk_update`; this module keeps the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal
from typing import Final

from omnisync.sandbox.clock import Clock
from omnisync.sandbox.ebay.model import JSON, EbaySimulatorError, amount

DAILY_REVISIONS: Final = 250
FIXED_PRICE: Final = "FIXED_PRICE"
DEFAULT_PRICE: Final = Decimal("19.99")
DEFAULT_CATEGORY: Final = "31387"


@dataclass
class InventoryItem:
    sku: str
    title: str
    quantity: int
    """Ship-to-home quantity, across marketplaces."""
    ean: tuple[str, ...] = ()
    upc: tuple[str, ...] = ()
    condition: str = "NEW"
    locale: str = "en_US"

    def to_json(self) -> JSON:
        product: JSON = {"title": self.title}
        if self.ean:
            product["ean"] = list(self.ean)
        if self.upc:
            product["upc"] = list(self.upc)
        return {
            "sku": self.sku,
            "locale": self.locale,
            "product": product,
            "condition": self.condition,
            "availability": {"shipToLocationAvailability": {"quantity": self.quantity}},
        }


@dataclass
class Offer:
    offer_id: str
    sku: str
    marketplace_id: str
    listing_id: str
    price: Decimal
    currency: str
    available_quantity: int
    sold_quantity: int = 0

    def to_json(self) -> JSON:
        return {
            "offerId": self.offer_id,
            "sku": self.sku,
            "marketplaceId": self.marketplace_id,
            "format": FIXED_PRICE,
            "availableQuantity": self.available_quantity,
            "categoryId": DEFAULT_CATEGORY,
            "listingDuration": "GTC",
            "hideBuyerDetails": False,
            "includeCatalogProductDetails": True,
            "pricingSummary": {"price": amount(self.price, self.currency)},
            "listing": {
                "listingId": self.listing_id,
                "listingStatus": "ACTIVE",
                "soldQuantity": self.sold_quantity,
            },
            "status": "PUBLISHED",
        }


@dataclass
class _Revisions:
    day: date
    count: int = 0


@dataclass
class Catalogue:
    """Inventory items by SKU (in the order they were made) and offers by id."""

    clock: Clock
    marketplace_id: str
    currency: str
    items: dict[str, InventoryItem] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    _revisions: dict[str, _Revisions] = field(default_factory=dict)
    _next_offer: int = 1

    # seeding ------------------------------------------------------------------------

    def seed(
        self,
        sku: str,
        quantity: int,
        *,
        title: str | None = None,
        price: Decimal = DEFAULT_PRICE,
        ean: Sequence[str] = (),
        upc: Sequence[str] = (),
    ) -> Offer:
        """An inventory item and one published offer for it (both replaced when the SKU
        is known: same offer and listing, new quantity and price)."""
        if not sku or len(sku) > 50:
            raise EbaySimulatorError(f"a SKU is 1 to 50 characters: {sku!r}")
        if quantity < 0:
            raise EbaySimulatorError(f"{sku}: quantity must be 0 or more")
        self.items[sku] = InventoryItem(
            sku, title or f"Listing {sku}", quantity, tuple(ean), tuple(upc)
        )
        existing = self.offer_for(sku)
        if existing is not None:
            existing.price = price
            existing.available_quantity = quantity
            return existing
        number = self._next_offer
        self._next_offer += 1
        offer = Offer(
            offer_id=str(5_000_000_000 + number),
            sku=sku,
            marketplace_id=self.marketplace_id,
            listing_id=str(110_000_000_000 + number),
            price=price,
            currency=self.currency,
            available_quantity=quantity,
        )
        self.offers[offer.offer_id] = offer
        return offer

    # reading ------------------------------------------------------------------------

    def item(self, sku: str) -> InventoryItem:
        found = self.items.get(sku)
        if found is None:
            raise EbaySimulatorError(f"no inventory item {sku!r}")
        return found

    def offers_of(self, sku: str) -> list[Offer]:
        return [offer for offer in self.offers.values() if offer.sku == sku]

    def offer_for(self, sku: str) -> Offer | None:
        """The SKU's offer on the simulator's marketplace (what buyers there buy)."""
        return next(
            (o for o in self.offers_of(sku) if o.marketplace_id == self.marketplace_id), None
        )

    def visible(self, offer: Offer) -> int:
        """What a buyer sees on the listing: min(availableQuantity, ship-to-home)."""
        item = self.items.get(offer.sku)
        return max(0, min(offer.available_quantity, item.quantity if item else 0))

    def stock(self) -> dict[str, int]:
        """The quantity a buyer sees, per SKU (0 for a SKU without an offer here)."""
        found: dict[str, int] = {}
        for sku in self.items:
            offer = self.offer_for(sku)
            found[sku] = self.visible(offer) if offer is not None else 0
        return found

    # buyers -------------------------------------------------------------------------

    def check_sellable(self, sku: str, quantity: int) -> Offer:
        offer = self.offer_for(sku)
        if offer is None:
            raise EbaySimulatorError(f"no listing for {sku!r}")
        if quantity < 1:
            raise EbaySimulatorError(f"{sku}: quantity must be 1 or more")
        if self.visible(offer) < quantity:
            raise EbaySimulatorError(f"{sku}: {quantity} wanted, {self.visible(offer)} available")
        return offer

    def sell(self, offer: Offer, quantity: int) -> None:
        offer.available_quantity -= quantity
        offer.sold_quantity += quantity
        self.items[offer.sku].quantity -= quantity

    def give_back(self, offer_id: str, sku: str, quantity: int) -> None:
        """A cancelled sale: the units are on offer again (when listing and item still are)."""
        offer = self.offers.get(offer_id)
        if offer is not None:
            offer.available_quantity += quantity
            offer.sold_quantity = max(0, offer.sold_quantity - quantity)
        item = self.items.get(sku)
        if item is not None:
            item.quantity += quantity

    # revisions ----------------------------------------------------------------------

    def today(self) -> date:
        return self.clock.now().astimezone(UTC).date()

    def revisions_today(self, offer_id: str) -> int:
        kept = self._revisions.get(offer_id)
        return kept.count if kept is not None and kept.day == self.today() else 0

    def count_revision(self, offer_id: str) -> None:
        self._revisions[offer_id] = _Revisions(self.today(), self.revisions_today(offer_id) + 1)

    def set_revisions_today(self, offer_id: str, count: int) -> None:
        self._revisions[offer_id] = _Revisions(self.today(), count)
