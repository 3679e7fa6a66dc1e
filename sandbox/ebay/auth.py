"""eBay's OAuth as the simulator plays it: the token endpoint, the consent page, and the
check of every API call's bearer token.

``POST /identity/v1/oauth2/token`` authenticates the app with ``Authorization: Basic
base64(client_id:client_secret)`` and takes a form with one of three grants:

- ``refresh_token`` (``refresh_token``, ``scope`` optional: a subset of what the seller
  consented to): a User access token;
- ``client_credentials`` (``scope``: the public ``api_scope``): an Application access
  token, for getPublicKey;
- ``authorization_code`` (``code``, ``redirect_uri`` = the app's RuName): a User access
  token and a new refresh token (valid 18 months).

Errors use OAuth's own shape ``{"error", "error_description"}``: a wrong client 401
``invalid_client``, an unknown, used, expired or revoked code or refresh token 400
``invalid_grant``, a scope beyond the grant 400 ``invalid_scope``.

``GET /oauth2/authorize`` (eBay serves it on auth.ebay.com) plays the seller signing in
and agreeing at once: it answers 302 to the RuName's accept URL (here
``https://sandbox.invalid/accepted``) with a one-time ``code`` valid 299 seconds.
:meth:`TokenIssuer.grant_consent` hands out such a code without the redirect.

Access tokens are random, valid two hours on the simulator's clock; a token that is
unknown or expired answers 401 (:mod:`sandbox.ebay.errors`, 1001).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from omnisync.sandbox.clock import Clock
from omnisync.sandbox.ebay.model import JSON

DEFAULT_CLIENT_ID: Final = "OmniSync-Simulat-PRD-0a1b2c3d4-5e6f7a8b"
DEFAULT_CLIENT_SECRET: Final = "PRD-a1b2c3d4e5f6-simulator-0123-4567"  # noqa: S105 (loopback default)
DEFAULT_REFRESH_TOKEN: Final = "v^1.1#i^1#r^1#simulator-refresh-token#t^0"  # noqa: S105
DEFAULT_RU_NAME: Final = "omnisync-sandbox-RuName"
ACCESS_TOKEN_LIFETIME_S: Final = 7200
REFRESH_TOKEN_LIFETIME_S: Final = 47_304_000
CONSENT_CODE_LIFETIME_S: Final = 299
CONSENT_ACCEPTED_URL: Final = "https://sandbox.invalid/accepted"
MAX_TOKENS: Final = 10_000

SCOPE_BASE: Final = "https://api.ebay.com/oauth/api_scope"
APPLICATION_SCOPES: Final = frozenset({SCOPE_BASE})
USER_SCOPES: Final = frozenset(
    {
        SCOPE_BASE,
        f"{SCOPE_BASE}/sell.inventory",
        f"{SCOPE_BASE}/sell.inventory.readonly",
        f"{SCOPE_BASE}/sell.fulfillment",
        f"{SCOPE_BASE}/sell.fulfillment.readonly",
        f"{SCOPE_BASE}/sell.finances",
        f"{SCOPE_BASE}/sell.payment.dispute",
        f"{SCOPE_BASE}/commerce.notification.subscription",
        f"{SCOPE_BASE}/commerce.notification.subscription.readonly",
    }
)
"""What the seller consents to: the scopes of the three contracts the simulator serves."""
CONSENT_SCOPES: Final = (
    SCOPE_BASE,
    f"{SCOPE_BASE}/sell.inventory",
    f"{SCOPE_BASE}/sell.fulfillment",
    f"{SCOPE_BASE}/commerce.notification.subscription",
)
"""What the printed consent URL asks for: what a connector for stock and orders needs."""

USER: Final = "User Access Token"
APPLICATION: Final = "Application Access Token"


@dataclass(frozen=True)
class EbayCredentials:
    """The one app (keyset and RuName) and seller authorisation the simulator knows."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    refresh_token: str = DEFAULT_REFRESH_TOKEN
    ru_name: str = DEFAULT_RU_NAME

    def __repr__(self) -> str:  # secrets stay out of logs and reprs
        return (
            f"EbayCredentials(client_id={self.client_id!r}, client_secret=***, "
            f"refresh_token=***, ru_name={self.ru_name!r})"
        )


