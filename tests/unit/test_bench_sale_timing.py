"""b3's timing of a sale from the buyer's side: which clock says when a sale happened, and
the per-origin figures (sale to everywhere, from commit, intake) and verdicts."""

from __future__ import annotations

import pytest

from bench.sale_timing import (
    CALL,
    STAMP,
    SaleRecord,
    SaleTiming,
    missed_origins,
    origin_summaries,
    sale_moment,
    stamp_off_call,
)


def record(
    stamp: float, *, whole: bool, called: float = 100.2, answered: float = 100.25
) -> SaleRecord:
    return SaleRecord("SKU", "amazon", called, answered, stamp, whole)


def test_a_stamp_with_a_fraction_is_the_sale_and_checked_against_the_call() -> None:
    inside = record(100.21, whole=False)
    assert sale_moment(inside) == (100.21, STAMP)
    assert not stamp_off_call(inside)

    late = record(100.4, whole=False)
    assert sale_moment(late) == (100.4, STAMP)  # still the channel's word, but counted
    assert stamp_off_call(late)


def test_a_whole_second_stamp_is_bounded_by_the_start_of_the_buyers_call() -> None:
    truncated = record(100.0, whole=True)  # the sale fell in [100, 101) and in the call
    assert sale_moment(truncated) == (100.2, CALL)
    assert not stamp_off_call(truncated)

    # A call that started before the second began: the second's start is the later bound.
    straddling = record(101.0, whole=True, called=100.98, answered=101.01)
    assert sale_moment(straddling) == (101.0, STAMP)
    assert not stamp_off_call(straddling)

    assert stamp_off_call(record(98.0, whole=True))  # a second too early for the call
    assert stamp_off_call(record(101.0, whole=True))  # after the answer


def test_each_origin_sums_up_its_own_sales_in_the_three_figures() -> None:
    timings = [
        SaleTiming("amazon", 10.0, 10.5, 10.7, CALL),
        SaleTiming("amazon", 20.0, 29.0, 29.2, CALL),
        SaleTiming("shopify", 30.0, 30.01, 30.2, STAMP),
    ]
    summaries = origin_summaries(timings)

    assert list(summaries) == ["amazon", "shopify"]
    amazon = summaries["amazon"]
    assert amazon["sales"] == 2
    assert amazon["sale_to_everywhere"]["max_ms"] == pytest.approx(9200.0)
    assert amazon["from_commit"]["max_ms"] == pytest.approx(200.0)
    assert amazon["intake"]["max_ms"] == pytest.approx(9000.0)
    assert amazon["clock"] == {CALL: 2}
    assert summaries["shopify"]["sale_to_everywhere"]["count"] == 1
    assert summaries["shopify"]["clock"] == {STAMP: 1}
    assert missed_origins(summaries, 5000.0) == ["amazon"]
    assert missed_origins(summaries, 10_000.0) == []
