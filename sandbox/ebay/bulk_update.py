"""bulkUpdatePriceQuantity: up to 25 SKUs' quantity and their offers' quantity and price
in one call, each request item applied (or refused) on its own.

The answer is ``{"responses": [...]}``, one entry per offer an item names (``statusCode``,
``sku``, ``offerId``), or one per item that names no offer (``statusCode``, ``sku``), with
``errors`` on a refused one: HTTP 200 when every entry is 200, 207 when some are not. A
malformed body, more than :data:`MAX_REQUESTS` items, or the same SKU or offer twice
refuses the whole call with 400.

An item is refused whole (nothing of it applied) when its SKU or an offer is unknown
(404: 25702, 25713), an offer is not the SKU's or a value is malformed (400: 25709,
25004, 25003), or when it would revise a listing already revised
:data:`~sandbox.ebay.inventory.DAILY_REVISIONS` times today (400, 25026, the daily
revision limit). A listing is revised when what a buyer sees of it changes: its quantity
(``min(availableQuantity, ship-to-home quantity)``) or its price; an item that sets the
values already there revises nothing and counts nothing, and an item counts one
revision for each listing it changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from omnisync.sandbox.ebay.errors import (
    DAILY_REVISION_LIMIT,
    DUPLICATE_OFFER,
    DUPLICATE_SKU,
    INVALID_PRICE,
    INVALID_QUANTITY,
    INVENTORY,
    OFFER_NOT_AVAILABLE,
    SKU_NOT_FOUND,
    TOO_MANY_ITEMS,
    EbayApiError,
    invalid_value,
)
from omnisync.sandbox.ebay.inventory import DAILY_REVISIONS, Catalogue, Offer
from omnisync.sandbox.ebay.model import JSON, is_count, parse_price

MAX_REQUESTS: Final = 25


@dataclass
class _OfferChange:
    offer: Offer
    quantity: int | None
    price: Decimal | None


@dataclass
class _Item:
    """One request item, checked: what it sets."""

    sku: str
    quantity: int | None
    changes: dict[str, _OfferChange] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, error: EbayApiError) -> None:
        super().__init__(str(error))
        self.error = error


def bulk_update(catalogue: Catalogue, body: Any) -> tuple[int, JSON]:
    """Apply a bulkUpdatePriceQuantity body: (200 or 207, the responses)."""
    requests = _checked_requests(body)
    responses: list[JSON] = []
    for raw in requests:
        responses.extend(_apply(catalogue, raw))
    status = 200 if all(entry["statusCode"] == 200 for entry in responses) else 207
    return status, {"responses": responses}


def _checked_requests(body: Any) -> list[Any]:
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise invalid_value("requests", "", "A non-empty requests array is required.")
    if len(requests) > MAX_REQUESTS:
        raise EbayApiError(
            400,
            TOO_MANY_ITEMS,
            INVENTORY.domain,
            f"The number of InventoryItems in the request cannot exceed {MAX_REQUESTS}.",
            parameters=(("requests", str(len(requests))),),
        )
    skus = [raw["sku"] for raw in requests if isinstance(raw, dict) and "sku" in raw]
    _refuse_repeats(skus, DUPLICATE_SKU, "SKU", "sku")
    offer_ids = [
        offer.get("offerId")
        for raw in requests
        if isinstance(raw, dict) and isinstance(raw.get("offers"), list)
        for offer in raw["offers"]
        if isinstance(offer, dict) and "offerId" in offer
    ]
    _refuse_repeats(offer_ids, DUPLICATE_OFFER, "OfferId", "offerId")
    return requests


def _refuse_repeats(values: Iterable[object], error_id: int, label: str, parameter: str) -> None:
    """Refuse the call (400) when a value stands twice, naming each such value."""
    repeated = sorted(str(value) for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise EbayApiError(
            400,
            error_id,
            INVENTORY.domain,
            f"{label} should be unique in the request.",
            parameters=tuple((parameter, value) for value in repeated),
        )


def _apply(catalogue: Catalogue, raw: Any) -> list[JSON]:
    try:
        item = _parse(catalogue, raw)
        changed = _revised_listings(catalogue, item)
        capped = [o for o in changed if catalogue.revisions_today(o.offer_id) >= DAILY_REVISIONS]
        if capped:
            raise _Refused(_daily_limit(capped[0]))
    except _Refused as refused:
        return _entries(raw, refused.error)
    if item.quantity is not None:
        catalogue.item(item.sku).quantity = item.quantity
    for change in item.changes.values():
        if change.quantity is not None:
            change.offer.available_quantity = change.quantity
        if change.price is not None:
            change.offer.price = change.price
    for offer in changed:
        catalogue.count_revision(offer.offer_id)
    return _entries(raw, None, item)


def _parse(catalogue: Catalogue, raw: Any) -> _Item:
    if not isinstance(raw, dict):
        raise _Refused(invalid_value("requests", raw, "Each request must be an object."))
    sku = raw.get("sku")
    if sku is not None and (not isinstance(sku, str) or not sku):
        raise _Refused(invalid_value("sku", sku))
    quantity = _ship_to_home(raw.get("shipToLocationAvailability"))
    offers = raw.get("offers")
    if offers is not None and (not isinstance(offers, list) or not offers):
        raise _Refused(invalid_value("offers", offers, "offers must be a non-empty array."))
    if quantity is None and offers is None:
        raise _Refused(
            invalid_value("shipToLocationAvailability", "", "Nothing to update for this item.")
        )
    if quantity is not None and sku is None:
        raise _Refused(invalid_value("sku", "", "sku is required to update its quantity."))
    if sku is not None and sku not in catalogue.items:
        raise _Refused(
            EbayApiError(
                404,
                SKU_NOT_FOUND,
                INVENTORY.domain,
                f"{sku} could not be found or is not available in the system.",
                parameters=(("sku", sku),),
            )
        )
    item = _Item(sku or "", quantity)
    for entry in offers or []:
        change = _offer_change(catalogue, entry)
        if not item.sku:
            item.sku = change.offer.sku
        if change.offer.sku != item.sku:
            raise _Refused(
                invalid_value(
                    "offerId", change.offer.offer_id, f"It is not an offer of {item.sku}."
                )
            )
        item.changes[change.offer.offer_id] = change
    return item


def _ship_to_home(raw: Any) -> int | None:
    if raw is None:
        return None
    quantity = raw.get("quantity") if isinstance(raw, dict) else None
    if not is_count(quantity):
        raise _Refused(_invalid_quantity(quantity))
    assert isinstance(quantity, int)
    return quantity


def _offer_change(catalogue: Catalogue, entry: Any) -> _OfferChange:
    offer_id = entry.get("offerId") if isinstance(entry, dict) else None
    if not isinstance(offer_id, str) or not offer_id:
        raise _Refused(invalid_value("offerId", offer_id))
    offer = catalogue.offers.get(offer_id)
    if offer is None:
        raise _Refused(
            EbayApiError(
                404,
                OFFER_NOT_AVAILABLE,
                INVENTORY.domain,
                f"This Offer is not available : {offer_id}.",
                parameters=(("offerId", offer_id),),
            )
        )
    assert isinstance(entry, dict)
    quantity = entry.get("availableQuantity")
    if quantity is not None and not is_count(quantity):
        raise _Refused(_invalid_quantity(quantity))
    price = _price(entry.get("price"), offer.currency) if "price" in entry else None
    if quantity is None and price is None:
        raise _Refused(
            invalid_value("availableQuantity", "", "availableQuantity or price is required.")
        )
    return _OfferChange(offer, quantity, price)


def _price(raw: Any, currency: str) -> Decimal:
    try:
        if not isinstance(raw, dict) or raw.get("currency", currency) != currency:
            raise ValueError(raw)
        return parse_price(raw.get("value"))
    except ValueError:
        raise _Refused(
            EbayApiError(
                400,
                INVALID_PRICE,
                INVENTORY.domain,
                f"Invalid price. A price is a non-negative value in {currency}.",
                parameters=(("price", str(raw)),),
            )
        ) from None


def _invalid_quantity(value: Any) -> EbayApiError:
    return EbayApiError(
        400,
        INVALID_QUANTITY,
        INVENTORY.domain,
        "Invalid quantity. A quantity is a whole number, 0 or more.",
        parameters=(("quantity", str(value)),),
    )


def _revised_listings(catalogue: Catalogue, item: _Item) -> list[Offer]:
    """The SKU's listings whose visible quantity or price the item would change."""
    current = catalogue.item(item.sku).quantity
    after_item = current if item.quantity is None else item.quantity
    revised = []
    for offer in catalogue.offers_of(item.sku):
        change = item.changes.get(offer.offer_id)
        quantity = offer.available_quantity
        price = offer.price
        if change is not None:
            quantity = quantity if change.quantity is None else change.quantity
            price = price if change.price is None else change.price
        before = min(offer.available_quantity, current)
        if min(quantity, after_item) != before or price != offer.price:
            revised.append(offer)
    return revised


