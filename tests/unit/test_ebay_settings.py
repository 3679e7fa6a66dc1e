"""An eBay channel file: what it must say, the URLs it may name (https, or http to this
machine only), where tokens and consent live, and the published limits it is held to."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from omnisync.connectors.ebay.connector import EbayConnector
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.connectors.registry import connector_for

BASE: dict[str, Any] = {
    "marketplace_id": "EBAY_GB",
    "credentials": {
        "client_id": "App-omnisync-PRD-1234",
        "client_secret": "PRD-secret-5678",
        "refresh_token": "v^1.1#refresh-9012",
    },
}
TOKEN = "a" * 32


def settings(**changes: Any) -> EbaySettings:
    return EbaySettings.model_validate({**BASE, **changes})


def test_the_type_is_registered_with_its_settings() -> None:
    assert connector_for("ebay") is EbayConnector
    assert EbayConnector.Settings is EbaySettings


def test_tokens_and_consent_default_to_ebays_and_move_under_auth_endpoint() -> None:
    default = settings()
    assert default.api_base() == "https://api.ebay.com"
    assert default.token_url() == "https://api.ebay.com/identity/v1/oauth2/token"
    assert default.consent_url() == "https://auth.ebay.com/oauth2/authorize"
    moved = settings(endpoint="http://127.0.0.1:8790/", auth_endpoint="http://localhost:8790/")
    assert moved.api_base() == "http://127.0.0.1:8790"
    assert moved.token_url() == "http://localhost:8790/identity/v1/oauth2/token"
    assert moved.consent_url() == "http://localhost:8790/oauth2/authorize"
    assert settings(endpoint="http://[::1]:9/").api_base() == "http://[::1]:9"


@pytest.mark.parametrize(
    "changes",
    [
        {"endpoint": "http://api.ebay.example.com"},
        {"auth_endpoint": "http://10.0.0.5:8080"},
        {"notification": {"verification_token": TOKEN, "endpoint_url": "http://hub.example.com/x"}},
        {"notification": {"verification_token": "short"}},
        {"notification": {"verification_token": TOKEN + "!"}},
        {"notification": {"verification_token": "b" * 81}},
        {"marketplace_id": "GB"},
        {"marketplace_id": "ebay_gb"},
        {"page_size": 201},
        {"page_size": 0},
        {"credentials": {**BASE["credentials"], "token": "x"}},
        {"credentials": {"client_id": "a", "client_secret": "b"}},
        {"unknown": 1},
    ],
)
def test_what_a_file_may_not_say(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings(**changes)


def test_the_notification_endpoint_is_kept_exactly_as_written() -> None:
    block = {
        "verification_token": "Z9_-" * 8,
        "endpoint_url": "https://Hub.Example.com/webhooks/ebay/gb",
    }
    notification = settings(notification=block).notification
    assert notification is not None
    assert notification.endpoint_url == block["endpoint_url"]
    local = {"verification_token": TOKEN, "endpoint_url": "http://127.0.0.1:8700/webhooks/ebay/gb"}
    assert settings(notification=local).notification is not None


def test_secrets_stay_out_of_the_settings_words() -> None:
    shown = repr(settings(notification={"verification_token": TOKEN}))
    for secret in (*BASE["credentials"].values(), TOKEN):
        assert secret not in shown


def test_the_published_daily_limits_become_rates() -> None:
    limits = EbayConnector.limits_for(settings())
    assert limits["sellInventoryApi"].per_second == pytest.approx(2_000_000 / 86_400)
    assert limits["sellFulfillmentApi"].per_second == pytest.approx(100_000 / 86_400)
    assert limits["commerceNotificationApi"].per_second == pytest.approx(10_000 / 86_400)
    assert limits["oauthRefreshTokenGrant"].per_second == pytest.approx(50_000 / 86_400)
    assert limits["oauthClientCredentialsGrant"].per_second == pytest.approx(1_000 / 86_400)


def test_daily_call_limits_raise_the_apis_the_app_was_granted_more_of() -> None:
    from omnisync.connectors.ebay import client as ops
    from omnisync.connectors.ebay.connector import EbayConnector
    from omnisync.connectors.ebay.settings import DAILY_LIMIT_APIS, EbaySettings

    assert set(DAILY_LIMIT_APIS.values()) == {ops.SELL_INVENTORY, ops.SELL_FULFILLMENT}
    base = {
        "marketplace_id": "EBAY_US",
        "credentials": {"client_id": "a", "client_secret": "b", "refresh_token": "c"},
    }
    default = EbayConnector.limits_for(EbaySettings.model_validate(base))
    granted = EbayConnector.limits_for(
        EbaySettings.model_validate({**base, "daily_call_limits": {"sell.fulfillment": 864_000}})
    )
    assert default[ops.SELL_FULFILLMENT].per_second == pytest.approx(100_000 / 86_400)
    assert granted[ops.SELL_FULFILLMENT].per_second == pytest.approx(10.0)
    assert granted[ops.SELL_FULFILLMENT].burst >= 100
    assert granted[ops.SELL_INVENTORY] == default[ops.SELL_INVENTORY]
    with pytest.raises(ValueError, match="daily_call_limits"):
        EbaySettings.model_validate({**base, "daily_call_limits": {"sell.finances": 5}})
