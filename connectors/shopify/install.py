"""Installing the app on a shop (OAuth authorisation code grant) with ShopifyAPI's Session.

The scopes are the ones this connector's documents need, no more.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlsplit

import shopify

from omnisync.connectors.base import AuthError
from omnisync.connectors.shopify.settings import ShopifySettings

SCOPES = (
    "read_orders",
    "write_orders",
    "read_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
    "read_fulfillments",
    "write_fulfillments",
    "read_returns",
    "write_returns",
)


def _session(settings: ShopifySettings) -> shopify.Session:
    if not settings.client_id or settings.client_secret is None:
        raise AuthError("the channel needs client_id and client_secret to install the app")
    shopify.Session.setup(
        api_key=settings.client_id, secret=settings.client_secret.get_secret_value()
    )
    return shopify.Session(settings.shop, settings.api_version)


def permission_url(settings: ShopifySettings, redirect_uri: str) -> tuple[str, str]:
    """The URL the shop owner opens to grant access, and the state to expect back."""
    state = secrets.token_urlsafe(16)
    url = _session(settings).create_permission_url(list(SCOPES), redirect_uri, state)
    return str(url), state


def exchange_code(settings: ShopifySettings, callback_url: str) -> str:
    """Exchange the code of the callback URL Shopify redirected to for an access token.

    ShopifyAPI checks the callback's HMAC before it asks the shop for the token.
    """
    params = dict(parse_qsl(urlsplit(callback_url).query))
    if "code" not in params:
        raise AuthError("the callback URL has no `code` parameter")
    try:
        return str(_session(settings).request_token(params))
    except shopify.ValidationException as error:
        raise AuthError(f"the callback was not signed by Shopify: {error}") from None
