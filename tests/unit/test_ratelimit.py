"""Token buckets: published rate and burst, throttle feedback, recovery."""

from __future__ import annotations

import pytest

from omnisync.connectors.base import RateLimit
from omnisync.sandbox.ratelimit import TokenBucket as ChannelBucket
from omnisync.sync import ratelimit
from omnisync.sync.ratelimit import FLOOR, HEADROOM, SLOWDOWN, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_burst_is_free_then_calls_are_spaced_at_the_rate_less_the_headroom() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=2.0, burst=3), clock)
    spacing = 1 / (2.0 * HEADROOM)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(spacing)
    assert bucket.reserve() == pytest.approx(2 * spacing)  # queued behind the previous one
    clock.now += 2 * spacing
    assert bucket.reserve() == pytest.approx(spacing)


def test_throttle_feedback_closes_the_bucket_and_slows_down_then_recovers() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=10.0, burst=10), clock)
    bucket.throttled(retry_after=2.0)
    assert bucket.reserve() >= 2.0
    assert bucket.rate == pytest.approx(10.0 * HEADROOM * SLOWDOWN)
    for _ in range(100):
        bucket.throttled(0.0)
    assert bucket.rate == pytest.approx(10.0 * FLOOR)
    for _ in range(1000):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(10.0 * HEADROOM)


def test_an_announced_limit_replaces_the_published_one() -> None:
    bucket = TokenBucket(RateLimit(per_second=10.0, burst=10), FakeClock())
    bucket.set_published(2.0)
    assert bucket.rate == pytest.approx(2.0 * HEADROOM)
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(2.0 * HEADROOM)


def refused_by_the_channel(calls: int, jitter: float) -> int:
    """Calls made one after the other through our limiter at Amazon's 5/s burst 5, every
    other one arriving `jitter` seconds late at the channel's own bucket (sandbox/)."""
    clock = FakeClock()
    ours = TokenBucket(RateLimit(per_second=5.0, burst=5), clock)
    theirs = ChannelBucket(5.0, 5, monotonic=clock)
    refused = 0
    for call in range(calls):
        sent = clock.now + ours.reserve()
        clock.now = sent + (jitter if call % 2 == 0 else 0.0)
        if theirs.try_acquire() is not None:
            refused += 1
        clock.now += 0.001  # the answer; the next call is made after it
    return refused


def test_the_headroom_absorbs_uneven_travel_that_the_published_rate_alone_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert refused_by_the_channel(200, jitter=0.004) == 0
    monkeypatch.setattr(ratelimit, "HEADROOM", 1.0)
    assert refused_by_the_channel(200, jitter=0.004) > 0
