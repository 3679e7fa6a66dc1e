"""The LABELS contract of the carrier connector (rates and buy_label through karrio's
Rating and Shipment APIs), for UPS and FedEx against the carrier simulator over real
loopback HTTP: quotes, labels in PDF and ZPL whose numbers tracking then finds, the
carrier's refusals in its words, outages retried, a lost or unreadable answer (and a
gateway's 502 or 504) never retried, and DHL refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from omnisync.connectors.base import (
    CAPABILITY_METHODS,
    AuthError,
    Capability,
    Connector,
    PermanentError,
    TransientError,
)
from omnisync.connectors.carriers.connector import CarrierConnector
from omnisync.connectors.carriers.karrio_http import Exchange
from omnisync.connectors.carriers.labels import LabelUncertain, uncertain_label
from omnisync.connectors.carriers.mapping import KarrioAnswer
from omnisync.connectors.carriers.profiles import profile_for
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.core.dto import Address, LabelRequest, Parcel
from omnisync.core.types import ShipmentStatus
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sync.calls import ChannelCalls, RetryPolicy
from omnisync.sync.ratelimit import ChannelLimiter
from tests.support.carrier_labels import buyer, ship_from

LABELLING = ["ups", "fedex"]
SERVICES = {"ups": "ups_ground", "fedex": "fedex_ground"}
SHIP_ENDPOINT = {"ups": "ups.ship", "fedex": "fedex.ship"}
NUMBER_SHAPES = {"ups": ("1Z", 18), "fedex": ("", 12)}
MISSING_CITY = {
    "ups": "ups: 120203: Missing or invalid ship to city",
    "fedex": "fedex: RECIPIENT.ADDRESS.CITY.REQUIRED: The recipient city is required.",
}
UNKNOWN_SERVICE = {"ups": "ups: 111100", "fedex": "fedex: SERVICE.TYPE.INVALID"}


@pytest.fixture(scope="module")
def served() -> Iterator[CarrierSimulator]:
    with CarrierSimulator() as simulator:
        yield simulator


@pytest.fixture
def simulator(served: CarrierSimulator) -> CarrierSimulator:
    served.reset()
    return served


def connector(
    simulator: CarrierSimulator,
    provider: str,
    *,
    labels: bool = True,
    attempts: int = 1,
    **overrides: Any,
) -> CarrierConnector:
    credentials = simulator.credentials(provider)
    if labels:
        credentials |= simulator.label_credentials(provider)
    settings = CarrierSettings.model_validate(
        {
            "provider": provider,
            "endpoint": simulator.url,
            "credentials": credentials,
            "timeout_seconds": 5,
            **overrides,
        }
    )
    policy = RetryPolicy(attempts=attempts, initial=0.01, maximum=0.02)
    calls = ChannelCalls("parcels", ChannelLimiter({}), policy, threading.Event())
    return CarrierConnector(settings, calls=calls)


def parcel_request(
    *, service: str | None = None, label_format: str = "PDF", recipient: Address | None = None
) -> LabelRequest:
    return LabelRequest(
        shipper=ship_from(),
        recipient=recipient or buyer(),
        parcel=Parcel(
            weight_kg=Decimal("1.5"),
            length_cm=Decimal(30),
            width_cm=Decimal(20),
            height_cm=Decimal(10),
        ),
        service=service,
        reference="#1001",
        label_format=label_format,
    )


def test_the_carrier_type_declares_and_implements_labels() -> None:
    assert Capability.LABELS in CarrierConnector.capabilities
    method = CAPABILITY_METHODS[Capability.LABELS]
    assert getattr(CarrierConnector, method) is not getattr(Connector, method)
    assert CarrierConnector.rates is not Connector.rates


@pytest.mark.parametrize("provider", LABELLING)
def test_rates_quote_every_service_cheapest_first(
    simulator: CarrierSimulator, provider: str
) -> None:
    rates = connector(simulator, provider).rates(parcel_request())
    assert len(rates) >= 3
    prices = [rate.price for rate in rates]
    assert all(price is not None and price > 0 for price in prices)
    assert prices == sorted(prices)  # type: ignore[type-var]
    assert {rate.currency for rate in rates} == {"USD"}
    assert rates[0].service == SERVICES[provider]  # ground is the cheapest
    assert all(rate.transit_days is not None and rate.transit_days >= 1 for rate in rates)
    assert simulator.labels() == []  # a quote buys nothing

    (one,) = connector(simulator, provider).rates(parcel_request(service=SERVICES[provider]))
    assert one == rates[0]


@pytest.mark.parametrize("provider", LABELLING)
def test_a_pdf_label_is_bought_and_tracking_knows_its_number(
    simulator: CarrierSimulator, provider: str
) -> None:
    carrier = connector(simulator, provider)
    label = carrier.buy_label(parcel_request(service=SERVICES[provider]))
    prefix, length = NUMBER_SHAPES[provider]
    assert label.tracking_number.startswith(prefix)
    assert len(label.tracking_number) == length
    assert label.label_format == "PDF"
    assert label.label.startswith(b"%PDF-")
    assert label.service == SERVICES[provider]
    assert label.price is None  # a service named: nothing was quoted

    (sold,) = simulator.labels()
    assert sold["tracking_number"] == label.tracking_number
    assert sold["reference"] == "#1001"
    assert sold["shipper"].endswith(", 1 Main St, Louisville KY 40213 US")
    assert sold["recipient"] == "Jane Buyer, 2 Elm St, Chicago IL 60607 US"
    assert Decimal(sold["weight_kg"]) == pytest.approx(Decimal("1.5"), abs=Decimal("0.01"))

    (info,) = carrier.track([label.tracking_number])
    assert info.found
    assert info.status is ShipmentStatus.LABEL_CREATED


@pytest.mark.parametrize("provider", LABELLING)
def test_a_zpl_label_is_zpl_text_with_the_tracking_number(
    simulator: CarrierSimulator, provider: str
) -> None:
    label = connector(simulator, provider).buy_label(
        parcel_request(service=SERVICES[provider], label_format="ZPL")
    )
    assert label.label_format == "ZPL"
    text = label.label.decode("ascii")
    assert text.startswith("^XA")
    assert text.rstrip().endswith("^XZ")
    assert label.tracking_number in text
    assert simulator.labels()[0]["label_format"] in ("ZPL", "ZPLII")


@pytest.mark.parametrize("provider", LABELLING)
def test_a_label_without_a_service_is_the_cheapest_quoted(
    simulator: CarrierSimulator, provider: str
) -> None:
    carrier = connector(simulator, provider)
    cheapest = carrier.rates(parcel_request())[0]
    label = carrier.buy_label(parcel_request())
    assert label.service == cheapest.service
    assert (label.price, label.currency) == (cheapest.price, cheapest.currency)
    assert simulator.labels()[0]["price"] == str(cheapest.price)


@pytest.mark.parametrize("provider", LABELLING)
def test_a_refused_request_is_a_permanent_error_in_the_carriers_words(
    simulator: CarrierSimulator, provider: str
) -> None:
    carrier = connector(simulator, provider, attempts=3)
    no_city = buyer().model_copy(update={"city": ""})
    with pytest.raises(PermanentError) as refused:
        carrier.buy_label(parcel_request(service=SERVICES[provider], recipient=no_city))
    assert MISSING_CITY[provider] in str(refused.value)
    with pytest.raises(PermanentError, match=UNKNOWN_SERVICE[provider]):
        carrier.buy_label(parcel_request(service=f"{provider}_teleport"))
    secrets = {**simulator.credentials(provider), **simulator.label_credentials(provider)}
    assert all(secret not in str(refused.value) for secret in secrets.values())
    assert simulator.labels() == []
    assert simulator.traffic()["requests"][SHIP_ENDPOINT[provider]] == 2  # refusals: no retry


@pytest.mark.parametrize("provider", LABELLING)
def test_an_outage_is_retried_and_the_label_bought_once(
    simulator: CarrierSimulator, provider: str
) -> None:
    simulator.inject(SHIP_ENDPOINT[provider], 503)
    label = connector(simulator, provider, attempts=3).buy_label(
        parcel_request(service=SERVICES[provider])
    )
    assert [sold["tracking_number"] for sold in simulator.labels()] == [label.tracking_number]
    assert simulator.traffic()["requests"][SHIP_ENDPOINT[provider]] == 2


def test_without_retries_an_outage_is_transient(simulator: CarrierSimulator) -> None:
    simulator.inject("ups.ship", 500)
    with pytest.raises(TransientError):
        connector(simulator, "ups").buy_label(parcel_request(service="ups_ground"))


def test_a_refused_cached_token_is_fetched_again(simulator: CarrierSimulator) -> None:
    carrier = connector(simulator, "ups")
    carrier.rates(parcel_request())
    simulator.expire_tokens()
    label = carrier.buy_label(parcel_request(service="ups_ground"))
    assert simulator.labels()[0]["tracking_number"] == label.tracking_number
    assert simulator.tokens_issued("ups") == 2


def test_a_label_request_left_unanswered_is_never_retried() -> None:
    # Its own simulator: the request answered late still sells its label, after the test.
    with CarrierSimulator() as simulator:
        simulator.inject("ups.ship", "timeout", seconds=5.0)
        carrier = connector(simulator, "ups", attempts=4, timeout_seconds=0.3)
        with pytest.raises(LabelUncertain, match="look in the carrier's account"):
            carrier.buy_label(parcel_request(service="ups_ground"))
        assert simulator.traffic()["requests"]["ups.ship"] == 1


@pytest.mark.parametrize("provider", LABELLING)
def test_a_label_answer_that_cannot_be_read_is_never_retried(
    simulator: CarrierSimulator, provider: str
) -> None:
    simulator.inject(SHIP_ENDPOINT[provider], "malformed_json")
    carrier = connector(simulator, provider, attempts=3)
    with pytest.raises(LabelUncertain, match="answered the label request but its answer could"):
        carrier.buy_label(parcel_request(service=SERVICES[provider]))
    assert simulator.traffic()["requests"][SHIP_ENDPOINT[provider]] == 1


@pytest.mark.parametrize("provider", LABELLING)
@pytest.mark.parametrize(("status", "lost"), [(502, True), (504, True), (503, False), (500, False)])
def test_a_gateways_502_or_504_to_a_label_request_may_have_sold_it(
    provider: str, status: int, lost: bool
) -> None:
    profile = profile_for(provider)
    assert profile.label_path is not None
    path = f"/api{profile.label_path}"
    answer = KarrioAnswer(exchanges=(Exchange("POST", path, status),))
    why = uncertain_label(profile, answer)
    assert (why is not None) is lost
    if lost:
        assert why == f"POST {path}: HTTP {status} from a gateway"
    tracking = KarrioAnswer(exchanges=(Exchange("GET", "/api/track/v1/details/1Z", status),))
    assert uncertain_label(profile, tracking) is None


def test_dhl_sells_no_labels(simulator: CarrierSimulator) -> None:
    carrier = connector(simulator, "dhl_universal", labels=False)
    with pytest.raises(PermanentError, match="dhl_universal labels are not supported"):
        carrier.buy_label(parcel_request(service="dhl_paket"))
    with pytest.raises(PermanentError, match="dhl_universal labels are not supported"):
        carrier.rates(parcel_request())
    assert simulator.traffic()["requests"] == {}


@pytest.mark.parametrize(
    ("provider", "missing"),
    [("ups", "account_number"), ("fedex", "api_key, secret_key, account_number")],
)
def test_a_tracking_only_channel_is_told_which_credentials_labels_need(
    simulator: CarrierSimulator, provider: str, missing: str
) -> None:
    with pytest.raises(PermanentError, match=f"labels need the channel's credentials {missing}"):
        connector(simulator, provider, labels=False).buy_label(parcel_request())
    assert simulator.traffic()["requests"] == {}


def test_fedex_rates_and_labels_take_the_ship_api_pair_not_the_track_pair(
    simulator: CarrierSimulator,
) -> None:
    track_pair = simulator.credentials("fedex")
    wrong = {
        "api_key": track_pair["track_api_key"],
        "secret_key": track_pair["track_secret_key"],
        "account_number": simulator.label_credentials("fedex")["account_number"],
    }
    carrier = connector(simulator, "fedex", labels=False, credentials={**track_pair, **wrong})
    with pytest.raises(AuthError, match=r"HTTP 403: FORBIDDEN\.ERROR"):
        carrier.rates(parcel_request())
