"""The carrier connector through karrio, over real HTTP against the carrier simulator:
parcels to delivered, unknown numbers, outages retried by the engine's call policy,
refused credentials, secrets kept out of errors and logs, the hub's logging intact."""

from __future__ import annotations

import base64
import logging
import re
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from omnisync.connectors.base import AuthError, Capability, RateLimited, TransientError
from omnisync.connectors.carriers.connector import CarrierConnector
from omnisync.connectors.carriers.karrio_runtime import karrio
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.connectors.registry import connector_for
from omnisync.core.types import ShipmentStatus
from omnisync.hub.settings import ConfigError, load_settings
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.clock import ManualClock
from omnisync.sync.calls import ChannelCalls, RetryPolicy
from omnisync.sync.ratelimit import ChannelLimiter

REPOSITORY = Path(__file__).resolve().parents[2]
STEP = 3600.0
PROVIDERS = ["ups", "fedex", "dhl_universal"]
JOURNEYS = {
    "ups": ["label_created", "in_transit", "out_for_delivery", "delivered"],
    "fedex": ["label_created", "in_transit", "out_for_delivery", "delivered"],
    # DHL's status codes have no out-for-delivery value (see sandbox/carriers/dhl.py).
    "dhl_universal": ["label_created", "in_transit", "in_transit", "delivered"],
}
UNKNOWN = {"ups": "1ZNOTKNOWN00000000", "fedex": "794699999999", "dhl_universal": "1099999999"}
NOT_FOUND_WORDS = {
    "ups": "TW0001: Tracking Information Not Found",
    "fedex": "TRACKING.TRACKINGNUMBER.NOTFOUND: Tracking number cannot be found.",
    "dhl_universal": "404: No shipment with given tracking number found.",
}
TRACK_ENDPOINT = {"ups": "ups.track", "fedex": "fedex.track", "dhl_universal": "dhl.track"}


@pytest.fixture(scope="module")
def served() -> Iterator[CarrierSimulator]:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with CarrierSimulator(seconds_per_step=STEP, clock=clock) as simulator:
        yield simulator


@pytest.fixture
def simulator(served: CarrierSimulator) -> CarrierSimulator:
    served.reset()
    return served


def settings_for(simulator: CarrierSimulator, provider: str, **overrides: Any) -> CarrierSettings:
    values: dict[str, Any] = {
        "provider": provider,
        "endpoint": simulator.url,
        "credentials": simulator.credentials(provider),
        "timeout_seconds": 5,
        **overrides,
    }
    return CarrierSettings.model_validate(values)


def carrier(simulator: CarrierSimulator, provider: str, **overrides: Any) -> CarrierConnector:
    return CarrierConnector(settings_for(simulator, provider, **overrides))


def retrying(attempts: int) -> ChannelCalls:
    policy = RetryPolicy(attempts=attempts, initial=0.01, maximum=0.02)
    return ChannelCalls("parcels", ChannelLimiter({}), policy, threading.Event())


def wrong_credentials(simulator: CarrierSimulator, provider: str) -> dict[str, str]:
    return {name: f"{value}-but-wrong" for name, value in simulator.credentials(provider).items()}


# tracking ----------------------------------------------------------------------------------


def test_the_connector_is_registered_as_a_tracking_and_labels_type() -> None:
    assert connector_for("carrier") is CarrierConnector
    assert CarrierConnector.capabilities == frozenset({Capability.TRACKING, Capability.LABELS})


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_parcel_is_tracked_until_delivered(simulator: CarrierSimulator, provider: str) -> None:
    number = simulator.create_shipment(provider=provider)
    connector = carrier(simulator, provider)
    seen = []
    for _ in JOURNEYS[provider]:
        (info,) = connector.track([number])
        seen.append(info.status.value)
        simulator.advance(STEP)
    assert seen == JOURNEYS[provider]
    assert info.found
    assert len(info.events) == 4
    assert [event.at for event in info.events] == sorted(event.at for event in info.events)
    assert info.events[-1].status is ShipmentStatus.DELIVERED
    assert info.delivered_at == info.events[-1].at
    assert info.tracking_url is not None
    assert number in info.tracking_url


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unknown_number_is_reported_with_the_carriers_words(
    simulator: CarrierSimulator, provider: str
) -> None:
    known = simulator.create_shipment(provider=provider)
    first, second = carrier(simulator, provider).track([UNKNOWN[provider], known])
    assert (first.tracking_number, second.tracking_number) == (UNKNOWN[provider], known)
    assert not first.found
    assert first.status is ShipmentStatus.UNKNOWN
    assert first.message is not None
    assert NOT_FOUND_WORDS[provider] in first.message
    assert second.found
    assert second.status is ShipmentStatus.LABEL_CREATED


