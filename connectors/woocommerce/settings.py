"""A WooCommerce channel's file: the shop, its REST API key, the webhooks' secret, how
shipments are reported and how fast the hub may call the shop.

The consumer key and secret go to the shop as HTTP Basic on every request, so the shop's
URL must be https (plain http only to a loopback host: a simulator or a test server).

WooCommerce publishes no rate limit: the shop is the seller's own WordPress host, often a
small one, so the hub throttles itself to a gentle rate the seller may raise."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from omnisync.connectors.base import ConnectorSettings, RateLimit
from omnisync.connectors.urls import https_or_loopback

MAX_PAGE_SIZE = 100
"""WooCommerce's lists take at most 100 items a page (`per_page`)."""
SHOP_BUCKET = "shop"
"""The one call-policy bucket every request counts against: the shop's host is one
machine, whatever the endpoint."""


class WooCommerceSettings(ConnectorSettings):
    url: AnyHttpUrl
    """The shop's base URL (where WordPress answers), e.g. https://shop.example.com; the
    API is under {url}/wp-json/wc/v3."""
    consumer_key: SecretStr = Field(min_length=1)
    consumer_secret: SecretStr = Field(min_length=1)
    """A REST API key with Read/Write permission (WooCommerce > Settings > Advanced > REST
    API)."""
    webhook_secret: SecretStr | None = None
    """The secret the shop's webhooks are created with; None: webhooks are off and every
    delivery but WooCommerce's unsigned ping is refused (polling still reads orders)."""
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    timeout_seconds: float = Field(default=30.0, gt=0)
    customer_note: bool = False
    """Add the shipment note as a note to the customer (WooCommerce shows it in the
    customer's account and emails it), not a private one."""
    shipment_tracking: bool = False
    """Also record each shipment with WooCommerce's Shipment Tracking extension (core
    WooCommerce has no tracking field)."""
    requests_per_second: float = Field(default=5.0, gt=0)
    burst: int = Field(default=10, ge=1)

    @field_validator("url", "endpoint")
    @classmethod
    def _secure(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return https_or_loopback(value)

    def rate_limits(self, published: Mapping[str, RateLimit]) -> dict[str, RateLimit]:
        """One bucket for the whole shop, at the rate this file sets."""
        return {SHOP_BUCKET: RateLimit(self.requests_per_second, self.burst)}

    def api_base(self) -> str:
        """Where the shop's WordPress answers (`endpoint` overrides `url` for a simulator)."""
        return str(self.endpoint or self.url).rstrip("/")

    def secret_values(self) -> list[str]:
        """The channel's own secrets, to mask wherever a message could echo one."""
        values = [self.consumer_key.get_secret_value(), self.consumer_secret.get_secret_value()]
        if self.webhook_secret is not None:
            values.append(self.webhook_secret.get_secret_value())
        return values