def _daily_limit(offer: Offer) -> EbayApiError:
    return EbayApiError(
        400,
        DAILY_REVISION_LIMIT,
        INVENTORY.domain,
        f"Selling limits exceeded. Listing {offer.listing_id} reached its daily revision "
        f"limit ({DAILY_REVISIONS} revisions per day); try again tomorrow.",
        parameters=(("listingId", offer.listing_id), ("offerId", offer.offer_id)),
    )


def _entries(raw: Any, error: EbayApiError | None, item: _Item | None = None) -> list[JSON]:
    """The responses of one request item: one per offer it names, else one for its SKU."""
    status = 200 if error is None else error.status
    sku = item.sku if item is not None else _text(raw, "sku")
    offers = raw.get("offers") if isinstance(raw, dict) else None
    named = [_text(entry, "offerId") for entry in offers] if isinstance(offers, list) else []
    entries: list[JSON] = []
    for offer_id in named or [None]:
        entry: JSON = {"statusCode": status}
        entry_sku = sku
        if item is not None and offer_id in item.changes:
            entry_sku = item.changes[offer_id].offer.sku
        if entry_sku:
            entry["sku"] = entry_sku
        if offer_id:
            entry["offerId"] = offer_id
        if error is not None:
            entry["errors"] = [error.detail()]
        entries.append(entry)
    return entries


def _text(raw: Any, name: str) -> str | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else None
