"""The Amazon simulator as a test module's SP-API: a simulator on a clock the tests step,
a client signed in as its seller, and python-amazon-sp-api's clients pointed at it.

Written once because every module that tests the simulator over HTTP needs the same
set-up, and a copy per module drifts (a timeout here, a header there). As with
`served_fixtures`, the fixture factories give fixtures to assign to names in the test
module (`clock, running = clocked_amazon_fixtures(...)`, `api = seller_api_fixture()`);
the module keeps its own per-test `sim` fixture (reset, then its catalogue), which the
seller's client is made from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import ManualClock

RATE_SCALE = 1000
"""Amazon's limits a thousand times faster: a test drains a bucket on purpose or not at all."""
SETTLE = timedelta(minutes=3)
"""More than Amazon's two minutes: an order older than that can be listed."""


def clocked_amazon_fixtures(name: str, start: datetime, **options: Any) -> tuple[object, object]:
    """The module fixtures `clock` (a ManualClock at `start`: the simulator's time, rate
    limits included, so a bucket refills only when a test says so) and `running` (an
    AmazonSimulator called `name` on that clock at `RATE_SCALE`, served for the module;
    `options` go to the simulator as well)."""

    @pytest.fixture(scope="module", name="clock")
    def clock() -> ManualClock:
        return ManualClock(start)

    @pytest.fixture(scope="module", name="running")
    def running(clock: ManualClock) -> Iterator[AmazonSimulator]:
        with AmazonSimulator(name=name, rate_scale=RATE_SCALE, clock=clock, **options) as sim:
            yield sim

    return clock, running


def seller_api_fixture(name: str = "api", timeout: float = 10.0) -> object:
    """The per-test fixture `name`: an httpx client of the module's `sim` fixture's
    SP-API, with the seller's access token."""

    @pytest.fixture(name=name)
    def api(sim: AmazonSimulator) -> Iterator[httpx.Client]:
        headers = {"x-amz-access-token": sim.access_token()}
        with httpx.Client(base_url=sim.url, headers=headers, timeout=timeout) as client:
            yield client

    return api


def settle(clock: ManualClock) -> None:
    """Move past Amazon's two minutes, so what happened so far can be listed."""
    clock.advance(SETTLE)


def sp_api_client(sim: AmazonSimulator, api: Any) -> Any:
    """A python-amazon-sp-api client of type `api` (Orders, Notifications, ...) for the
    US marketplace, pointed at the simulator: its SP-API endpoint and its LWA server,
    signed in with the seller's credentials."""
    scheme, host = sim.url.split("://")

    class SimulatorLwa(AccessTokenClient):  # type: ignore[misc]
        pass

    SimulatorLwa.scheme = scheme + "://"
    SimulatorLwa.host = host
    credentials = {
        "refresh_token": sim.credentials.refresh_token,
        "lwa_app_id": sim.credentials.client_id,
        "lwa_client_secret": sim.credentials.client_secret,
    }
    made = api(Marketplaces.US, credentials=credentials, auth_token_client_class=SimulatorLwa)
    made.endpoint = sim.endpoint
    return made
