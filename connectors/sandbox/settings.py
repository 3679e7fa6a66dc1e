from __future__ import annotations

from collections.abc import Mapping

from pydantic import AnyHttpUrl, Field, SecretStr

from omnisync.connectors.base import ConnectorSettings, RateLimit


class SandboxSettings(ConnectorSettings):
    endpoint: AnyHttpUrl
    """Base URL of the simulated marketplace, e.g. http://127.0.0.1:8701."""
    api_key: SecretStr
    page_size: int = Field(default=50, ge=1, le=100)
    requests_per_second: float = Field(default=10.0, gt=0)
    """The marketplace's published limit (the simulator's default)."""
    burst: int = Field(default=20, ge=1)
    notify_customer: bool = True
    timeout_seconds: float = Field(default=30.0, gt=0)

    def rate_limits(self, published: Mapping[str, RateLimit]) -> dict[str, RateLimit]:
        # One bucket for the whole API, as the marketplace counts it.
        return {"api": RateLimit(self.requests_per_second, self.burst)}
