"""Login with Amazon (LWA) access tokens for one channel.

python-amazon-sp-api asks its `auth_token_client_class` for a token before each
request. Its own AccessTokenClient keeps tokens in a process-wide cache keyed by
the refresh token alone, for a fixed 3,200 s whatever LWA said, and never drops a
token Amazon refused. `ChannelTokenClient` keeps the library's request (the same
form, posted with the library's `_request`) but stores the token in the channel's
own `AccessTokens`: in memory, shared only by that channel's API clients, renewed a
minute before it expires and forgotten when Amazon refuses it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.auth import AccessTokenClient, AccessTokenResponse, Credentials
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base._transport_httpx import HttpxTransport

from omnisync.connectors.base import AuthError, ConnectorError, RateLimited, TransientError

LWA_URL = "https://api.amazon.com/auth/o2/token"
GRANTLESS_SCOPE = "sellingpartnerapi::notifications"
RENEW_BEFORE_EXPIRY = 60.0
"""Seconds before LWA's expiry that a token is renewed, so no request carries a stale one."""
ASSUMED_LIFETIME = 3000.0
"""Seconds a token is kept when LWA does not say (it says 3,600)."""


class AccessTokens:
    """One channel's current LWA access token (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: dict[str, Any] | None = None
        self._expires_at = 0.0
        self.fetches = 0
        """How many tokens were fetched: a request that fetched none used a kept one."""
        self._grantless: dict[str, AccessTokens] = {}

    def current(self, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """LWA's answer holding a valid token, fetched when there is none."""
        with self._lock:
            if self._answer is None or self._clock() >= self._expires_at:
                answer = fetch()
                lifetime = _seconds(answer.get("expires_in"), ASSUMED_LIFETIME)
                self._answer = answer
                self._expires_at = self._clock() + max(lifetime - RENEW_BEFORE_EXPIRY, 0.0)
                self.fetches += 1
            return self._answer

    def token(self) -> str | None:
        with self._lock:
            return None if self._answer is None else str(self._answer.get("access_token"))

    def forget(self) -> None:
        """Amazon refused the token: the next request fetches a new one (the grantless
        ones too: a refusal does not say which token it was)."""
        with self._lock:
            self._answer = None
            for kept in self._grantless.values():
                kept.forget()

    def grantless(self, scope: str) -> AccessTokens:
        """The app's own tokens for `scope`, kept beside the seller's."""
        with self._lock:
            return self._grantless.setdefault(scope, AccessTokens(self._clock))

    def secrets(self) -> list[str]:
        """Every token held now (to mask them in messages)."""
        with self._lock:
            kept = [self._answer, *(tokens._answer for tokens in self._grantless.values())]
        return [str(answer.get("access_token")) for answer in kept if answer]


class ChannelTokenClient(AccessTokenClient):  # type: ignore[misc]
    """The library's LWA client pointed at the channel's token URL, storing into `tokens`.

    The library builds it as `auth_token_client_class(refresh_token=..., credentials=...,
    proxies=..., verify=...)`; the channel's parts are bound with functools.partial.
    """

    def __init__(
        self,
        *,
        tokens: AccessTokens,
        token_url: str,
        http: httpx.Client,
        refresh_token: str | None = None,
        credentials: Any = None,
        proxies: Any = None,
        verify: bool = True,
    ) -> None:
        # The parent's __init__ would open an httpx client of its own (no timeout we
        # choose); the same attributes are set here with the channel's client instead.
        self.cred = Credentials(refresh_token, credentials)
        self.proxies = proxies
        self.verify = verify
        self._transport = HttpxTransport(client=http)
        parts = urlsplit(token_url)
        self.scheme = f"{parts.scheme}://"
        self.host = parts.netloc
        self.path = parts.path or "/auth/o2/token"
        self._tokens = tokens

    def get_auth(self) -> AccessTokenResponse:
        return AccessTokenResponse(**self._tokens.current(lambda: self._fetch(self.data)))

    def get_grantless_auth(self, scope: str = GRANTLESS_SCOPE) -> AccessTokenResponse:
        """A token of the app itself (client_credentials) for `scope`: the Notifications
        API's destination calls take no seller token. Kept apart from the seller's."""
        tokens = self._tokens.grantless(scope)
        return AccessTokenResponse(
            **tokens.current(lambda: self._fetch(self.grantless_data(scope)))
        )

    def _fetch(self, form: dict[str, Any]) -> dict[str, Any]:
        url = self.scheme + self.host + self.path
        try:
            answer = self._request(url, form, self.headers)
        except AuthorizationError as error:
            raise token_refusal(error) from None
        except json.JSONDecodeError:
            raise TransientError("Login with Amazon: the answer is not JSON") from None
        except httpx.TimeoutException:
            raise TransientError("Login with Amazon: timed out") from None
        except httpx.TransportError as error:
            raise TransientError(
                f"Login with Amazon: connection failed ({type(error).__name__})"
            ) from None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise TransientError("Login with Amazon: the answer carries no access token")
        return answer


def token_refusal(error: AuthorizationError) -> ConnectorError:
    """LWA's error answer as a connector error (LWA's words carry no secret)."""
    status = int(getattr(error, "status_code", 0) or 0)
    code = str(getattr(error, "error_code", None) or "error")
    message = str(getattr(error, "message", None) or "").strip()
    said = f"{code}: {message}" if message else code
    if status == 429:
        return RateLimited(f"Login with Amazon: throttled ({said})", 1.0)
    if status >= 500:
        return TransientError(f"Login with Amazon: HTTP {status} ({said})")
    return AuthError(
        f"Login with Amazon refused the refresh token or the app's LWA credentials "
        f"(HTTP {status}, {said})"
    )


def _seconds(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def token_url(configured: object | None) -> str:
    return str(configured) if configured is not None else LWA_URL