def test_exceptions_and_returns_reach_the_hub(simulator: CarrierSimulator) -> None:
    stopped = simulator.create_shipment(provider="ups")
    returned = simulator.create_shipment(provider="ups")
    simulator.advance(STEP)
    simulator.set_outcome(stopped, "exception")
    simulator.set_outcome(returned, "returned_to_sender")
    infos = carrier(simulator, "ups").track([stopped, returned])
    assert [info.status for info in infos] == [
        ShipmentStatus.EXCEPTION,
        ShipmentStatus.RETURNED_TO_SENDER,
    ]
    assert infos[0].events[-1].description.startswith("The receiver was not available")


def test_fedex_takes_thirty_numbers_a_request(simulator: CarrierSimulator) -> None:
    known = simulator.create_shipment(provider="fedex")
    numbers = [f"7947{n:08d}" for n in range(30)] + [known, known]
    infos = carrier(simulator, "fedex").track(numbers)
    assert [info.tracking_number for info in infos] == numbers
    assert [info.found for info in infos] == [False] * 30 + [True, True]
    assert simulator.traffic()["requests"]["fedex.track"] == 2


def test_fewer_numbers_a_request_when_asked_never_more(simulator: CarrierSimulator) -> None:
    assert carrier(simulator, "fedex", numbers_per_request=10).numbers_per_request == 10
    assert carrier(simulator, "ups", numbers_per_request=10).numbers_per_request == 1
    connector = carrier(simulator, "fedex", numbers_per_request=2)
    connector.track(["794700000001", "794700000002", "794700000003"])
    assert simulator.traffic()["requests"]["fedex.track"] == 2


def test_the_token_is_fetched_once_per_channel(simulator: CarrierSimulator) -> None:
    number = simulator.create_shipment(provider="ups")
    first, second = carrier(simulator, "ups"), carrier(simulator, "ups")
    for _ in range(3):
        first.track([number])
    second.track([number])
    assert simulator.tokens_issued("ups") == 2


@pytest.mark.parametrize("provider", ["ups", "fedex"])
def test_a_revoked_token_is_replaced_once(simulator: CarrierSimulator, provider: str) -> None:
    number = simulator.create_shipment(provider=provider)
    connector = carrier(simulator, provider)
    connector.track([number])
    simulator.expire_tokens()
    (info,) = connector.track([number])
    assert info.found
    assert simulator.tokens_issued(provider) == 2


def test_dhl_is_paced_at_its_published_rate_unless_the_channel_says_otherwise(
    simulator: CarrierSimulator,
) -> None:
    assert carrier(simulator, "dhl_universal").rate_limits["track"].per_second == 0.2
    assert (
        carrier(simulator, "dhl_universal", requests_per_second=3).rate_limits["track"].per_second
        == 3
    )
    assert "track" not in carrier(simulator, "ups").rate_limits


# failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_carrier_answering_500_is_a_transient_error(
    simulator: CarrierSimulator, provider: str
) -> None:
    simulator.inject(TRACK_ENDPOINT[provider], 500)
    with pytest.raises(TransientError, match="HTTP 500"):
        carrier(simulator, provider).track([UNKNOWN[provider]])


def test_a_500_is_retried_by_the_engines_call_policy(simulator: CarrierSimulator) -> None:
    number = simulator.create_shipment(provider="ups")
    connector = CarrierConnector(settings_for(simulator, "ups"), calls=retrying(attempts=3))
    simulator.inject("ups.track", 500, count=2)
    (info,) = connector.track([number])
    assert info.found
    assert simulator.traffic()["requests"]["ups.track"] == 3


def test_a_carrier_that_keeps_failing_fails_the_call_after_the_attempts(
    simulator: CarrierSimulator,
) -> None:
    connector = CarrierConnector(settings_for(simulator, "fedex"), calls=retrying(attempts=3))
    simulator.inject("fedex.track", 503, count=10)
    with pytest.raises(TransientError, match=r"HTTP 503.*SERVICE\.UNAVAILABLE\.ERROR"):
        connector.track(["794600000001"])
    assert simulator.traffic()["requests"]["fedex.track"] == 3


