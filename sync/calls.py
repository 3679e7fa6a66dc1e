"""The CallPolicy the engine gives connectors: throttle, call, retry what may be retried."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from omnisync.connectors.base import RateLimited, TransientError
from omnisync.sync.ratelimit import ChannelLimiter

T = TypeVar("T")
log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The hub is shutting down; the job stops at the next safe point."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    """Exponential backoff with full jitter between `initial` and `maximum` seconds."""


class ChannelCalls:
    def __init__(
        self,
        channel: str,
        limiter: ChannelLimiter,
        policy: RetryPolicy,
        stop: threading.Event,
    ) -> None:
        self.channel = channel
        self.limiter = limiter
        self.policy = policy
        self.stop = stop

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise Cancelled(f"{self.channel}: stopping")

    def _backoff(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited):
            return error.retry_after + random.uniform(0, 0.1)  # noqa: S311
        ceiling = min(self.policy.maximum, self.policy.initial * 2 ** (state.attempt_number - 1))
        return random.uniform(self.policy.initial / 2, ceiling)  # noqa: S311

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.2fs",
            self.channel,
            state.attempt_number,
            error,
            state.next_action.sleep if state.next_action else 0.0,
        )

    def call(self, operation: str, request: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type((TransientError, RateLimited)),
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._backoff,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self._sleep(self.limiter.delay(operation))
                try:
                    result = request()
                except RateLimited as error:
                    self.limiter.throttled(operation, error.retry_after)
                    raise
                self.limiter.succeeded(operation)
                return result
        raise AssertionError("unreachable: tenacity reraises the last error")

    def observe_limit(self, operation: str, per_second: float) -> None:
        self.limiter.observe_limit(operation, per_second)

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)
