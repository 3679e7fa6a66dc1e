"""A connector type ("gated") whose order pull can stop between its two pages until a test
opens a gate. It talks HTTP through a real httpx client (on a mock transport), so once
closed it fails as every HTTP connector does: "the client has been closed".

`GatedConnector.gate` (set by a test) holds pulls at the gate; `GatedConnector.requests`
records the `label` of the connector that made each request; `GatedConnector.made`
holds every instance, oldest first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Unpack

import httpx

from omnisync.connectors.base import Capability, Connector, ConnectorOptions, ConnectorSettings
from omnisync.connectors.registry import register
from omnisync.core.dto import OrderPage

GATE_BOUND_S = 30.0
"""A pull waits at most this long at a gate nobody opens (a safety net, not a timing)."""


class GatedSettings(ConnectorSettings):
    label: str = "first"


@dataclass
class Gate:
    reached: threading.Event = field(default_factory=threading.Event)
    """Set when a pull has read its first page and waits."""
    opened: threading.Event = field(default_factory=threading.Event)
    """Set by the test to let the pulls at the gate go on."""


@register
class GatedConnector(Connector[GatedSettings]):
    channel_type: ClassVar[str] = "gated"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})
    gate: ClassVar[Gate | None] = None
    requests: ClassVar[list[str]] = []
    made: ClassVar[list[GatedConnector]] = []

    @classmethod
    def reset(cls) -> None:
        cls.gate = None
        cls.requests.clear()
        cls.made.clear()

    def __init__(self, settings: GatedSettings, **options: Unpack[ConnectorOptions]) -> None:
        super().__init__(settings, **options)
        self.label = settings.label
        self.closed = False
        self.http = httpx.Client(
            base_url="http://gated.invalid", transport=httpx.MockTransport(self._answer)
        )
        GatedConnector.made.append(self)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        GatedConnector.requests.append(self.label)
        return httpx.Response(200, json={"orders": []})

    def fetch_orders(self, since: datetime | None) -> Iterator[OrderPage]:
        yield self._page(1)
        gate = GatedConnector.gate
        if gate is not None:
            gate.reached.set()
            gate.opened.wait(GATE_BOUND_S)
        yield self._page(2)

    def _page(self, number: int) -> OrderPage:
        self.calls.call("orders", lambda: self.http.get("/orders", params={"page": number}))
        return OrderPage()

    def close(self) -> None:
        self.closed = True
        self.http.close()