def test_a_token_endpoint_outage_is_transient(simulator: CarrierSimulator) -> None:
    simulator.inject("ups.token", 503)
    with pytest.raises(TransientError, match="/security/v1/oauth/token: HTTP 503"):
        carrier(simulator, "ups").track(["1ZSIM0010300000001"])


def test_throttling_carries_the_carriers_wait(simulator: CarrierSimulator) -> None:
    simulator.inject("ups.track", 429, seconds=2)
    with pytest.raises(RateLimited) as raised:
        carrier(simulator, "ups").track(["1ZSIM0010300000001"])
    assert raised.value.retry_after == 2.0


def test_a_carrier_that_does_not_answer_in_time_is_transient(simulator: CarrierSimulator) -> None:
    simulator.inject("fedex.track", "timeout", seconds=3)
    with pytest.raises(TransientError, match="timed out"):
        carrier(simulator, "fedex", timeout_seconds=0.3).track(["794600000001"])


def test_a_carrier_that_cannot_be_reached_is_transient(simulator: CarrierSimulator) -> None:
    connector = carrier(simulator, "ups", endpoint="http://127.0.0.1:9")
    with pytest.raises(TransientError, match="Connection"):
        connector.track(["1ZSIM0010300000001"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_that_is_not_json_is_transient(
    simulator: CarrierSimulator, provider: str
) -> None:
    simulator.inject(TRACK_ENDPOINT[provider], "malformed_json")
    with pytest.raises(TransientError):
        carrier(simulator, provider).track([UNKNOWN[provider]])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_credentials_raise_auth_error_without_the_secrets(
    simulator: CarrierSimulator, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = wrong_credentials(simulator, provider)
    connector = carrier(simulator, provider, credentials=credentials)
    with pytest.raises(AuthError) as raised:
        connector.track([UNKNOWN[provider]])
    assert "401" in str(raised.value)
    words = str(raised.value) + caplog.text
    assert all(value not in words for value in credentials.values())
    (problem,) = connector.check()
    assert problem.startswith("AuthError: ")


def test_a_token_refused_again_after_a_fresh_one_is_the_credentials(
    simulator: CarrierSimulator,
) -> None:
    number = simulator.create_shipment(provider="ups")
    connector = carrier(simulator, "ups")
    connector.track([number])
    simulator.revoke_credentials("ups")
    with pytest.raises(AuthError, match="oauth/token: HTTP 401: 10401: ClientId is Invalid"):
        connector.track([number])
    assert simulator.traffic()["requests"]["ups.track"] == 2  # the old token, then no more


def test_check_passes_with_good_credentials(simulator: CarrierSimulator) -> None:
    assert [carrier(simulator, provider).check() for provider in PROVIDERS] == [[], [], []]


# secrets and logs --------------------------------------------------------------------------


def test_secrets_and_tokens_stay_out_of_the_logs_at_debug(
    simulator: CarrierSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number = simulator.create_shipment(provider="ups")
    connector = carrier(simulator, "ups")
    connector.track([number, UNKNOWN["ups"]])
    credentials = simulator.credentials("ups")
    pair = f"{credentials['client_id']}:{credentials['client_secret']}"
    basic = base64.b64encode(pair.encode()).decode()
    karrio_lines = [r for r in caplog.records if r.name.startswith("karrio")]
    assert karrio_lines  # karrio speaks at DEBUG ...
    for secret in [*credentials.values(), basic, *simulator.gate.issued_tokens()]:
        assert secret not in caplog.text  # ... without the credentials or the tokens


def test_karrio_records_reach_the_hubs_logging_only_at_debug(
    simulator: CarrierSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    connector = carrier(simulator, "ups")
    caplog.set_level(logging.INFO)
    connector.track([UNKNOWN["ups"]])  # karrio logs the 404 as an ERROR, and more at INFO
    assert not [r for r in caplog.records if r.name.startswith(("karrio", "jstruct"))]
    caplog.set_level(logging.DEBUG)
    connector.track([UNKNOWN["ups"]])
    failed = [r for r in caplog.records if r.getMessage() == "HTTP request failed"]
    assert [(r.name, r.levelno) for r in failed] == [("karrio.core.utils.helpers", logging.ERROR)]


@pytest.mark.slow
def test_importing_and_using_karrio_leaves_the_hubs_logging_alone(
    simulator: CarrierSimulator,
) -> None:
    """In a fresh process: karrio's import-time and per-request lines never reach stderr
    at INFO; at DEBUG they come once each, through the hub's handler."""
    script = textwrap.dedent(
        f"""
        import logging, sys
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("HUB %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        before = list(root.handlers)
        from omnisync.connectors.carriers.connector import CarrierConnector
        from omnisync.connectors.carriers.settings import CarrierSettings
        settings = CarrierSettings.model_validate({{
            "provider": "ups", "endpoint": "{simulator.url}",
            "credentials": {simulator.credentials("ups")!r},
        }})
        connector = CarrierConnector(settings)
        connector.track(["1ZNOTKNOWN00000000"])
        print("NOW DEBUG", file=sys.stderr, flush=True)
        root.setLevel(logging.DEBUG)
        connector.track(["1ZNOTKNOWN00000000"])
        assert root.handlers == before, root.handlers
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    quiet, _, chatty = ran.stderr.partition("NOW DEBUG\n")
    assert "karrio" not in quiet.lower()  # the import line and the 404 logged as an ERROR
    assert "\x1b[" not in ran.stderr  # karrio's coloured stderr sink is gone
    lines = chatty.splitlines()
    assert lines.count("HUB karrio.core.utils.helpers: HTTP request failed") == 1  # one 404
    assert "HUB karrio.api.interface: Tracking shipment" in lines
    assert all(line.startswith("HUB ") for line in lines)


def test_karrio_no_longer_turns_certificate_checks_off() -> None:
    karrio()
    assert ssl._create_default_https_context is ssl.create_default_context


# settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"provider": "pigeon"}, "provider", "unknown carrier provider 'pigeon'; installed: "),
        (
            {"provider": "ups", "credentials": {"client_id": "x"}},
            "credentials",
            "ups tracking needs client_secret",
        ),
        (
            {
                "provider": "ups",
                "credentials": {"client_id": "x", "client_secret": "y", "pin": "z"},
            },
            "credentials",
            "unknown ups credential field(s): pin (ups takes client_id, client_secret",
        ),
        (
            {"provider": "fedex", "credentials": {"api_key": "x", "secret_key": "y"}},
            "credentials",
            "fedex tracking needs track_api_key, track_secret_key",
        ),
        (
            {
                "provider": "ups",
                "credentials": {"client_id": "x", "client_secret": "y"},
                "timeout_seconds": 0,
            },
            "timeout_seconds",
            "greater than 0",
        ),
    ],
)
def test_bad_settings_name_the_field(values: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CarrierSettings.model_validate(values)
    (error,) = raised.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"]


def test_a_channel_file_with_a_missing_credential_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "channels").mkdir()
    (tmp_path / "hub.yaml").write_text("")
    channel = tmp_path / "channels" / "ups.yaml"
    channel.write_text("type: carrier\nprovider: ups\ncredentials:\n  client_id: ${UPS_ID}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path, env={"UPS_ID": "an-id"})
    assert raised.value.problems == [
        f"{channel}: credentials: Value error, ups tracking needs client_secret"
    ]


def test_carrier_credentials_are_secrets_the_hub_masks(tmp_path: Path) -> None:
    (tmp_path / "channels").mkdir()
    (tmp_path / "hub.yaml").write_text("")
    (tmp_path / "channels" / "ups.yaml").write_text(
        "type: carrier\nprovider: ups\ncredentials:\n"
        "  client_id: ${UPS_ID}\n  client_secret: ${UPS_SECRET}\n"
    )
    settings = load_settings(tmp_path, env={"UPS_ID": "the-id-1234", "UPS_SECRET": "the-secret-99"})
    assert {"the-id-1234", "the-secret-99"} <= settings.secrets
    assert "the-secret-99" not in repr(settings.channels[0].settings)


@pytest.mark.parametrize(
    ("example", "provider"), [("ups", "ups"), ("fedex", "fedex"), ("dhl", "dhl_universal")]
)
def test_the_commented_examples_are_valid_channel_files(
    tmp_path: Path, example: str, provider: str
) -> None:
    source = REPOSITORY / "config" / "channels" / f"{example}.yaml.example"
    (tmp_path / "channels").mkdir()
    (tmp_path / "hub.yaml").write_text("")
    (tmp_path / "channels" / f"{example}.yaml").write_text(source.read_text())
    variables = re.findall(r"\$\{(\w+)\}", source.read_text())
    (channel,) = load_settings(tmp_path, env={name: f"{name}-value" for name in variables}).channels
    assert channel.type == "carrier"
    assert isinstance(channel.settings, CarrierSettings)
    assert channel.settings.provider == provider
    assert sorted(channel.settings.credentials) == sorted(CarrierSimulator().credentials(provider))
