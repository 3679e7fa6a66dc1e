"""Who the carrier simulator lets in: one fake account per carrier, OAuth tokens it issued.

UPS and FedEx hand out bearer tokens from their OAuth client-credentials endpoints
(UPS: four hours, FedEx: one hour, as the carriers do); DHL checks its API key on
every call. :meth:`Gatekeeper.expire_tokens` makes every token issued so far
refused, the way a carrier revokes tokens (the client must fetch a new one);
:meth:`Gatekeeper.revoke` stops an account's credentials working altogether.

Buying labels takes more than tracking (:data:`LABEL_CREDENTIALS`): UPS bills the
shipper number (``account_number``) of the account; FedEx's Ship and Rate APIs belong
to another project than its Track API, with a key pair of its own (``api_key``,
``secret_key``) and the account number. A FedEx token carries the scope of the pair it
was issued to: ``track`` or ``ship``; UPS's tokens open every UPS API.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from omnisync.sandbox.carriers.state import Provider

UPS_CLIENT_ID: Final = "fake-ups-client-id"
UPS_CLIENT_SECRET: Final = "fake-ups-client-secret"  # noqa: S105 (a loopback fake)
FEDEX_TRACK_API_KEY: Final = "fake-fedex-track-api-key"
FEDEX_TRACK_SECRET_KEY: Final = "fake-fedex-track-secret-key"  # noqa: S105
FEDEX_API_KEY: Final = "fake-fedex-ship-api-key"
FEDEX_SECRET_KEY: Final = "fake-fedex-ship-secret-key"  # noqa: S105
FEDEX_ACCOUNT_NUMBER: Final = "740561073"
UPS_ACCOUNT_NUMBER: Final = "A1B2C3"
DHL_API_KEY: Final = "fake-dhl-api-key"
DHL_API_SECRET: Final = "fake-dhl-api-secret"  # noqa: S105

TOKEN_LIFETIMES_S: Final[Mapping[Provider, int]] = {"ups": 14399, "fedex": 3599}


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # the secret stays out of reprs and logs
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=***)"

    def matches(self, client_id: str, client_secret: str) -> bool:
        return same(client_id, self.client_id) & same(client_secret, self.client_secret)


ACCOUNTS: Final[Mapping[Provider, ClientCredentials]] = {
    "ups": ClientCredentials(UPS_CLIENT_ID, UPS_CLIENT_SECRET),
    "fedex": ClientCredentials(FEDEX_TRACK_API_KEY, FEDEX_TRACK_SECRET_KEY),
    "dhl_universal": ClientCredentials(DHL_API_KEY, DHL_API_SECRET),
}

CHANNEL_CREDENTIALS: Final[Mapping[Provider, Mapping[str, str]]] = {
    "ups": {"client_id": UPS_CLIENT_ID, "client_secret": UPS_CLIENT_SECRET},
    "fedex": {"track_api_key": FEDEX_TRACK_API_KEY, "track_secret_key": FEDEX_TRACK_SECRET_KEY},
    "dhl_universal": {"consumer_key": DHL_API_KEY, "consumer_secret": DHL_API_SECRET},
}
"""What a carrier channel's ``credentials:`` holds to be let in (karrio's field names)."""

SHIPPING_ACCOUNTS: Final[Mapping[Provider, ClientCredentials]] = {
    "fedex": ClientCredentials(FEDEX_API_KEY, FEDEX_SECRET_KEY),
}
"""Key pairs of shipping projects, where a carrier gives them apart from tracking's."""

LABEL_CREDENTIALS: Final[Mapping[Provider, Mapping[str, str]]] = {
    "ups": {"account_number": UPS_ACCOUNT_NUMBER},
    "fedex": {
        "api_key": FEDEX_API_KEY,
        "secret_key": FEDEX_SECRET_KEY,
        "account_number": FEDEX_ACCOUNT_NUMBER,
    },
}
"""What a carrier channel's ``credentials:`` holds besides :data:`CHANNEL_CREDENTIALS` to
buy labels (DHL sells none here)."""

TRACK_SCOPE: Final = "track"
SHIP_SCOPE: Final = "ship"


class Gatekeeper:
    """The accounts each carrier lets in and the bearer tokens it issued; thread-safe."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[Provider, str | None]] = {}
        """Token -> (carrier, scope); scope None opens every API of the carrier."""
        self._revoked: set[Provider] = set()
        self._lock = threading.Lock()
        self.issued: dict[Provider, int] = {"ups": 0, "fedex": 0}

    def admits(self, provider: Provider, client_id: str, client_secret: str) -> bool:
        with self._lock:
            revoked = provider in self._revoked
        return ACCOUNTS[provider].matches(client_id, client_secret) and not revoked

    def admits_key(self, provider: Provider, key: str) -> bool:
        """An API key alone (DHL's tracking takes the key, not the secret)."""
        with self._lock:
            revoked = provider in self._revoked
        return same(key, ACCOUNTS[provider].client_id) and not revoked

    def scope_for(self, provider: Provider, client_id: str, client_secret: str) -> str | None:
        """The scope a key pair gets a token for: ``track`` (the tracking account),
        ``ship`` (the shipping project's pair), or None when neither is the pair given."""
        if self.admits(provider, client_id, client_secret):
            return TRACK_SCOPE
        shipping = SHIPPING_ACCOUNTS.get(provider)
        with self._lock:
            revoked = provider in self._revoked
        if shipping is not None and shipping.matches(client_id, client_secret) and not revoked:
            return SHIP_SCOPE
        return None

    def issue(self, provider: Provider, scope: str | None = None) -> str:
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (provider, scope)
            self.issued[provider] = self.issued.get(provider, 0) + 1
        return token

    def valid(self, token: str | None, provider: Provider) -> bool:
        if not token:
            return False
        with self._lock:
            found = self._tokens.get(token)
        return found is not None and found[0] == provider

    def scope_of(self, token: str | None) -> str | None:
        """The scope of a token issued here (None: every API, or not a token of ours)."""
        with self._lock:
            found = self._tokens.get(token or "")
        return found[1] if found is not None else None

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self, provider: Provider | None = None) -> None:
        with self._lock:
            for token, (owner, _) in list(self._tokens.items()):
                if provider is None or owner == provider:
                    del self._tokens[token]

    def revoke(self, provider: Provider) -> None:
        """The account's credentials stop working (a secret regenerated in the carrier's
        portal): its tokens are refused and no new one is issued."""
        self.expire_tokens(provider)
        with self._lock:
            self._revoked.add(provider)


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
