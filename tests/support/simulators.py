"""Simulated channels for tests: one server per test module, reset for each test; and an
Amazon connector signed in to the Amazon simulator.

Starting a simulator binds a port and starts a server thread, so a module serves each one
once. `served_fixtures` gives the module's fixture `served_<name>` (the server, started
at the first test that needs it and stopped after the module's last) and the per-test
fixture `<name>`: the same server reset first, so a test never sees what the one before
left (catalogue, orders, queued faults, counters, a drained rate limiter), then prepared
as every test of the module needs it. What reset keeps (the simulator's clock, a rate
limit a test changed) is the module's to put back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from omnisync.connectors.amazon.connector import AmazonConnector
from omnisync.connectors.amazon.settings import AmazonSettings
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.base import SimulatedMarketplace

S = TypeVar("S", bound=SimulatedMarketplace)


def served_fixtures(
    name: str, start: Callable[[], S], *, prepare: Callable[[S], object] | None = None
) -> tuple[object, object]:
    """The fixtures `served_<name>` (module scope: the simulator `start` makes, served) and
    `<name>` (per test: that simulator reset, then given to `prepare`). Assign them to
    the same names in the test module: `served_amazon, amazon = served_fixtures("amazon",
    ...)`."""
    served_name = f"served_{name}"

    @pytest.fixture(scope="module", name=served_name)
    def served() -> Iterator[S]:
        with start() as simulator:
            yield simulator

    @pytest.fixture(name=name)
    def reset(request: pytest.FixtureRequest) -> S:
        simulator: S = request.getfixturevalue(served_name)
        simulator.reset()
        if prepare is not None:
            prepare(simulator)
        return simulator

    return served, reset


def amazon_connector(simulator: AmazonSimulator, **overrides: Any) -> AmazonConnector:
    """A connector for the simulator's seller on the US marketplace, signed in with the
    simulator's credentials; `overrides` go on top of those settings."""
    credentials = simulator.credentials
    settings = AmazonSettings.model_validate(
        {
            "marketplace": "US",
            "seller_id": simulator.seller_id,
            "endpoint": simulator.endpoint,
            "lwa_endpoint": simulator.lwa_url,
            "credentials": {
                "refresh_token": credentials.refresh_token,
                "lwa_app_id": credentials.client_id,
                "lwa_client_secret": credentials.client_secret,
            },
            **overrides,
        }
    )
    return AmazonConnector(settings)
