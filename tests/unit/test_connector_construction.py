"""Connectors are built complete (connectors/base.py): their settings class comes from the
type parameter, and the call policy, hub locations and clock are given at construction."""

from __future__ import annotations

from typing import Any

import pytest

from omnisync.connectors.amazon.connector import PUBLISHED_LIMITS, AmazonConnector
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.connectors.base import Connector, ConnectorSettings, DirectCalls, RateLimit
from omnisync.connectors.carriers.connector import CarrierConnector
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.connectors.registry import connector_for
from omnisync.connectors.sandbox.connector import SandboxConnector
from omnisync.connectors.sandbox.settings import SandboxSettings
from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings

SANDBOX = {"endpoint": "http://127.0.0.1:9", "api_key": "sandbox-key-77"}


@pytest.mark.parametrize(
    ("cls", "settings"),
    [
        (SandboxConnector, SandboxSettings),
        (ShopifyConnector, ShopifySettings),
        (AmazonConnector, AmazonSettings),
        (CarrierConnector, CarrierSettings),
    ],
)
def test_the_settings_class_is_the_one_the_connector_is_typed_with(
    cls: type[Connector], settings: type[ConnectorSettings]
) -> None:
    assert cls.Settings is settings
    assert connector_for(cls.channel_type) is cls


def test_a_connector_keeps_what_it_was_built_with() -> None:
    calls = DirectCalls()
    connector = SandboxConnector(
        SandboxSettings.model_validate(SANDBOX),
        calls=calls,
        hub_locations={"main": "Main"},
        clock=lambda: 42.0,
    )
    assert connector.calls is calls
    assert connector.hub_locations == {"main": "Main"}
    assert connector.clock() == 42.0
    connector.close()


def test_built_with_nothing_but_settings_it_calls_directly() -> None:
    connector = SandboxConnector(SandboxSettings.model_validate(SANDBOX))
    assert isinstance(connector.calls, DirectCalls)
    assert connector.hub_locations == {}
    connector.close()


def sandbox_limits(**settings: Any) -> dict[str, RateLimit]:
    return SandboxConnector.limits_for(SandboxSettings.model_validate({**SANDBOX, **settings}))


def test_the_limits_are_known_before_the_connector_is_built() -> None:
    # The engine throttles with these before it builds the connector; the connector's
    # own view is the same.
    assert sandbox_limits(requests_per_second=4, burst=8) == {"api": RateLimit(4, 8)}
    connector = SandboxConnector(
        SandboxSettings.model_validate({**SANDBOX, "requests_per_second": 4, "burst": 8})
    )
    assert connector.rate_limits == {"api": RateLimit(4, 8)}
    connector.close()


def test_a_type_without_limits_in_its_settings_is_throttled_to_its_published_ones() -> None:
    settings = AmazonSettings.model_validate(
        {
            "marketplace": "US",
            "seller_id": "A2CONSTRUCTION01",
            "credentials": {
                "refresh_token": "construction-refresh-token",
                "lwa_app_id": "amzn1.application-oa2-client.construction",
                "lwa_client_secret": "amzn1.oa2-cs.v1.construction-secret",
            },
        }
    )
    assert AmazonConnector.limits_for(settings) == PUBLISHED_LIMITS
