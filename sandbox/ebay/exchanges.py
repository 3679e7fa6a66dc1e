"""The API exchanges the eBay simulator served, for tests to read back.

Every call of an eBay operation (token endpoint included, as ``oauth2Token``) is kept
as an :class:`Exchange`: operationId, method, path, query, the JSON sent and the JSON
answered, whatever answered it (the operation, a refusal, a throttle or a fault). The
conformance test validates each against eBay's own schemas. ``/_control`` and
``/_simulator`` are not eBay's and are not kept. Only the newest :data:`MAX_EXCHANGES`
stay; the token endpoint's tokens are masked, so no secret lingers in the record.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

MAX_EXCHANGES: Final = 10_000
MASK: Final = "***"


@dataclass(frozen=True)
class Exchange:
    """One request the simulator answered, and its answer."""

    operation: str
    """eBay's operationId (``getOrders``, ``bulkUpdatePriceQuantity``, ...; ``oauth2Token``)."""
    method: str
    path: str
    query: dict[str, str]
    request_json: Any
    """The parsed JSON body sent, or None (no body, or not JSON)."""
    status: int
    response_json: Any
    """The parsed JSON answered, or None (an empty body, or one that is not JSON)."""


class ExchangeLog:
    """The newest exchanges, oldest first (thread-safe)."""

    def __init__(self, size: int = MAX_EXCHANGES) -> None:
        self._kept: deque[Exchange] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._kept.append(exchange)

    def all(self) -> list[Exchange]:
        with self._lock:
            return list(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


def masked(body: Any, names: tuple[str, ...] = ("access_token", "refresh_token")) -> Any:
    """``body`` with the values of ``names`` replaced by ``***`` (a token answer)."""
    if not isinstance(body, dict):
        return body
    return {key: (MASK if key in names else value) for key, value in body.items()}
