"""A carrier channel's file: which karrio provider, its credentials, where it answers."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from omnisync.connectors.base import ConnectorSettings, RateLimit
from omnisync.connectors.carriers.karrio_runtime import (
    credential_fields,
    installed_providers,
    tracks_parcels,
)
from omnisync.connectors.carriers.profiles import TRACK_OPERATION, profile_for


class CarrierSettings(ConnectorSettings):
    provider: str
    """A karrio carrier name: ups, fedex, dhl_universal, or any other whose karrio-<name>
    package is installed."""
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    """The provider's own fields, as karrio names them (ups: client_id, client_secret;
    fedex: track_api_key, track_secret_key; dhl_universal: consumer_key, consumer_secret).
    All are kept secret."""
    test_mode: bool = False
    """The carrier's test servers (UPS CIE, FedEx sandbox) instead of production."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    numbers_per_request: int | None = Field(default=None, ge=1)
    """Fewer numbers per request than the carrier takes (never more)."""
    requests_per_second: float | None = Field(default=None, gt=0)
    """The channel's request rate, when the account's plan differs from the published one."""

    def rate_limits(self, published: Mapping[str, RateLimit]) -> dict[str, RateLimit]:
        """The carrier's published rate (its profile's), or `requests_per_second` with the
        published burst (1 when none is published)."""
        limits = dict(published)
        limit = profile_for(self.provider).rate_limit
        if self.requests_per_second is not None:
            burst = limit.burst if limit is not None else 1
            limit = RateLimit(self.requests_per_second, burst)
        if limit is not None:
            limits[TRACK_OPERATION] = limit
        return limits

    @field_validator("provider")
    @classmethod
    def _installed_provider(cls, value: str) -> str:
        name = value.strip().lower()
        installed = installed_providers()
        if name not in installed:
            raise ValueError(
                f"unknown carrier provider {value!r}; installed: {', '.join(installed)} "
                "(another carrier needs its karrio-<name> package)"
            )
        if not tracks_parcels(name):
            raise ValueError(f"karrio cannot track {name} parcels")
        return name

    @field_validator("credentials")
    @classmethod
    def _provider_fields(
        cls, value: dict[str, SecretStr], info: ValidationInfo
    ) -> dict[str, SecretStr]:
        provider = info.data.get("provider")
        if provider is None:  # the provider itself is wrong: reported on its own
            return value
        fields = credential_fields(provider)
        unknown = sorted(set(value) - set(fields.all))
        if unknown:
            raise ValueError(
                f"unknown {provider} credential field(s): {', '.join(unknown)} "
                f"({provider} takes {', '.join(fields.all)})"
            )
        needed = (*fields.required, *profile_for(provider).tracking_credentials)
        missing = [name for name in needed if not _given(value.get(name))]
        if missing:
            raise ValueError(f"{provider} tracking needs {', '.join(missing)}")
        return value


def _given(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())
