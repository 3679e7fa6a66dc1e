"""Barcodes as listings are matched by them, and the codes `catalog import` gives new SKUs.

normalise_barcode: a UPC-A and the EAN-13 that is the same product with a leading 0 (and
GTIN-8 and GTIN-14) compare equal; anything else compares without spaces and case.
derived_code: a listing's SKU code is its channel SKU when that is a valid code, else one
made from the channel's name and the channel's id for it.
"""

from __future__ import annotations

import pytest

from omnisync.core.catalog import SKU_CODE_MAX_LENGTH, sku_code_problem
from omnisync.core.catalog_import import derived_code
from omnisync.core.listing_links import normalise_barcode
from omnisync.core.models import Channel, Listing

UPC_A = "012345678905"
EAN_13 = "0012345678905"


def test_a_upc_a_and_its_ean_13_with_a_leading_zero_are_one_product() -> None:
    assert normalise_barcode(UPC_A) == normalise_barcode(EAN_13) == "00012345678905"
    assert normalise_barcode("00012345678905") == normalise_barcode(UPC_A)  # GTIN-14
    assert normalise_barcode("4006381333931") != normalise_barcode(UPC_A)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("4006381333931", "04006381333931"),  # EAN-13
        ("10012345678902", "10012345678902"),  # GTIN-14, as it is
        (" 0123 4567 8905\t", "00012345678905"),  # spaces are not part of a barcode
    ],
)
def test_gtins_of_every_length_are_compared_as_14_digits(given: str, expected: str) -> None:
    assert normalise_barcode(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0306406152", "0306406152"),  # ISBN-10: not a GTIN length, not padded
        ("12345", "12345"),
        ("b00x 4whp5e", "B00X4WHP5E"),  # an ASIN-like code: no spaces, upper case
        ("978-0306406157", "978-0306406157"),
    ],
)
def test_other_codes_are_compared_without_spaces_in_upper_case(given: str, expected: str) -> None:
    assert normalise_barcode(given) == expected


@pytest.mark.parametrize("given", [None, "", "   ", "\t\n"])
def test_no_barcode_is_none(given: str | None) -> None:
    assert normalise_barcode(given) is None


def shop() -> Channel:
    return Channel(id=1, name="shop", type="shopify")


def listing(key: str) -> Listing:
    return Listing(channel_id=1, channel_sku=key)


def test_a_valid_channel_sku_is_the_code() -> None:
    assert derived_code(shop(), listing("TSHIRT-RED-S")) == "TSHIRT-RED-S"
    assert derived_code(shop(), listing("shirt/red#2")) == "shirt/red#2"  # `/` `#` are valid


def test_a_listing_without_sku_takes_the_channel_name_and_the_last_segment_of_its_id() -> None:
    key = "shopify:gid://shopify/ProductVariant/7"
    assert derived_code(shop(), listing(key)) == "shop-7"
    # The same listing always makes the same code.
    assert derived_code(shop(), listing(key)) == derived_code(shop(), listing(key))
    assert derived_code(shop(), listing("shopify:B0ASIN")) == "shop-B0ASIN"


def test_a_channel_sku_that_is_no_valid_code_is_cleaned() -> None:
    code = derived_code(shop(), listing("RED SHIRT  (M)"))
    assert code == "shop-RED-SHIRT-M"
    assert sku_code_problem(code) is None
    # Another type's prefix is no own name on this channel: only cleaned if invalid.
    assert derived_code(shop(), listing("amazon:X 1")) == "shop-amazon-X-1"


def test_a_derived_code_fits_a_sku_code() -> None:
    code = derived_code(shop(), listing("word " * 60))
    assert len(code) <= SKU_CODE_MAX_LENGTH
    assert sku_code_problem(code) is None
    assert code.startswith("shop-word-word")
    long_id = "shopify:gid://shopify/ProductVariant/" + "9" * 150
    derived = derived_code(shop(), listing(long_id))
    assert sku_code_problem(derived) is None
    assert derived.startswith("shop-999")
