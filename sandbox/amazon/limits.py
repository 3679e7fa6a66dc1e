"""SP-API rate limits: one token bucket per operation, with the published usage plans.

Each operation's rate and burst are Amazon's published usage plan, kept with the
operation in the project's copy of the model, so the simulator enforces what Amazon
publishes:
getOrders 0.0167/s burst 20, patchListingsItem 5/s burst 5, createFeed 0.0083/s
burst 15, and so on. ``scale`` multiplies every rate (tests and the demo run the
same shape faster); bursts stay. On top of its bucket, createFeed takes at most
:data:`LISTINGS_FEEDS_PER_WINDOW` JSON_LISTINGS_FEED submissions per
:data:`LISTINGS_FEED_WINDOW_S` (five minutes, divided by the scale).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from functools import cache
from typing import Final

from omnisync.sandbox.amazon.static import operation_specs
from omnisync.sandbox.ratelimit import TokenBucket
from omnisync.sandbox.reference import USAGE_PLAN_KEY, amazon_model

LISTINGS_FEEDS_PER_WINDOW: Final = 5
LISTINGS_FEED_WINDOW_S: Final = 300.0


@cache
def usage_plan(operation: str) -> tuple[float, int]:
    """``(rate per second, burst)`` as Amazon publishes them for ``operation``."""
    spec = operation_specs()[operation]
    model = amazon_model(spec.model)
    plan = model["paths"][spec.path][spec.method.lower()].get(USAGE_PLAN_KEY)
    if plan is None:
        raise LookupError(f"no usage plan for {operation} in {spec.model}")
    return float(plan["rate"]), int(plan["burst"])


def format_rate(rate: float) -> str:
    """``x-amzn-RateLimit-Limit`` as Amazon writes it: ``5.0``, ``0.0167``."""
    return str(round(rate, 6))


class OperationLimits:
    """Token buckets per operation, created on first use, all scaled alike.

    Every bucket and the feed window measure seconds on ``monotonic``, the simulator's
    clock.
    """

    def __init__(self, scale: float = 1.0, *, monotonic: Callable[[], float]) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self._scale = scale
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}
        self._feeds: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def scale(self) -> float:
        return self._scale

    def bucket(self, operation: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                rate, burst = usage_plan(operation)
                bucket = TokenBucket(rate, burst, scale=self._scale, monotonic=self._monotonic)
                self._buckets[operation] = bucket
            return bucket

    @staticmethod
    def has_plan(operation: str) -> bool:
        """Whether ``operation`` is an SP-API operation of the models (with a usage plan)."""
        return operation in operation_specs()

    def try_acquire(self, operation: str) -> float | None:
        """None when the call may go on, else the seconds until a token is back."""
        return self.bucket(operation).try_acquire()

    def rate_header(self, operation: str) -> str:
        """The rate the simulator enforces for ``operation``, per real second."""
        return format_rate(self.bucket(operation).effective_rate)

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        with self._lock:
            self._scale = scale
            buckets = list(self._buckets.values())
        for bucket in buckets:
            bucket.configure(scale=scale)

    def configure(
        self, operation: str, *, rate: float | None = None, burst: int | None = None
    ) -> None:
        self.bucket(operation).configure(rate=rate, burst=burst)

    def drain(self, operation: str) -> None:
        self.bucket(operation).drain()

    def refill(self) -> None:
        with self._lock:
            buckets = list(self._buckets.values())
            self._feeds.clear()
        for bucket in buckets:
            bucket.refill()

    def try_submit_listings_feed(self) -> float | None:
        """Count one JSON_LISTINGS_FEED submission: None when allowed, else seconds to wait."""
        window = LISTINGS_FEED_WINDOW_S / self._scale
        with self._lock:
            now = self._monotonic()
            while self._feeds and self._feeds[0] <= now - window:
                self._feeds.popleft()
            if len(self._feeds) >= LISTINGS_FEEDS_PER_WINDOW:
                return self._feeds[0] + window - now
            self._feeds.append(now)
            return None

    def describe(self) -> dict[str, str]:
        """``{operation: "0.0167/s burst 20"}`` for the buckets in use (scale applied)."""
        with self._lock:
            buckets = dict(self._buckets)
        return {name: bucket.describe() for name, bucket in sorted(buckets.items())}
