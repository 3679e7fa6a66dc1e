from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator
from sp_api.base import Marketplaces

from omnisync.connectors.amazon.notifications import NotificationSettings
from omnisync.connectors.base import ConnectorSettings

MARKETPLACE_NAMES = tuple(Marketplaces.__members__)
"""What `marketplace` accepts: the library's Marketplaces enum names (US, UK, DE, JP, ...)."""


class AmazonCredentials(BaseModel):
    """The seller's authorisation of our app (refresh token) and the app's LWA client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_token: SecretStr = Field(min_length=1)
    lwa_app_id: SecretStr = Field(min_length=1)
    lwa_client_secret: SecretStr = Field(min_length=1)


class AmazonSettings(ConnectorSettings):
    marketplace: str
    """The library's Marketplaces name; it gives the marketplace id and the regional endpoint."""
    seller_id: str = Field(min_length=1)
    """The merchant token (seller id): Listings Items and feeds are addressed by it."""
    credentials: AmazonCredentials
    lwa_endpoint: AnyHttpUrl | None = None
    """The full Login with Amazon token URL (default https://api.amazon.com/auth/o2/token)."""
    feed_threshold: int = Field(default=1500, ge=1)
    """From this many changed SKUs in one push, one JSON_LISTINGS_FEED instead of patches."""
    fulfillment_channel_code: str = Field(default="DEFAULT", min_length=1)
    """The merchant-fulfilled channel stock is pushed to (DEFAULT for most sellers)."""
    default_product_type: str = Field(default="PRODUCT", min_length=1)
    """The product type a patch carries when the listing's own is not known yet."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    feed_poll_seconds: float = Field(default=15.0, ge=0)
    """The longest wait between two getFeed calls while Amazon processes a feed (the
    first polls come every second, then every tenth of the time waited so far)."""
    feed_timeout_seconds: float = Field(default=900.0, gt=0)
    """How long to wait for a feed's outcome before its SKUs are failed (and pushed again)."""
    orders_settle_seconds: float = Field(default=130.0, ge=0)
    """How far before now searchOrders' lastUpdatedBefore is put. Amazon refuses anything
    less than 120 seconds (the default leaves ten spare for clock skew); lower it only
    for a simulator that asks less (the Amazon simulator's `orders_lag`)."""
    returns_window_days: int = Field(default=60, ge=1, le=60)
    """How many days of return requests every read of the returns report covers, however
    recent the last read: the report is by request date, and a return's status, tracking
    and refund change after its request date. Amazon gives at most 60 days a report."""
    report_poll_seconds: float = Field(default=30.0, ge=0)
    """The longest wait between two getReport calls while Amazon builds a report (the
    first polls come every second, then every tenth of the time waited so far)."""
    report_timeout_seconds: float = Field(default=1800.0, gt=0)
    """How long to wait for a report before the read fails (and is tried again)."""
    notifications: NotificationSettings | None = None
    """The SQS queue ORDER_CHANGE notifications arrive on (`omnisync channels
    amazon-subscribe` makes the subscription). Without it orders are only polled."""

    @field_validator("marketplace")
    @classmethod
    def _known_marketplace(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in MARKETPLACE_NAMES:
            raise ValueError(
                f"unknown marketplace {value!r}; one of {', '.join(sorted(MARKETPLACE_NAMES))}"
            )
        return name
