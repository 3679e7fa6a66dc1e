"""Channel stock rules, in docs/architecture.md's order: percent, buffer, zero_below, max."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnisync.core.availability import StockRules


@pytest.mark.parametrize(
    ("rules", "base", "expected"),
    [
        (StockRules(), 7, 7),
        (StockRules(allocation_percent=50), 7, 3),  # floor
        (StockRules(buffer=2), 7, 5),
        (StockRules(buffer=10), 7, 0),
        (StockRules(zero_below=5), 4, 0),
        (StockRules(zero_below=5), 5, 5),
        (StockRules(max_quantity=3), 7, 3),
        (StockRules(allocation_percent=80, buffer=1, zero_below=3, max_quantity=5), 10, 5),
        (StockRules(allocation_percent=80, buffer=1, zero_below=3), 3, 0),  # 2 - 1 = 1 < 3
        (StockRules(), -4, 0),
    ],
)
def test_rules(rules: StockRules, base: int, expected: int) -> None:
    assert rules.apply(base) == expected


@given(
    base=st.integers(-50, 10_000),
    percent=st.integers(0, 100),
    buffer=st.integers(0, 100),
    zero_below=st.integers(0, 100),
    cap=st.one_of(st.none(), st.integers(0, 1000)),
)
def test_rules_never_go_negative_nor_above_the_free_stock(
    base: int, percent: int, buffer: int, zero_below: int, cap: int | None
) -> None:
    rules = StockRules(percent, buffer, zero_below, cap)
    result = rules.apply(base)
    assert 0 <= result <= max(base, 0)
    if cap is not None:
        assert result <= cap