@dataclass(frozen=True)
class AccessToken:
    kind: str
    """:data:`USER` or :data:`APPLICATION` (eBay's ``token_type``)."""
    scopes: frozenset[str]
    expires_at: datetime


@dataclass(frozen=True)
class _Grant:
    """What a refresh token or a consent code allows, and until when (None: no end)."""

    scopes: frozenset[str]
    expires_at: datetime | None
    redirect_uri: str | None = None


class TokenIssuer:
    """Hands out tokens for the right app, and recognises them after (thread-safe)."""

    def __init__(self, credentials: EbayCredentials, clock: Clock) -> None:
        self.credentials = credentials
        self._clock = clock
        self._refresh: dict[str, _Grant] = {credentials.refresh_token: _Grant(USER_SCOPES, None)}
        self._codes: dict[str, _Grant] = {}
        self._tokens: OrderedDict[str, AccessToken] = OrderedDict()
        self._issued = 0
        self._lock = threading.Lock()

    @property
    def issued(self) -> int:
        """How many access tokens were handed out."""
        return self._issued

    # tokens ---------------------------------------------------------------------------

    def lookup(self, token: str | None) -> AccessToken | None:
        """The access token's grant, or None when it is unknown or expired."""
        if not token:
            return None
        with self._lock:
            found = self._tokens.get(token)
        if found is None or self._clock.now() >= found.expires_at:
            return None
        return found

    def issue(self, kind: str, scopes: Iterable[str]) -> str:
        """A new access token of ``kind`` for ``scopes``, valid two hours from now."""
        token = ("v^1.1#i^1#p^3#r^0#I^3#t^" if kind == USER else "v^1.1#i^1#p^1#f^0#t^") + (
            secrets.token_urlsafe(48)
        )
        expires = self._clock.now() + timedelta(seconds=ACCESS_TOKEN_LIFETIME_S)
        with self._lock:
            self._tokens[token] = AccessToken(kind, frozenset(scopes), expires)
            while len(self._tokens) > MAX_TOKENS:
                self._tokens.popitem(last=False)
            self._issued += 1
        return token

    def grant_consent(self, scopes: Iterable[str] | None = None) -> str:
        """A fresh one-time authorisation code, as the consent page redirects with."""
        chosen = frozenset(USER_SCOPES if scopes is None else scopes)
        unknown = chosen - USER_SCOPES
        if unknown:
            raise ValueError(f"scopes the seller cannot grant: {', '.join(sorted(unknown))}")
        code = "v^1.1#i^1#f^0#p^3#I^3#r^1#t^" + secrets.token_urlsafe(32)
        expires = self._clock.now() + timedelta(seconds=CONSENT_CODE_LIFETIME_S)
        with self._lock:
            self._codes[code] = _Grant(chosen, expires, self.credentials.ru_name)
        return code

    def reset_grants(self) -> None:
        """The seller's original consent is good again and every other grant (refresh
        tokens from codes, codes) is forgotten; access tokens handed out stay good until
        they expire, so a client's cached token outlives a simulator reset."""
        with self._lock:
            self._refresh = {self.credentials.refresh_token: _Grant(USER_SCOPES, None)}
            self._codes.clear()
            self._issued = 0

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token known so far is refused from now on (the seller revoked
        the app); access tokens already handed out live on until they expire."""
        with self._lock:
            self._refresh.clear()

    # the consent page -----------------------------------------------------------------

    def authorize(self, query: Mapping[str, str]) -> tuple[int, str | JSON]:
        """``GET /oauth2/authorize``: (302, the accept URL) or (400, an OAuth error)."""
        if not _same(query.get("client_id", ""), self.credentials.client_id):
            return 400, _oauth_error("invalid_client", "the client_id is not known")
        if query.get("redirect_uri") != self.credentials.ru_name:
            return 400, _oauth_error("invalid_request", "the redirect_uri is not the app's RuName")
        if query.get("response_type") != "code":
            return 400, _oauth_error("unsupported_response_type", "response_type must be code")
        scopes = frozenset(query.get("scope", "").split())
        if not scopes:
            return 400, _oauth_error("invalid_request", "request is missing the scope")
        if not scopes <= USER_SCOPES:
            return 400, _invalid_scope()
        accepted = {"code": self.grant_consent(scopes)}
        if "state" in query:
            accepted["state"] = query["state"]
        accepted["expires_in"] = str(CONSENT_CODE_LIFETIME_S)
        return 302, f"{CONSENT_ACCEPTED_URL}?{urlencode(accepted)}"

    # the token endpoint ---------------------------------------------------------------

    def exchange(self, form: Mapping[str, str], authorization: str | None) -> tuple[int, JSON]:
        """Answer a token request: (status, body)."""
        if not self._client_authenticated(authorization):
            return 401, _oauth_error("invalid_client", "client authentication failed")
        grant = form.get("grant_type", "")
        if not grant:
            return 400, _missing("grant_type")
        if grant == "refresh_token":
            return self._refreshed(form)
        if grant == "client_credentials":
            return self._application(form)
        if grant == "authorization_code":
            return self._from_code(form)
        return 400, _oauth_error(
            "unsupported_grant_type",
            "grant type in request is not supported by the authorization server",
        )

    def _refreshed(self, form: Mapping[str, str]) -> tuple[int, JSON]:
        token = form.get("refresh_token", "")
        if not token:
            return 400, _missing("refresh_token")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None or _expired(grant, self._clock.now()):
            return 400, _oauth_error(
                "invalid_grant",
                "the provided authorization refresh token is invalid or was issued to "
                "another client",
            )
        asked = frozenset(form.get("scope", "").split()) or grant.scopes
        if not asked <= grant.scopes:
            return 400, _invalid_scope()
        return 200, {
            "access_token": self.issue(USER, asked),
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "token_type": USER,
        }

    def _application(self, form: Mapping[str, str]) -> tuple[int, JSON]:
        asked = frozenset(form.get("scope", "").split())
        if not asked:
            return 400, _missing("scope")
        if not asked <= APPLICATION_SCOPES:
            return 400, _invalid_scope()
        return 200, {
            "access_token": self.issue(APPLICATION, asked),
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "token_type": APPLICATION,
        }

    def _from_code(self, form: Mapping[str, str]) -> tuple[int, JSON]:
        code = form.get("code", "")
        if not code:
            return 400, _missing("code")
        if not form.get("redirect_uri"):
            return 400, _missing("redirect_uri")
        with self._lock:
            grant = self._codes.pop(code, None)  # one use, good or bad
        now = self._clock.now()
        if grant is None or _expired(grant, now):
            return 400, _oauth_error(
                "invalid_grant",
                "the provided authorization grant code is invalid or was issued to another client",
            )
        if form["redirect_uri"] != grant.redirect_uri:
            return 400, _oauth_error(
                "invalid_grant", "the redirect_uri does not match the one consented to"
            )
        refresh = "v^1.1#i^1#r^1#I^3#p^3#f^0#t^" + secrets.token_urlsafe(48)
        lifetime = timedelta(seconds=REFRESH_TOKEN_LIFETIME_S)
        with self._lock:
            self._refresh[refresh] = _Grant(grant.scopes, now + lifetime)
        return 200, {
            "access_token": self.issue(USER, grant.scopes),
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TOKEN_LIFETIME_S,
            "token_type": USER,
        }

    def _client_authenticated(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, separator, secret = decoded.partition(":")
        return (
            bool(separator)
            and _same(client_id, self.credentials.client_id)
            and _same(secret, self.credentials.client_secret)
        )


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` header value the token endpoint wants."""
    pair = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _expired(grant: _Grant, now: datetime) -> bool:
    return grant.expires_at is not None and now >= grant.expires_at


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _oauth_error(error: str, description: str) -> JSON:
    return {"error": error, "error_description": description}


def _missing(name: str) -> JSON:
    return _oauth_error("invalid_request", f"request is missing a required parameter : {name}")


def _invalid_scope() -> JSON:
    return _oauth_error(
        "invalid_scope",
        "the requested scope is invalid, unknown, malformed, or exceeds the scope granted "
        "to the client",
    )
