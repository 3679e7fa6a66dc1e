"""Ship-to addresses as the channels store them (each in its own shape), read the one way
the hub needs them: the destination country for routing, the whole address for a label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnisync.core.dto import Address

_COUNTRY_KEYS = ("countryCodeV2", "countryCode", "country_code", "country")
"""Shopify GraphQL, Amazon, Shopify REST, WooCommerce and the sandbox."""


def ship_to_country(ship_to: Mapping[str, Any] | None) -> str | None:
    """The ISO 3166 two-letter code of the destination, None when the address has none."""
    if not ship_to:
        return None
    nested = ship_to.get("contactAddress")  # eBay: shipTo.contactAddress
    if isinstance(nested, Mapping):
        found = ship_to_country(nested)
        if found:
            return found
    for key in _COUNTRY_KEYS:
        value = ship_to.get(key)
        if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isalpha():
            return value.strip().upper()
    return None


_NAME_KEYS = ("name", "fullName")
"""Shopify, Amazon and the sandbox; eBay."""
_STREET_KEYS = ("address1", "addressLine1", "address_1")
"""Shopify (GraphQL and REST) and the sandbox; Amazon and eBay; WooCommerce."""
_SECOND_LINE_KEYS = ("address2", "addressLine2", "addressLine3", "address_2")
_STATE_KEYS = ("provinceCode", "province_code", "stateOrRegion", "stateOrProvince", "state")
"""Shopify GraphQL, Shopify REST, Amazon, eBay, WooCommerce."""
_POSTAL_KEYS = ("zip", "postalCode", "postcode")


def address_from_ship_to(ship_to: Mapping[str, Any] | None) -> Address | None:
    """The ship-to address as a label needs it, from any channel's shape (Shopify's
    GraphQL ``shippingAddress`` and REST ``shipping_address``, Amazon's
    ``deliveryAddress``, eBay's ``shipTo`` with its ``contactAddress`` and
    ``primaryPhone``, WooCommerce's ``shipping``, the sandbox's ``shipping_address``).
    None when it has no street, city or country (Amazon hides the street of an order
    whose buyer data the seller may not see; an erased buyer has none)."""
    if not ship_to:
        return None
    nested = ship_to.get("contactAddress")
    fields = {**ship_to, **nested} if isinstance(nested, Mapping) else dict(ship_to)
    country = ship_to_country(ship_to)
    street = _first(fields, _STREET_KEYS)
    city = _first(fields, ("city",))
    if country is None or street is None or city is None:
        return None
    second = ", ".join(line for key in _SECOND_LINE_KEYS if (line := _first(fields, (key,))))
    phone = fields.get("primaryPhone")
    phone_number = _first(phone, ("phoneNumber",)) if isinstance(phone, Mapping) else None
    return Address(
        name=_first(fields, _NAME_KEYS) or _joined(fields, ("first_name", "last_name")) or "",
        company=_first(fields, ("company",)),
        street1=street,
        street2=second or None,
        city=city,
        state_code=_first(fields, _STATE_KEYS),
        postal_code=_first(fields, _POSTAL_KEYS) or "",
        country_code=country,
        phone=phone_number or _first(fields, ("phone",)),
        email=_first(fields, ("email",)),
    )


def _first(fields: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of `keys` holding text that is not blank, stripped."""
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _joined(fields: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    parts = [part for key in keys if (part := _first(fields, (key,)))]
    return " ".join(parts) or None
