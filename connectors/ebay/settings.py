"""An eBay channel's file: the marketplace, the app's keys and the seller's refresh token,
where eBay answers, and the notification endpoint eBay posts to.

Every URL here carries a secret or a token on the wire, so plain http is refused except
for a loopback host (a simulator or a test server on this machine)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
)

from omnisync.connectors.base import ConnectorSettings, RateLimit
from omnisync.connectors.urls import https_or_loopback

DEFAULT_ENDPOINT = "https://api.ebay.com"
DEFAULT_GRANT_URL = "https://api.ebay.com/identity/v1/oauth2/token"
DEFAULT_CONSENT_URL = "https://auth.ebay.com/oauth2/authorize"
GRANT_PATH = "/identity/v1/oauth2/token"
CONSENT_PATH = "/oauth2/authorize"
VERIFICATION_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,80}")
DAILY_LIMIT_APIS = {"sell.inventory": "sellInventoryApi", "sell.fulfillment": "sellFulfillmentApi"}
"""`daily_call_limits` keys -> the operation names the connector's calls are throttled by
(connectors/ebay/client.py)."""
MAX_PAGE_SIZE = 200
"""getOrders and getInventoryItems take at most 200 records a page."""


class EbayCredentials(BaseModel):
    """The app's keyset (App ID and Cert ID) and the seller's consent to it (the refresh
    token `omnisync channels ebay-install` obtains)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: SecretStr = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    refresh_token: SecretStr = Field(min_length=1)


class EbayNotificationSettings(BaseModel):
    """eBay's notification endpoint check: the verification token given to eBay with the
    endpoint, and the endpoint's public URL (the hub's /webhooks/ebay/<channel>)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verification_token: SecretStr
    """32 to 80 letters, digits, underscores or hyphens (eBay's rule for it)."""
    endpoint_url: str | None = None
    """Exactly as registered with eBay (kept as written, not normalised: the challenge
    hash covers it byte for byte)."""

    @field_validator("verification_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not VERIFICATION_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 32 to 80 letters, digits, underscores or hyphens")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _secure_endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            https_or_loopback(AnyHttpUrl(value))
        return value


class EbaySettings(ConnectorSettings):
    marketplace_id: str = Field(pattern=r"^EBAY_[A-Z_]+$")
    """eBay's marketplace id, e.g. EBAY_US, EBAY_GB, EBAY_DE: the offers whose quantity
    the channel reads and pushes."""
    credentials: EbayCredentials
    auth_endpoint: AnyHttpUrl | None = None
    """Where tokens and consent live: {auth_endpoint}/identity/v1/oauth2/token and
    {auth_endpoint}/oauth2/authorize (default https://api.ebay.com and
    https://auth.ebay.com)."""
    ru_name: str | None = None
    """eBay's name for the app's redirect URL (RuName): needed by ebay-install only
    (empty: none)."""
    notification: EbayNotificationSettings | None = None
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    timeout_seconds: float = Field(default=30.0, gt=0)
    daily_call_limits: dict[Literal["sell.inventory", "sell.fulfillment"], PositiveInt] = {}
    """Calls a day per API that eBay granted this app beyond its defaults (after its
    Application Growth Check), e.g. `{sell.fulfillment: 1000000}`; the hub throttles to
    them instead of the defaults (Fulfillment 100,000, Inventory 2,000,000)."""

    @field_validator("ru_name")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("endpoint", "auth_endpoint")
    @classmethod
    def _secure_endpoints(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return https_or_loopback(value)

    def rate_limits(self, published: Mapping[str, RateLimit]) -> dict[str, RateLimit]:
        """The published limits, with the APIs named in `daily_call_limits` raised (or
        lowered) to the app's own: the day's calls spread evenly, a burst of ten
        seconds' worth at least."""
        limits = dict(published)
        for api, per_day in self.daily_call_limits.items():
            operation = DAILY_LIMIT_APIS[api]
            per_second = per_day / 86_400
            burst = published[operation].burst if operation in published else 1
            limits[operation] = RateLimit(per_second, max(burst, round(per_second * 10)))
        return limits

    def api_base(self) -> str:
        """The base URL the Sell and Commerce APIs' paths go under."""
        return str(self.endpoint).rstrip("/") if self.endpoint else DEFAULT_ENDPOINT

    def token_url(self) -> str:
        if self.auth_endpoint is None:
            return DEFAULT_GRANT_URL
        return str(self.auth_endpoint).rstrip("/") + GRANT_PATH

    def consent_url(self) -> str:
        if self.auth_endpoint is None:
            return DEFAULT_CONSENT_URL
        return str(self.auth_endpoint).rstrip("/") + CONSENT_PATH

    def secret_values(self) -> list[str]:
        """The channel's own secrets, to mask wherever a message could echo one."""
        values = [
            self.credentials.client_id.get_secret_value(),
            self.credentials.client_secret.get_secret_value(),
            self.credentials.refresh_token.get_secret_value(),
        ]
        if self.notification is not None:
            values.append(self.notification.verification_token.get_secret_value())
        return values
