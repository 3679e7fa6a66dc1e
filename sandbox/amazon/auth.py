"""Login with Amazon (LWA) as the simulator plays it: token endpoint and token checks.

``POST /auth/o2/token`` takes a form (``grant_type=refresh_token``, ``refresh_token``,
``client_id``, ``client_secret``; or ``grant_type=client_credentials`` with a
``scope`` for grantless operations) and answers ``{"access_token", "refresh_token",
"token_type": "bearer", "expires_in": 3600}``; errors use LWA's own shape
``{"error", "error_description"}``.

Access tokens are derived from the credentials (an HMAC under the client secret), not
drawn at random: python-amazon-sp-api caches tokens per refresh token in a module
global for 53 minutes, so a client that talked to one simulator keeps sending that
token to the next one with the same credentials, and it must still be good there.
:meth:`LwaIssuer.expire_tokens` moves to a new generation: every token handed out
before answers 403 "expired" from then on.

A token is the seller's (:data:`SELLER`, from a refresh token) or grantless for one
scope (``sellingpartnerapi::notifications``, from ``client_credentials``). Most
operations take either, as they always have here; an operation that says which kinds
it accepts (the Notifications API's destinations want a grantless token, its
subscriptions the seller's) answers 403 Unauthorized to the others, as Amazon does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from omnisync.sandbox.amazon.http import ACCESS_DENIED, JSON, TOKEN_EXPIRED

DEFAULT_CLIENT_ID: Final = "amzn1.application-oa2-client.omnisyncsimulator"
DEFAULT_CLIENT_SECRET: Final = "amzn1.oa2-cs.v1.omnisync-simulator-secret"  # noqa: S105 (loopback default)
DEFAULT_REFRESH_TOKEN: Final = "fake-simulator-refresh-token"  # noqa: S105
TOKEN_LIFETIME_S: Final = 3600
GRANTS: Final = ("refresh_token", "client_credentials")
SELLER: Final = "seller"
"""The kind of a token made from the seller's refresh token (a grantless token's kind is
its scope)."""


@dataclass(frozen=True)
class LwaCredentials:
    """The one application and seller authorisation the simulator knows."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    refresh_token: str = DEFAULT_REFRESH_TOKEN

    def __repr__(self) -> str:  # secrets stay out of logs and reprs
        return f"LwaCredentials(client_id={self.client_id!r}, client_secret=***, refresh_token=***)"


class LwaIssuer:
    """Hands out access tokens for the right credentials and recognises them after."""

    def __init__(self, credentials: LwaCredentials) -> None:
        self.credentials = credentials
        self._generation = 0
        self._grantless: dict[str, str] = {}
        """Grantless tokens handed out (this generation), and the scope of each."""
        self._expired: set[str] = set()
        self._issued = 0
        self._lock = threading.Lock()

    @property
    def issued(self) -> int:
        """How many tokens the endpoint handed out."""
        return self._issued

    def access_token(self, scope: str | None = None) -> str:
        """The access token valid now (for the seller, or grantless for ``scope``)."""
        with self._lock:
            return self._derive(scope, self._generation)

    def grantless_token(self, scope: str) -> str:
        """A grantless token for ``scope``, as ``client_credentials`` would hand out."""
        token = self.access_token(scope)
        with self._lock:
            self._grantless[token] = scope
        return token

    def expire_tokens(self) -> None:
        """Every access token handed out so far expires now."""
        with self._lock:
            self._expired.add(self._derive(None, self._generation))
            self._expired.update(self._grantless)
            self._grantless.clear()
            self._generation += 1

    def _derive(self, scope: str | None, generation: int) -> str:
        subject = f"seller\n{self.credentials.refresh_token}" if scope is None else scope
        material = f"{self.credentials.client_id}\n{generation}\n{subject}"
        digest = hmac.new(
            self.credentials.client_secret.encode(), material.encode(), hashlib.sha256
        ).digest()
        return "Atza|" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def kind(self, token: str) -> str | None:
        """:data:`SELLER`, the scope of a grantless token, or None (unknown or expired)."""
        if hmac.compare_digest(token.encode(), self.access_token().encode()):
            return SELLER
        with self._lock:
            return self._grantless.get(token)

    def refusal(self, token: str | None, accepts: Collection[str] | None = None) -> str | None:
        """None when ``token`` is good (and of a kind in ``accepts``, when given), else the
        SP-API message for the 403."""
        if not token:
            return ACCESS_DENIED
        kind = self.kind(token)
        if kind is None:
            with self._lock:
                expired = token in self._expired
            return TOKEN_EXPIRED if expired else ACCESS_DENIED
        if accepts is not None and kind not in accepts:
            return ACCESS_DENIED
        return None

    def exchange(self, form: Mapping[str, str]) -> tuple[int, JSON]:
        """Answer a token request: (status, LWA body)."""
        grant = form.get("grant_type", "")
        if not grant:
            return _lwa_error(400, "invalid_request", _missing("grant_type"))
        if grant not in GRANTS:
            return _lwa_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        for name in ("client_id", "client_secret"):
            if not form.get(name):
                return _lwa_error(400, "invalid_request", _missing(name))
        if not (
            _same(form["client_id"], self.credentials.client_id)
            and _same(form["client_secret"], self.credentials.client_secret)
        ):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        if grant == "client_credentials":
            scope = form.get("scope", "")
            if not scope:
                return _lwa_error(400, "invalid_request", _missing("scope"))
            token = self.grantless_token(scope)
            with self._lock:
                self._issued += 1
            return 200, {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME_S,
            }
        refresh = form.get("refresh_token", "")
        if not refresh:
            return _lwa_error(400, "invalid_request", _missing("refresh_token"))
        if not _same(refresh, self.credentials.refresh_token):
            return _lwa_error(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        with self._lock:
            self._issued += 1
        return 200, {
            "access_token": self.access_token(),
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME_S,
        }


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _missing(name: str) -> str:
    return f"The request is missing a required parameter : {name}"


def _lwa_error(status: int, error: str, description: str) -> tuple[int, JSON]:
    return status, {"error_description": description, "error": error}
