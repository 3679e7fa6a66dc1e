"""The seller's consent to the app (OAuth authorisation code grant), for
`omnisync channels ebay-install`.

The seller opens the consent URL, signs in to eBay and agrees; eBay redirects to the
app's accepted URL (named to eBay by its RuName) with a `code`, which is exchanged once
for a refresh token (valid about 18 months) that the channel file then names. The
scopes asked are those the connector's requests need (auth.USER_SCOPES), no more.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from omnisync.connectors.base import AuthError, ConnectorError, redacted
from omnisync.connectors.ebay.auth import USER_SCOPES, TokenEndpoint
from omnisync.connectors.ebay.client import make_http
from omnisync.connectors.ebay.settings import EbaySettings

CODE_HINT = "the code is valid for five minutes and once: open the consent URL again"


def _ru_name(settings: EbaySettings) -> str:
    if not settings.ru_name:
        raise ValueError("the channel names no ru_name (the app's RuName)")
    return settings.ru_name


def consent_url(settings: EbaySettings) -> tuple[str, str]:
    """The URL the seller opens to grant the app access, and the state eBay sends back."""
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "client_id": settings.credentials.client_id.get_secret_value(),
            "redirect_uri": _ru_name(settings),
            "response_type": "code",
            "scope": " ".join(USER_SCOPES),
            "state": state,
        }
    )
    return f"{settings.consent_url()}?{query}", state


def code_from_callback(callback_url: str) -> str:
    """The `code` of the URL eBay redirected to; AuthError when the seller declined."""
    params = dict(parse_qsl(urlsplit(callback_url).query))
    if params.get("code"):
        return params["code"]
    if params.get("error"):
        raise AuthError(f"eBay redirected without a code: {params['error']}")
    raise AuthError("the callback URL has no `code` parameter")


def exchange_code(
    settings: EbaySettings, code: str, *, transport: httpx.BaseTransport | None = None
) -> str:
    """The refresh token eBay gives for the consent `code`."""
    credentials = settings.credentials
    with make_http("", settings.timeout_seconds, transport) as http:
        endpoint = TokenEndpoint(
            settings.token_url(),
            credentials.client_id.get_secret_value(),
            credentials.client_secret.get_secret_value(),
            http,
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _ru_name(settings),
        }
        try:
            answer = endpoint.grant(form, refused_hint=CODE_HINT)
        except ConnectorError as error:
            raise redacted(error, [*settings.secret_values(), code]) from None
    refresh_token = answer.get("refresh_token")
    if not refresh_token:
        raise AuthError("eBay's answer to the code carries no refresh token")
    return str(refresh_token)
