"""A mixin for the integration tests' own connectors: take every quantity pushed, and
remember each on the class, in the order pushed, as what the channel now shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from omnisync.core.dto import PushResult, StockUpdate


class RecordingPushes:
    """Accepts every stock update and appends `(channel_sku, quantity)` to `pushed`.

    Put it before `Connector` in the bases. Each subclass gets a list of its own; a test
    sets it to `[]` before it runs, as connectors are made by the engine, not the test."""

    pushed: ClassVar[list[tuple[str, int]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.pushed = []

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        type(self).pushed.extend((u.channel_sku, u.quantity) for u in updates)
        return [PushResult(key=u.channel_sku, ok=True, quantity=u.quantity) for u in updates]
