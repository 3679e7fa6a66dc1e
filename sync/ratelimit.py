"""Per-channel token buckets that follow the connector's published limits and slow
down when the channel says we are too fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from omnisync.connectors.base import RateLimit

SLOWDOWN = 0.75
"""Multiplier applied to the rate each time the channel throttles us."""
RECOVERY = 0.02
"""Share of the published rate won back with each successful call."""
FLOOR = 0.1
"""The rate never drops below this share of the published rate."""
HEADROOM = 0.95
"""Share of the published rate the hub uses at most. The channel's bucket counts from
when a call arrives, ours from when we send it: at exactly the published rate, calls
that travel unevenly meet 429s (b3_propagation saw a few patchListingsItem calls in a
hundred refused at Amazon's 5/s); 5% spare absorbs 10 ms of jitter per call at 5/s."""


class TokenBucket:
    """Thread-safe; `reserve` books a token and says how long to wait for it."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.published = limit.per_second
        self.rate = limit.per_second * HEADROOM
        self.burst = float(limit.burst)
        self._clock = clock
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._closed_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self, cost: float = 1.0) -> float:
        """Take `cost` tokens (going into debt if need be); return the seconds to wait."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= cost
            wait = max(-self._tokens / self.rate, 0.0) if self._tokens < 0 else 0.0
            return max(wait, self._closed_until - now)

    def throttled(self, retry_after: float) -> None:
        """The channel refused a call: wait as told and slow down."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._closed_until = max(self._closed_until, now + retry_after)
            self._tokens = min(self._tokens, 0.0)
            self.rate = max(self.rate * SLOWDOWN, self.published * FLOOR)

    def succeeded(self) -> None:
        with self._lock:
            self.rate = min(self.published * HEADROOM, self.rate + self.published * RECOVERY)

    def set_published(self, per_second: float) -> None:
        """The channel announced its current limit."""
        with self._lock:
            self.published = per_second
            self.rate = min(self.rate, per_second * HEADROOM)


class ChannelLimiter:
    """The buckets of one channel, one per limited operation."""

    def __init__(self, limits: Mapping[str, RateLimit]) -> None:
        self.buckets = {operation: TokenBucket(limit) for operation, limit in limits.items()}

    def delay(self, operation: str) -> float:
        bucket = self.buckets.get(operation)
        return bucket.reserve() if bucket else 0.0

    def throttled(self, operation: str, retry_after: float) -> None:
        bucket = self.buckets.get(operation)
        if bucket:
            bucket.throttled(retry_after)

    def succeeded(self, operation: str) -> None:
        bucket = self.buckets.get(operation)
        if bucket:
            bucket.succeeded()

    def observe_limit(self, operation: str, per_second: float) -> None:
        bucket = self.buckets.get(operation)
        if bucket and per_second > 0:
            bucket.set_published(per_second)
