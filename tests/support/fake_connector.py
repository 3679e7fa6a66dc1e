"""A connector type for tests of config and CLI, before real connector types exist."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from omnisync.connectors.base import Capability, Connector, ConnectorSettings
from omnisync.connectors.registry import register


class FakeSettings(ConnectorSettings):
    shop: str
    api_key: SecretStr
    page_size: int = 50


@register
class FakeConnector(Connector[FakeSettings]):
    channel_type: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORDERS})
