"""The contract every connector keeps.

Errors a connector may raise, and nothing else::

    ConnectorError
    ├── AuthError          credentials refused or missing a permission; the channel
    │                      stops until an operator fixes it (never retried)
    ├── RateLimited        the channel throttled us; retry after `retry_after` seconds
    ├── TransientError     timeouts, connection failures, 5xx: retry with backoff
    ├── PermanentError     the channel refused this item for good (bad value, unknown
    │                      listing); recorded on the item, never retried as is
    └── PayloadError       the channel sent something we cannot map; the raw payload
                           is quarantined and the rest of the page goes on
"""

from __future__ import annotations

import builtins
from enum import StrEnum
from typing import ClassVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict


class Capability(StrEnum):
    ORDERS = "orders"
    LISTINGS = "listings"
    STOCK = "stock"
    FULFILMENT = "fulfilment"
    TRACKING = "tracking"
    WEBHOOKS = "webhooks"


class ConnectorError(Exception):
    """Base of the errors a connector raises."""


class AuthError(ConnectorError):
    pass


class RateLimited(ConnectorError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    pass


class PermanentError(ConnectorError):
    pass


class PayloadError(ConnectorError):
    def __init__(self, message: str, raw: str | bytes = b"", external_id: str | None = None):
        super().__init__(message)
        self.raw = raw
        self.external_id = external_id


class ConnectorSettings(BaseModel):
    """Base of a connector's settings: the keys of a channel file beyond the common ones.

    Secrets are `SecretStr`; `endpoint` points a connector at a sandbox or test server.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: AnyHttpUrl | None = None


class Connector:
    """Base class of connectors; subclasses set `type`, `Settings` and `capabilities`."""

    type: ClassVar[str]
    Settings: ClassVar[builtins.type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
