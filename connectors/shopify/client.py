"""GraphQL transport to the Admin API: one POST per document, cost-aware.

Shopify limits by query cost in a leaky bucket per shop and reports the bucket
in `extensions.cost.throttleStatus` on every response. The client keeps an
estimate of it and never sends a document into a bucket it knows cannot hold
the document's cost: it waits (through the engine's call policy, so a shutdown
ends the wait) until the bucket has refilled enough.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from omnisync.connectors.base import (
    AuthError,
    CallPolicy,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.http import check_status, json_body, make_client, send
from omnisync.connectors.pagination import walk_pages

DEFAULT_QUERY_COST = 50.0
MUTATION_COST = 10.0


@dataclass
class BucketState:
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 100.0
    observed_at: float = 0.0


class CostBucket:
    """What we know of the shop's leaky bucket, refilled by the clock between reports."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state = BucketState(observed_at=clock())
        self._lock = threading.Lock()

    def available(self) -> float:
        with self._lock:
            elapsed = self._clock() - self._state.observed_at
            return min(
                self._state.maximum,
                self._state.available + elapsed * self._state.restore_rate,
            )

    def take(self, cost: float) -> float:
        """Book `cost` now if it fits (0), else the seconds until it would: concurrent
        callers of one shop see each other's bookings and do not all send at once."""
        with self._lock:
            now = self._clock()
            state = self._state
            available = min(
                state.maximum, state.available + (now - state.observed_at) * state.restore_rate
            )
            needed = min(cost, state.maximum)
            if available >= needed:
                self._state = BucketState(
                    state.maximum, available - needed, state.restore_rate, now
                )
                return 0.0
            return (needed - available) / state.restore_rate

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` fits (0 when it fits now)."""
        missing = min(cost, self._state.maximum) - self.available()
        return max(missing, 0.0) / self._state.restore_rate if missing > 0 else 0.0

    def observe(self, throttle_status: Mapping[str, Any]) -> None:
        with self._lock:
            self._state = BucketState(
                maximum=float(throttle_status.get("maximumAvailable", self._state.maximum)),
                available=float(throttle_status.get("currentlyAvailable", self._state.available)),
                restore_rate=float(throttle_status.get("restoreRate", self._state.restore_rate)),
                observed_at=self._clock(),
            )

    @property
    def restore_rate(self) -> float:
        return self._state.restore_rate


class ShopifyClient:
    def __init__(
        self,
        url: str,
        access_token: str,
        calls: CallPolicy,
        *,
        timeout: float = 30.0,
        bucket: CostBucket | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> None:
        self.url = url
        self.calls = calls
        self.bucket = bucket or CostBucket()
        self.http: httpx.Client = make_client(
            "",
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        )
        self._costs: dict[str, float] = dict(costs or {})
        """Requested cost per operation: first the estimates given, then what Shopify said."""

    def close(self) -> None:
        self.http.close()

    def execute(
        self, operation: str, document: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one document; the `data` object. Throttling and retries go through `calls`."""
        is_mutation = document.lstrip().startswith("mutation")
        guess = MUTATION_COST if is_mutation else DEFAULT_QUERY_COST

        def attempt() -> dict[str, Any]:
            # Never send into a bucket we know cannot hold the cost: wait for it first.
            cost = self._costs.get(operation, guess)
            while (wait := self.bucket.take(cost)) > 0:
                self.calls.pause(wait)
            body = {
                "query": document,
                "variables": dict(variables or {}),
                "operationName": operation,
            }
            response = send(lambda: self.http.post(self.url, json=body))
            check_status(response, operation)
            payload = json_body(response, operation)
            if not isinstance(payload, dict):
                raise TransientError(f"{operation}: the response is not an object")
            self._learn_cost(operation, payload)
            _raise_for_errors(operation, payload, self.bucket)
            data = payload.get("data")
            if not isinstance(data, dict):
                raise TransientError(f"{operation}: the response has no data")
            return data

        return self.calls.call("graphql", attempt)

    def _learn_cost(self, operation: str, payload: dict[str, Any]) -> None:
        cost = (payload.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            self.bucket.observe(status)
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._costs[operation] = float(requested)


def updated_since(since: datetime | None) -> str:
    """The orders search query for orders updated at or after `since` (all: None)."""
    moment = (since or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return f"updated_at:>='{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def end_cursor(connection: Any) -> str | None:
    """The cursor after a connection's page; None on its last page."""
    info = connection["pageInfo"]
    if not info.get("hasNextPage"):
        return None
    cursor = info["endCursor"]
    if not cursor:
        raise TransientError("Shopify said there is a next page but gave no endCursor")
    return str(cursor)


def connection_nodes(operation: str, first: Any, read_after: Callable[[str], Any]) -> list[Any]:
    """Every node of a connection whose first page came with its parent (`first`), each
    further page read by `read_after(cursor)` (the `operation` that reads it names the
    walk)."""

    def page_after(after: str | None) -> Any:
        return first if after is None else read_after(after)

    pages = walk_pages(operation, page_after, end_cursor)
    return [node for page in pages for node in page["nodes"]]


def _raise_for_errors(operation: str, payload: dict[str, Any], bucket: CostBucket) -> None:
    errors = payload.get("errors")
    if not errors:
        return
    if isinstance(errors, str):  # REST-style auth failures put a string here
        raise AuthError(f"{operation}: {errors}")
    codes = {((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)}
    if "THROTTLED" in codes:
        requested = float(
            ((payload.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
            or DEFAULT_QUERY_COST
        )
        raise RateLimited(f"{operation}: throttled by Shopify", bucket.wait_for(requested))
    if "ACCESS_DENIED" in codes:
        needed = sorted(
            str((e.get("extensions") or {}).get("requiredAccess") or e.get("message"))
            for e in errors
            if (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"
        )
        raise AuthError(f"{operation}: access denied; the app needs {', '.join(needed)}")
    if "INTERNAL_SERVER_ERROR" in codes:
        raise TransientError(f"{operation}: Shopify internal error")
    messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    raise PermanentError(f"{operation}: {messages}")
