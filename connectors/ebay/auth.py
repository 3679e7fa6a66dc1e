"""eBay OAuth access tokens for one channel: the seller's (refresh-token grant) and the
app's own (client-credentials grant, for the notification public keys).

A user access token lives two hours; it is kept and used until five minutes before it
expires, measured on the connector's monotonic clock, and shared by every request of the
channel (one fetch at a time: the lock is held while one is fetched, so concurrent
requests wait for it instead of each asking eBay). A token eBay refuses (HTTP 401 from
an API call) is forgotten and fetched again once by the client (client.py).

A 4xx answer (`invalid_grant`: the refresh token expired or was revoked;
`invalid_client`: the app's keys are wrong) is an AuthError, which pauses the channel
until an operator runs `omnisync channels ebay-install` (or fixes the keys). The token endpoint's
own daily limits (50,000 refresh-token and 1,000 client-credentials grants) are the
engine's to keep, through the call policy.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import httpx

from omnisync.connectors.base import (
    AuthError,
    CallPolicy,
    ConnectorError,
    MonotonicClock,
    RateLimited,
    TransientError,
    redacted,
)
from omnisync.connectors.http import json_body, retry_after_seconds, send

API_SCOPE = "https://api.ebay.com/oauth/api_scope"
"""Public data: the scope of the app's own token (getPublicKey)."""
SELL_INVENTORY_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.inventory"
SELL_FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
USER_SCOPES = (API_SCOPE, SELL_INVENTORY_SCOPE, SELL_FULFILLMENT_SCOPE)
"""What the seller consents to and every user token is asked with: reading inventory
items and offers and updating their quantities (sell.inventory), reading orders and
creating shipping fulfilments (sell.fulfillment)."""

REFRESH_GRANTS = "oauthRefreshTokenGrant"
CLIENT_CREDENTIALS_GRANTS = "oauthClientCredentialsGrant"
"""The call-policy operations of the two grants (their daily limits differ)."""

RENEW_BEFORE_EXPIRY = 300.0
ASSUMED_LIFETIME = 7200.0
"""Seconds a token is kept when eBay does not say (it says 7,200)."""
THROTTLED_WAIT = 60.0
"""Seconds to wait after a 429 that names no Retry-After (eBay's limits are daily)."""
INSTALL_HINT = "run `omnisync channels ebay-install` for this channel to get a new refresh token"


class TokenKind(StrEnum):
    USER = "user"
    """The seller's token: the Sell APIs."""
    APPLICATION = "application"
    """The app's own token: the Commerce Notification API's public keys."""


class KeptToken:
    """One access token and when to renew it (thread-safe)."""

    def __init__(self, clock: MonotonicClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetches = 0

    def current(self, fetch: Callable[[], Mapping[str, Any]]) -> str:
        """The kept token, or a new one from `fetch` (eBay's answer) when there is none
        or it is within five minutes of expiring."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                answer = fetch()
                lifetime = _seconds(answer.get("expires_in"), ASSUMED_LIFETIME)
                self._token = str(answer["access_token"])
                self._renew_at = self._clock() + max(lifetime - RENEW_BEFORE_EXPIRY, 0.0)
                self.fetches += 1
            return self._token

    def forget(self, token: str) -> None:
        """eBay refused `token`: the next request fetches another (unless a concurrent
        one already did)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def value(self) -> str | None:
        with self._lock:
            return self._token


class TokenEndpoint:
    """eBay's OAuth token endpoint, asked with the app's keys (HTTP Basic)."""

    def __init__(self, url: str, client_id: str, client_secret: str, http: httpx.Client) -> None:
        self.url = url
        self._http = http
        pair = f"{client_id}:{client_secret}".encode()
        self._authorization = "Basic " + base64.b64encode(pair).decode("ascii")

    def grant(self, form: Mapping[str, str], *, refused_hint: str) -> dict[str, Any]:
        """eBay's answer to one grant; AuthError (with `refused_hint`) when eBay refuses
        the grant or the app's keys, RateLimited/TransientError when it may be retried."""
        response = send(
            lambda: self._http.post(
                self.url,
                data=dict(form),
                headers={
                    "Authorization": self._authorization,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        )
        status = response.status_code
        if status == 429:
            raise RateLimited(
                "eBay's token endpoint: throttled", retry_after_seconds(response, THROTTLED_WAIT)
            )
        if status >= 500:
            raise TransientError(f"eBay's token endpoint: HTTP {status}")
        if status >= 400:
            raise AuthError(
                f"eBay refused the token request ({_oauth_words(response)}): {refused_hint}"
            )
        answer = json_body(response, "eBay's token endpoint")
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise TransientError("eBay's token endpoint: the answer carries no access token")
        return answer


class EbayTokens:
    """One channel's two kinds of token, each fetched through the call policy."""

    def __init__(
        self,
        endpoint: TokenEndpoint,
        refresh_token: str,
        calls: CallPolicy,
        clock: MonotonicClock,
        secrets: Sequence[str],
    ) -> None:
        self._endpoint = endpoint
        self._refresh_token = refresh_token
        self._calls = calls
        self._secrets = list(secrets)
        self._kept = {kind: KeptToken(clock) for kind in TokenKind}

    def token(self, kind: TokenKind) -> str:
        if kind is TokenKind.USER:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "scope": " ".join(USER_SCOPES),
            }
            return self._kept[kind].current(lambda: self._grant(REFRESH_GRANTS, form))
        form = {"grant_type": "client_credentials", "scope": API_SCOPE}
        return self._kept[kind].current(lambda: self._grant(CLIENT_CREDENTIALS_GRANTS, form))

    def forget(self, kind: TokenKind, token: str) -> None:
        self._kept[kind].forget(token)

    def fetches(self, kind: TokenKind) -> int:
        """How many tokens of `kind` were fetched so far."""
        return self._kept[kind].fetches

    def secrets(self) -> list[str]:
        """The channel's secrets and every token held now (to mask them in messages)."""
        held = [kept.value() for kept in self._kept.values()]
        return [*self._secrets, *(token for token in held if token)]

    def _grant(self, operation: str, form: Mapping[str, str]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            try:
                return self._endpoint.grant(form, refused_hint=INSTALL_HINT)
            except ConnectorError as error:
                raise redacted(error, self._secrets) from None

        return self._calls.call(operation, attempt)


def _oauth_words(response: httpx.Response) -> str:
    """eBay's OAuth error (`error: error_description`), or the status when there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    said = f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("error"):
        said += f", {body['error']}"
        description = str(body.get("error_description") or "").strip()
        if description:
            said += f": {description}"
    return said


def _seconds(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default
