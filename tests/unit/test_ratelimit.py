"""Token buckets: published rate and burst, throttle feedback, recovery."""

from __future__ import annotations

import pytest

from connectors.base import RateLimit
from sync.ratelimit import FLOOR, SLOWDOWN, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_burst_is_free_then_calls_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=2.0, burst=3), clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # queued behind the previous one
    clock.now += 1.0
    assert bucket.reserve() == pytest.approx(0.5)


def test_throttle_feedback_closes_the_bucket_and_slows_down_then_recovers() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=10.0, burst=10), clock)
    bucket.throttled(retry_after=2.0)
    assert bucket.reserve() >= 2.0
    assert bucket.rate == pytest.approx(10.0 * SLOWDOWN)
    for _ in range(100):
        bucket.throttled(0.0)
    assert bucket.rate == pytest.approx(10.0 * FLOOR)
    for _ in range(1000):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(10.0)


def test_an_announced_limit_replaces_the_published_one() -> None:
    bucket = TokenBucket(RateLimit(per_second=10.0, burst=10), FakeClock())
    bucket.set_published(2.0)
    assert bucket.rate == 2.0
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == 2.0
