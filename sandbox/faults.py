"""Fault injection: a thread-safe queue of things that go wrong on purpose.

A test (or the demo) calls :meth:`FaultQueue.inject` from its own thread; the
server's handlers call :meth:`FaultQueue.take` with the endpoint they serve and
the kinds of fault they know how to apply. Faults come out first in, first out;
an endpoint of ``"*"`` matches every endpoint. A fault a handler cannot apply
(an order-page fault on the listings endpoint) stays queued for one that can.

Kinds:

``429``
    answer 429 with ``Retry-After: seconds`` (default 1).
``500``
    answer 500.
``503``
    answer 503 (service unavailable: overloaded or in maintenance).
``slow``
    sleep ``seconds`` (default 1), then answer normally.
``timeout``
    sleep ``seconds`` (default 30), then answer normally; the caller's timeout
    is meant to fire first.
``malformed_json``
    answer 200 with a body that is not JSON.
``malformed_order``
    one order of the next non-empty orders page has a broken shape.
``duplicate_across_pages``
    the next orders page starts with the last order of the previous page again.
``stale_update``
    the next orders page also carries an already-served order with an older
    ``updated_at`` and an older status.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

FaultKind = Literal[
    "429",
    "500",
    "503",
    "slow",
    "timeout",
    "malformed_json",
    "malformed_order",
    "duplicate_across_pages",
    "stale_update",
]

FAULT_KINDS: Final[frozenset[FaultKind]] = frozenset(get_args(FaultKind))
HTTP_FAULTS: Final[frozenset[FaultKind]] = frozenset(
    {"429", "500", "503", "slow", "timeout", "malformed_json"}
)
"""Faults any endpoint can apply, before its normal handling."""
ORDER_PAGE_FAULTS: Final[frozenset[FaultKind]] = frozenset(
    {"malformed_order", "duplicate_across_pages", "stale_update"}
)
"""Faults only an orders listing can apply, to the page it serves."""

ANY_ENDPOINT: Final = "*"

DEFAULT_SECONDS: Final[dict[FaultKind, float]] = {"429": 1.0, "slow": 1.0, "timeout": 30.0}


@dataclass(frozen=True)
class Fault:
    """One fault to apply to one request."""

    kind: FaultKind
    seconds: float | None = None


@dataclass
class _Queued:
    endpoint: str
    fault: Fault
    remaining: int


class FaultQueue:
    """Faults waiting to be applied, per endpoint, first in first out."""

    def __init__(self) -> None:
        self._queued: list[_Queued] = []
        self._lock = threading.Lock()

    def inject(
        self, endpoint: str, kind: str | int, count: int = 1, seconds: float | None = None
    ) -> Fault:
        """Queue ``count`` faults of ``kind`` for ``endpoint`` (``"*"``: any endpoint)."""
        fault = make_fault(kind, seconds)
        if count < 1:
            raise ValueError("count must be at least 1")
        if not endpoint:
            raise ValueError("endpoint must not be empty")
        with self._lock:
            self._queued.append(_Queued(endpoint, fault, count))
        return fault

    def take(self, endpoint: str, kinds: Collection[FaultKind] = FAULT_KINDS) -> Fault | None:
        """The next fault for ``endpoint`` among ``kinds``, or None; it is used up."""
        with self._lock:
            for position, queued in enumerate(self._queued):
                if queued.endpoint not in (endpoint, ANY_ENDPOINT):
                    continue
                if queued.fault.kind not in kinds:
                    continue
                queued.remaining -= 1
                if queued.remaining == 0:
                    del self._queued[position]
                return queued.fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        """What is still queued, in order (JSON-ready)."""
        with self._lock:
            return [
                {
                    "endpoint": queued.endpoint,
                    "kind": queued.fault.kind,
                    "count": queued.remaining,
                    "seconds": queued.fault.seconds,
                }
                for queued in self._queued
            ]

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()


def make_fault(kind: str | int, seconds: float | None = None) -> Fault:
    """Validate ``kind`` (``429`` may be given as an int) and fill in the default seconds."""
    name = str(kind)
    if name not in FAULT_KINDS:
        known = ", ".join(sorted(FAULT_KINDS))
        raise ValueError(f"unknown fault kind {name!r} (known: {known})")
    if seconds is None:
        seconds = DEFAULT_SECONDS.get(name)
    elif seconds < 0:
        raise ValueError("seconds must not be negative")
    return Fault(name, seconds)
