"""b4_bulk_push's Amazon half at a small size: the hub's feed and the bare client's, end
to end against the Amazon simulator (a feed needs 1,500 SKUs, the connector's threshold)."""

from __future__ import annotations

import pytest

from bench.bulk_push_amazon import measure


@pytest.mark.slow
def test_both_pushes_land_every_quantity_and_the_figures_add_up() -> None:
    result = measure(1500, rounds=1, feed_delay=0.2, poll_seconds=0.1)

    assert result["failed_rounds"] == 0  # the hub acknowledged all and Amazon holds them
    assert result["feeds"] == 2  # one JSON_LISTINGS_FEED each: the hub's and the floor's
    assert result["throttled_calls"] == 0
    assert result["feed_poll_s"] == 0.1
    assert result["feed_poll_is_default"] is False
    # s and floor_s are rounded to the millisecond and the ratio, taken before rounding,
    # to a thousandth: the ratio of the rounded figures is off by at most what those
    # roundings allow (large when floor_s is a fraction of a second).
    s, floor_s = result["s"], result["floor_s"]
    slack = 0.0005 + (s / floor_s) * (0.0005 / s + 0.0005 / floor_s) * 1.01
    assert result["ratio"] == pytest.approx(s / floor_s, abs=slack)
    # A feed is processed at the first getFeed after it is due, never before.
    assert result["hub_poll_wait_s"] >= 0
    assert result["floor_poll_wait_s"] >= 0
