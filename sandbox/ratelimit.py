"""A thread-safe token bucket, the way simulated marketplaces throttle callers.

The bucket has no time source of its own: its owner passes one (a simulator passes its
clock's ``monotonic``), so a test that steps the clock decides when tokens come back and
never sleeps for them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second refill a bucket of at most ``burst`` tokens.

    ``scale`` multiplies the refill rate, so a test or the demo can keep a real
    channel's limits in shape but run them faster (``scale=10``) or slower. The
    bucket starts full. ``monotonic`` is the time source, in seconds.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        scale: float = 1.0,
        monotonic: Callable[[], float],
    ) -> None:
        _check_limits(rate, burst, scale)
        self._rate = rate
        self._burst = burst
        self._scale = scale
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._updated = monotonic()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def effective_rate(self) -> float:
        """Tokens per real second: ``rate * scale``."""
        return self._rate * self._scale

    def try_acquire(self, cost: float = 1) -> float | None:
        """Take ``cost`` tokens: None when allowed, else the seconds to wait first.

        A refused call takes nothing. A cost above ``burst`` can never be paid.
        """
        if cost <= 0:
            raise ValueError("cost must be positive")
        with self._lock:
            self._refill()
            if self._tokens >= cost:
                self._tokens -= cost
                return None
            return (cost - self._tokens) / self.effective_rate

    def remaining(self) -> int:
        """Whole tokens left now."""
        with self._lock:
            self._refill()
            return math.floor(self._tokens)

    def configure(
        self, *, rate: float | None = None, burst: int | None = None, scale: float | None = None
    ) -> None:
        """Change the limits; tokens already in the bucket stay (capped at the new burst)."""
        with self._lock:
            self._refill()
            new_rate = self._rate if rate is None else rate
            new_burst = self._burst if burst is None else burst
            new_scale = self._scale if scale is None else scale
            _check_limits(new_rate, new_burst, new_scale)
            self._rate, self._burst, self._scale = new_rate, new_burst, new_scale
            self._tokens = min(self._tokens, float(new_burst))

    def refill(self) -> None:
        """Fill the bucket to ``burst`` at once."""
        with self._lock:
            self._tokens = float(self._burst)
            self._updated = self._monotonic()

    def drain(self) -> None:
        """Empty the bucket at once (tests of throttling)."""
        with self._lock:
            self._tokens = 0.0
            self._updated = self._monotonic()

    def describe(self) -> str:
        """``10/s burst 20``, in real seconds (scale applied)."""
        return f"{self.effective_rate:g}/s burst {self._burst}"

    def _refill(self) -> None:
        now = self._monotonic()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(float(self._burst), self._tokens + elapsed * self.effective_rate)


def format_retry_after(seconds: float) -> str:
    """Seconds for a ``Retry-After`` header, rounded up to the millisecond: ``0.35``."""
    # The epsilon keeps float noise (0.35 * 1000 = 350.00000000000006) from adding 1 ms.
    millis = max(1, math.ceil(seconds * 1000 - 1e-6))
    return f"{millis / 1000:.3f}".rstrip("0").rstrip(".")


def _check_limits(rate: float, burst: int, scale: float) -> None:
    if rate <= 0:
        raise ValueError("rate must be positive")
    if burst < 1:
        raise ValueError("burst must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
