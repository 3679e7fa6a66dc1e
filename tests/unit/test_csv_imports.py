"""What the CSV imports check of a file as a whole (hub/csv_imports.py)."""

from __future__ import annotations

import pytest

from omnisync.core.errors import InvalidRequest
from omnisync.hub.csv_imports import (
    SkuRow,
    repeated_keys,
    sku_import_order,
    whole_number_at_least_zero,
)


def bundle(line: int, code: str, **components: int) -> SkuRow:
    return SkuRow(line=line, code=code, components=dict(components))


def codes(rows: list[SkuRow]) -> list[str]:
    return [row.code for row in rows]


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("12", 12), (" 3 ", 3), ("", None)])
def test_a_safety_stock_is_a_whole_number_of_zero_or_more(text: str, expected: int | None) -> None:
    assert whole_number_at_least_zero("safety_stock", text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "safety_stock '-1' must not be negative"),
        ("-12", "safety_stock '-12' must not be negative"),
        ("abc", "safety_stock 'abc' is not a whole number"),
        ("1.5", "safety_stock '1.5' is not a whole number"),
        ("-", "safety_stock '-' is not a whole number"),
        ("1_000", "safety_stock '1_000' is not a whole number"),
        ("²", "safety_stock '²' is not a whole number"),
    ],
)
def test_other_safety_stocks_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        whole_number_at_least_zero("safety_stock", text)
    assert str(refused.value) == message


def test_repeated_keys_name_the_first_line_and_the_repeat() -> None:
    keyed = [(2, ("A", "main")), (3, ("A", "backup")), (4, ("A", "main")), (5, ("A", "main"))]
    assert repeated_keys(keyed) == [(2, 4, ("A", "main")), (2, 5, ("A", "main"))]


def test_plain_skus_go_before_bundles_each_in_file_order() -> None:
    rows = [
        bundle(2, "KIT", PART=1, CUP=2),
        SkuRow(3, "PART"),
        bundle(4, "SET", CUP=1),
        SkuRow(5, "CUP"),
    ]
    ordered, problems = sku_import_order(rows, "skus.csv")
    assert problems == []
    assert codes(ordered) == ["PART", "CUP", "KIT", "SET"]


def test_a_code_on_two_rows_is_refused_naming_both_lines() -> None:
    _, problems = sku_import_order([SkuRow(2, "A"), SkuRow(3, "B"), SkuRow(4, "A")], "skus.csv")
    assert problems == ["skus.csv:4: SKU 'A' is already on line 2: one row per SKU"]


def test_a_bundle_inside_a_bundle_is_refused() -> None:
    rows = [bundle(2, "BIG", SMALL=2), bundle(3, "SMALL", PART=1), SkuRow(4, "PART")]
    _, problems = sku_import_order(rows, "skus.csv")
    assert problems == [
        "skus.csv:2: bundle 'BIG' contains 'SMALL', a bundle itself (line 3): "
        "a bundle's components must be plain SKUs"
    ]


def test_bundles_in_a_cycle_are_refused_once_naming_the_cycle() -> None:
    rows = [bundle(2, "A", B=1), bundle(3, "B", C=1), bundle(4, "C", A=1)]
    _, problems = sku_import_order(rows, "skus.csv")
    assert problems == [
        "skus.csv:2: bundles contain each other in a cycle: "
        "'A' (line 2) -> 'B' (line 3) -> 'C' (line 4) -> 'A' (line 2)"
    ]


def test_a_bundle_containing_itself_is_refused() -> None:
    _, problems = sku_import_order([bundle(2, "A", A=1)], "skus.csv")
    assert problems == ["skus.csv:2: bundle 'A' contains itself"]
