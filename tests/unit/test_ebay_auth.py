"""eBay OAuth: the refresh-token grant and its cached user token, renewal five minutes
before expiry on the connector's clock, one fresh try after a 401, the app's own
client-credentials token, and refusals that name what to do without showing a secret."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from omnisync.connectors.base import AuthError, TransientError
from omnisync.connectors.ebay.auth import TokenKind
from omnisync.connectors.ebay.connector import EbayConnector
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.sandbox.clock import ManualTimer
from tests.contract.kits import KITS

KIT = KITS["ebay"]
TOKEN_PATH = "/identity/v1/oauth2/token"
ITEMS_PATH = "/sell/inventory/v1/inventory_item"
CREDENTIALS = KIT.settings["credentials"]
USER_SCOPES = (
    "https://api.ebay.com/oauth/api_scope "
    "https://api.ebay.com/oauth/api_scope/sell.inventory "
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=KIT.base_url, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def timer() -> ManualTimer:
    return ManualTimer(1000.0)


def connector(timer: ManualTimer) -> EbayConnector:
    return EbayConnector(EbaySettings.model_validate(KIT.settings), clock=timer)


def token_answers(*tokens: str, expires_in: int = 7200) -> list[httpx.Response]:
    return [
        httpx.Response(200, json={"access_token": token, "expires_in": expires_in})
        for token in tokens
    ]


def bearer(route: respx.Route) -> list[str]:
    return [call.request.headers["Authorization"] for call in route.calls]


def empty_page() -> httpx.Response:
    return httpx.Response(200, json={"inventoryItems": [], "total": 0})


def read_items(connector: EbayConnector) -> None:
    list(connector.fetch_listings())


def test_the_refresh_token_grant_sends_the_form_with_the_app_keys(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    grant = router.post(TOKEN_PATH).mock(side_effect=token_answers("user-token-1"))
    items = router.get(ITEMS_PATH).mock(return_value=empty_page())
    read_items(connector(timer))
    (call,) = grant.calls
    keys = f"{CREDENTIALS['client_id']}:{CREDENTIALS['client_secret']}".encode()
    assert call.request.headers["Authorization"] == "Basic " + base64.b64encode(keys).decode()
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(call.request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": [CREDENTIALS["refresh_token"]],
        "scope": [USER_SCOPES],
    }
    assert bearer(items) == ["Bearer user-token-1"]


def test_the_token_is_kept_until_five_minutes_before_it_expires(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    grant = router.post(TOKEN_PATH).mock(side_effect=token_answers("first", "second"))
    items = router.get(ITEMS_PATH).mock(return_value=empty_page())
    ebay = connector(timer)
    read_items(ebay)
    timer.advance(7200 - 300 - 1)  # one second before the renewal is due
    read_items(ebay)
    assert grant.call_count == 1
    timer.advance(1)
    read_items(ebay)
    assert grant.call_count == 2
    assert bearer(items) == ["Bearer first", "Bearer first", "Bearer second"]


def test_a_refused_token_is_dropped_and_the_request_sent_once_more_with_a_fresh_one(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    grant = router.post(TOKEN_PATH).mock(side_effect=token_answers("revoked", "fresh"))
    items = router.get(ITEMS_PATH).mock(side_effect=[httpx.Response(401), empty_page()])
    read_items(connector(timer))
    assert grant.call_count == 2
    assert bearer(items) == ["Bearer revoked", "Bearer fresh"]


def test_a_second_401_is_an_auth_error(router: respx.MockRouter, timer: ManualTimer) -> None:
    grant = router.post(TOKEN_PATH).mock(side_effect=token_answers("a", "b", "c"))
    items = router.get(ITEMS_PATH).mock(return_value=httpx.Response(401))
    ebay = connector(timer)
    with pytest.raises(AuthError, match="refused a fresh access token"):
        read_items(ebay)
    assert items.call_count == 2
    assert grant.call_count == 2
    # the refused token was dropped: the next request asks for another
    router.get(ITEMS_PATH).mock(return_value=empty_page())
    read_items(ebay)
    assert grant.call_count == 3


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client"])
def test_a_refused_grant_is_an_auth_error_naming_ebay_install_and_no_secret(
    router: respx.MockRouter, timer: ManualTimer, status: int, error: str
) -> None:
    # eBay's description echoes nothing secret, but a proxy's page might: make it do so
    description = f"refused {CREDENTIALS['refresh_token']} for {CREDENTIALS['client_id']}"
    router.post(TOKEN_PATH).respond(status, json={"error": error, "error_description": description})
    items = router.get(ITEMS_PATH).mock(return_value=empty_page())
    with pytest.raises(AuthError) as raised:
        read_items(connector(timer))
    message = str(raised.value)
    assert error in message
    assert "omnisync channels ebay-install" in message
    for secret in CREDENTIALS.values():
        assert secret not in message
    assert not items.called


def test_a_token_endpoint_failing_is_transient(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    router.post(TOKEN_PATH).respond(503, text="maintenance")
    with pytest.raises(TransientError):
        read_items(connector(timer))


def test_the_application_token_is_a_client_credentials_grant_kept_apart(
    router: respx.MockRouter, timer: ManualTimer
) -> None:
    grant = router.post(TOKEN_PATH).mock(side_effect=token_answers("user", "application"))
    router.get(ITEMS_PATH).mock(return_value=empty_page())
    ebay = connector(timer)
    read_items(ebay)
    assert ebay.tokens.token(TokenKind.APPLICATION) == "application"
    assert ebay.tokens.token(TokenKind.APPLICATION) == "application"
    assert ebay.tokens.token(TokenKind.USER) == "user"
    assert grant.call_count == 2
    form = parse_qs(grant.calls[1].request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["https://api.ebay.com/oauth/api_scope"],
    }
