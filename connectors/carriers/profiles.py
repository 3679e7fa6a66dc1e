"""What the connector knows of each carrier's API beyond what karrio says.

karrio hides the requests it makes; the connector still needs to know how many
tracking numbers one request takes (batches), which request is the OAuth token
request (a refusal there is the credentials; a refusal later may be a token the
carrier revoked), which side requests karrio makes whose failure is not the
call's, what tracking and labels need beyond karrio's required fields, which
request buys a label (one that got no answer may have sold it), and the published
request rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from omnisync.connectors.base import RateLimit

TRACK_OPERATION: Final = "track"
"""Tracking numbers asked, as the channel's calls and rate limit name it."""
RATE_OPERATION: Final = "rate"
"""Rates quoted for a parcel (LABELS)."""
LABEL_OPERATION: Final = "label"
"""A label bought (LABELS)."""


@dataclass(frozen=True)
class CarrierProfile:
    numbers_per_request: int = 1
    token_path: str | None = None
    errand_paths: tuple[str, ...] = ()
    """Requests karrio makes on the side; their status says nothing of the call."""
    tracking_credentials: tuple[str, ...] = ()
    """Credential fields tracking needs that karrio's settings class leaves optional."""
    label_credentials: tuple[str, ...] = ()
    """Credential fields rates and labels need beyond tracking's."""
    label_path: str | None = None
    """The end of the path of the request that buys a label."""
    rate_limit: RateLimit | None = None

    # Paths are matched at their end: an endpoint may put the carrier's API under a prefix.

    def is_token_request(self, path: str) -> bool:
        return self.token_path is not None and path.endswith(self.token_path)

    def is_errand(self, path: str) -> bool:
        return path.endswith(self.errand_paths) if self.errand_paths else False

    def is_label_request(self, path: str) -> bool:
        return self.label_path is not None and path.endswith(self.label_path)


PROFILES: Final[Mapping[str, CarrierProfile]] = {
    # Track API v1: one inquiry number per GET /api/track/v1/details/{number}.
    # Shipping API: POST /api/shipments/{version}/ship, billed to the shipper number.
    "ups": CarrierProfile(
        numbers_per_request=1,
        token_path="/security/v1/oauth/token",  # noqa: S106 (a URL path)
        label_credentials=("account_number",),
        label_path="/ship",
    ),
    # Track API: up to 30 numbers per request, with the Track API key pair (karrio's
    # track_api_key and track_secret_key, distinct from the shipping api_key pair).
    # For a delivered parcel karrio also asks /track/v1/trackingdocuments for the
    # signature, without a token: FedEx refuses it with 401, karrio shrugs.
    # Rates and labels (POST /ship/v1/shipments) are the Ship API project's: its own key
    # pair (karrio's api_key and secret_key) and the account number.
    "fedex": CarrierProfile(
        numbers_per_request=30,
        token_path="/oauth/token",  # noqa: S106 (a URL path)
        errand_paths=("/track/v1/trackingdocuments",),
        tracking_credentials=("track_api_key", "track_secret_key"),
        label_credentials=("api_key", "secret_key", "account_number"),
        label_path="/ship/v1/shipments",
    ),
    # Shipment Tracking - Unified: one trackingNumber per request; the default plan
    # allows one call every 5 seconds (250 a day).
    "dhl_universal": CarrierProfile(numbers_per_request=1, rate_limit=RateLimit(0.2, 1)),
}

UNPROFILED: Final = CarrierProfile()
"""Other karrio carriers: one number per request, no known limit."""


def profile_for(provider: str) -> CarrierProfile:
    return PROFILES.get(provider, UNPROFILED)
