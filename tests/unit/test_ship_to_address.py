"""core/addresses.py `address_from_ship_to`: each channel's stored ship-to (the shape its
connector keeps on the order) read as the one Address a label needs."""

from __future__ import annotations

from typing import Any

import pytest

from omnisync.core.addresses import address_from_ship_to
from omnisync.core.dto import Address

SHAPES: dict[str, tuple[dict[str, Any], Address]] = {
    # connectors/shopify/documents.py: shippingAddress { name address1 address2 city zip
    # provinceCode countryCodeV2 phone }
    "shopify graphql": (
        {
            "name": "Ada Lovelace",
            "address1": "12 Market Street",
            "address2": "Floor 2",
            "city": "Springfield",
            "zip": "62701",
            "provinceCode": "IL",
            "countryCodeV2": "US",
            "phone": "+1 217 555 0100",
        },
        Address(
            name="Ada Lovelace",
            street1="12 Market Street",
            street2="Floor 2",
            city="Springfield",
            state_code="IL",
            postal_code="62701",
            country_code="US",
            phone="+1 217 555 0100",
        ),
    ),
    # Shopify's REST webhooks (orders/create, ...): shipping_address
    "shopify rest": (
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "name": "Ada Lovelace",
            "address1": "12 Market Street",
            "address2": None,
            "city": "Springfield",
            "zip": "62701",
            "province": "Illinois",
            "province_code": "IL",
            "country": "United States",
            "country_code": "US",
            "phone": None,
        },
        Address(
            name="Ada Lovelace",
            street1="12 Market Street",
            city="Springfield",
            state_code="IL",
            postal_code="62701",
            country_code="US",
        ),
    ),
    # Amazon Orders API: recipient.deliveryAddress
    "amazon": (
        {
            "name": "Grace Hopper",
            "addressLine1": "1 Navy Way",
            "addressLine2": "Building 7",
            "addressLine3": "Dock B",
            "city": "Arlington",
            "stateOrRegion": "VA",
            "postalCode": "22202",
            "countryCode": "US",
            "phone": "+1 703 555 0142",
            "addressType": "COMMERCIAL",
        },
        Address(
            name="Grace Hopper",
            street1="1 Navy Way",
            street2="Building 7, Dock B",
            city="Arlington",
            state_code="VA",
            postal_code="22202",
            country_code="US",
            phone="+1 703 555 0142",
        ),
    ),
    # eBay getOrder: fulfillmentStartInstructions[0].shippingStep.shipTo
    "ebay": (
        {
            "fullName": "Alan Turing",
            "contactAddress": {
                "addressLine1": "78 High Street",
                "addressLine2": "Flat 3",
                "city": "Wilmslow",
                "stateOrProvince": "Cheshire",
                "postalCode": "SK9 1AA",
                "countryCode": "GB",
            },
            "primaryPhone": {"phoneNumber": "+44 1625 555 010"},
            "email": "buyer@members.ebay.com",
        },
        Address(
            name="Alan Turing",
            street1="78 High Street",
            street2="Flat 3",
            city="Wilmslow",
            state_code="Cheshire",
            postal_code="SK9 1AA",
            country_code="GB",
            phone="+44 1625 555 010",
            email="buyer@members.ebay.com",
        ),
    ),
    # connectors/woocommerce/mapping.py `_address(order["shipping"])`
    "woocommerce": (
        {
            "first_name": "Katherine",
            "last_name": "Johnson",
            "company": "NASA Langley",
            "address_1": "1 Nasa Drive",
            "address_2": "",
            "city": "Hampton",
            "state": "VA",
            "postcode": "23666",
            "country": "US",
            "phone": "",
        },
        Address(
            name="Katherine Johnson",
            company="NASA Langley",
            street1="1 Nasa Drive",
            city="Hampton",
            state_code="VA",
            postal_code="23666",
            country_code="US",
        ),
    ),
    # sandbox/marketplace: shipping_address
    "sandbox": (
        {
            "name": "Buyer 7",
            "address1": "7 Market Street",
            "city": "Springfield",
            "zip": "10007",
            "country": "US",
        },
        Address(
            name="Buyer 7",
            street1="7 Market Street",
            city="Springfield",
            postal_code="10007",
            country_code="US",
        ),
    ),
}


@pytest.mark.parametrize("channel", sorted(SHAPES))
def test_each_channels_ship_to_is_read_whole(channel: str) -> None:
    stored, expected = SHAPES[channel]
    assert address_from_ship_to(stored) == expected


@pytest.mark.parametrize(
    "ship_to",
    [
        None,
        {},
        # Amazon without the buyer's data (no Restricted Data Token): city and country only
        {"city": "Seattle", "stateOrRegion": "WA", "postalCode": "98109", "countryCode": "US"},
        {"name": "No Country", "address1": "1 Street", "city": "Town"},
        {"name": "No City", "address1": "1 Street", "country_code": "US"},
        {"fullName": "Erased", "contactAddress": {"countryCode": "US"}},
    ],
    ids=["none", "empty", "amazon without buyer data", "no country", "no city", "erased"],
)
def test_an_address_a_carrier_cannot_use_is_none(ship_to: dict[str, Any] | None) -> None:
    assert address_from_ship_to(ship_to) is None


def test_blank_values_are_left_out_and_text_is_stripped() -> None:
    address = address_from_ship_to(
        {
            "name": "  Ada  ",
            "address1": " 12 Market Street ",
            "address2": "   ",
            "city": "Springfield",
            "zip": 62701,
            "countryCode": "us",
            "phone": "",
        }
    )
    assert address == Address(
        name="Ada",
        street1="12 Market Street",
        city="Springfield",
        postal_code="62701",
        country_code="US",
    )
