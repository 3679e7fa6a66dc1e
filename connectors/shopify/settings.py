from __future__ import annotations

from pydantic import Field, SecretStr

from omnisync.connectors.base import ConnectorSettings


class ShopifySettings(ConnectorSettings):
    shop: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
    """The shop's permanent domain, e.g. my-shop.myshopify.com."""
    access_token: SecretStr
    api_version: str = Field(default="2026-10", pattern=r"^\d{4}-\d{2}$")
    client_id: str | None = None
    """The app's client id (API key): needed only by `omnisync channels shopify-install`."""
    client_secret: SecretStr | None = None
    """The app's client secret: verifies webhook signatures (and the install exchange)."""
    location_map: dict[str, str] | None = None
    """Hub location code -> Shopify location gid. Absent, hub locations map to the
    Shopify locations of the same name (or code). Stock is pushed to the location the
    channel's first mapped hub location maps to; `omnisync check --connect` reports
    hub locations that map to nothing."""
    push_location: str | None = None
    """Shopify location gid or name to push stock to (overrides the rule above)."""
    page_size: int = Field(default=50, ge=1, le=250)
    notify_customer: bool = True
    notify_customer_on_return: bool = True
    """Whether Shopify tells the buyer when the hub approves, declines, processes or
    refunds one of their returns."""
    timeout_seconds: float = Field(default=30.0, gt=0)
