"""The carrier mapping, pure: karrio's parse of recorded carrier answers, then ours.

Recorded answers (tests/contract/fixtures/carrier) go through karrio's own parser for
the provider, as the connector's calls do; the mapping then turns karrio's objects
and the HTTP exchanges into TrackingInfo or errors.
"""

from __future__ import annotations

import importlib
import json
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from omnisync.connectors.base import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.carriers.gateway import connection_settings
from omnisync.connectors.carriers.karrio_http import Exchange
from omnisync.connectors.carriers.karrio_runtime import karrio
from omnisync.connectors.carriers.mapping import (
    FOLDED_CODES,
    NO_ANSWER,
    STATUS_BY_KARRIO,
    KarrioAnswer,
    call_failure,
    karrio_status,
)
from omnisync.connectors.carriers.mapping import tracking_infos as map_answer
from omnisync.connectors.carriers.profiles import profile_for
from omnisync.connectors.carriers.settings import CarrierSettings
from omnisync.core.dto import TrackingInfo
from omnisync.core.types import ShipmentStatus
from tests.contract.kits import recorded

CREDENTIALS = {
    "ups": {"client_id": "map-ups-id", "client_secret": "map-ups-secret"},
    "fedex": {"track_api_key": "map-fedex-key", "track_secret_key": "map-fedex-secret"},
    "dhl_universal": {"consumer_key": "map-dhl-key", "consumer_secret": "map-dhl-secret"},
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def karrio_parse(provider: str, raw: Any) -> tuple[list[Any], list[Any]]:
    """karrio's parse of a recorded answer, the way its proxy hands the answer over.

    FedEx's parser asks for a proof of delivery for delivered parcels: the settings
    point at a closed loopback port, so that request fails at once (karrio shrugs).
    """
    api = karrio()
    settings = CarrierSettings.model_validate(
        {
            "provider": provider,
            "endpoint": f"http://127.0.0.1:{closed_port()}",
            "credentials": CREDENTIALS[provider],
        }
    )
    mapper = api.providers[provider].Mapper(connection_settings(settings))
    if provider == "ups":  # one (number, body) pair per GET
        answer = api.lib.Deserializable(
            raw, lambda pairs: [(n, api.lib.to_dict(b)) for n, b in pairs]
        )
    elif provider == "dhl_universal":  # one body per GET
        answer = api.lib.Deserializable(raw, lambda bodies: [api.lib.to_dict(b) for b in bodies])
    else:
        answer = api.lib.Deserializable(raw, api.lib.to_dict)
    details, messages = mapper.parse_tracking_response(answer)
    return list(details), list(messages)


def tracking_infos(
    provider: str,
    numbers: list[str],
    details: list[Any],
    messages: list[Any],
    exchanges: list[Exchange] | None = None,
    fault: str | None = None,
) -> list[TrackingInfo]:
    answer = KarrioAnswer(tuple(details), tuple(messages), tuple(exchanges or ()), fault)
    return map_answer(provider, profile_for(provider), numbers, answer)


def failure_of(
    provider: str, exchanges: list[Exchange], messages: list[Any] | None = None
) -> ConnectorError | None:
    answer = KarrioAnswer((), tuple(messages or ()), tuple(exchanges))
    return call_failure(provider, profile_for(provider), answer)


def text(name: str) -> str:
    return json.dumps(recorded("carrier", name))


def message(**fields: Any) -> Any:
    return karrio().models.Message(carrier_name="ups", carrier_id="ups", **fields)


# statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pending", ShipmentStatus.LABEL_CREATED),
        ("picked_up", ShipmentStatus.IN_TRANSIT),
        ("in_transit", ShipmentStatus.IN_TRANSIT),
        ("delivery_delayed", ShipmentStatus.IN_TRANSIT),
        ("out_for_delivery", ShipmentStatus.OUT_FOR_DELIVERY),
        ("ready_for_pickup", ShipmentStatus.OUT_FOR_DELIVERY),
        ("delivered", ShipmentStatus.DELIVERED),
        ("on_hold", ShipmentStatus.EXCEPTION),
        ("delivery_failed", ShipmentStatus.EXCEPTION),
        ("cancelled", ShipmentStatus.EXCEPTION),
        ("return_to_sender", ShipmentStatus.RETURNED_TO_SENDER),
        ("unknown", ShipmentStatus.UNKNOWN),
        (None, ShipmentStatus.UNKNOWN),
        ("a_status_karrio_adds_later", ShipmentStatus.UNKNOWN),
    ],
)
def test_each_karrio_status_maps_to_ours(name: str | None, expected: ShipmentStatus) -> None:
    assert karrio_status(name) is expected


def test_the_table_covers_every_status_karrio_has() -> None:
    karrio()  # karrio imported the connector's way first
    units = importlib.import_module("karrio.core.units")
    assert {member.name for member in units.TrackingStatus} == set(STATUS_BY_KARRIO)


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_every_status_a_carrier_table_gives_is_in_the_table(provider: str) -> None:
    karrio()
    units = importlib.import_module(f"karrio.providers.{provider}.units")
    assert {member.name for member in units.TrackingStatus} <= set(STATUS_BY_KARRIO)


def test_folded_codes_name_known_providers_and_codes_karrio_reads_coarser() -> None:
    assert FOLDED_CODES == {
        ("ups", "OT"): ShipmentStatus.OUT_FOR_DELIVERY,
        ("ups", "RS"): ShipmentStatus.RETURNED_TO_SENDER,
        ("dhl_universal", "pre-transit"): ShipmentStatus.LABEL_CREATED,
    }


# recorded answers -------------------------------------------------------------------------


def test_ups_out_for_delivery_is_read_from_the_code_karrio_folds_into_in_transit() -> None:
    number = "1Z5338FF0107231059"
    details, messages = karrio_parse("ups", [(number, text("ups_track_out_for_delivery.json"))])
    assert details[0].status == "in_transit"  # karrio reads the scan's type "I" first
    (info,) = tracking_infos("ups", [number], details, messages)
    assert info.found
    assert info.status is ShipmentStatus.OUT_FOR_DELIVERY
    assert [event.code for event in info.events] == ["MP", "OR", "DP", "AR", "OT"]
    assert [event.status for event in info.events] == [
        ShipmentStatus.LABEL_CREATED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
    ]
    assert info.events[0].description.startswith("Shipper created a label")
    assert info.events[-1].location == "Secaucus, NJ, 07094, US"
    # karrio drops UPS's gmtOffset and the seconds: the local wall-clock minute, as UTC.
    assert info.events[-1].at == datetime(2026, 3, 3, 7, 45, tzinfo=UTC)
    assert info.delivered_at is None
    assert info.tracking_url is not None
    assert number in info.tracking_url
    assert info.message is None


def test_ups_delivered_parcel_has_its_delivery_time() -> None:
    number = "1Z5338FF0107231060"
    details, messages = karrio_parse("ups", [(number, text("ups_track_delivered.json"))])
    (info,) = tracking_infos("ups", [number], details, messages)
    assert info.status is ShipmentStatus.DELIVERED
    assert info.delivered_at == datetime(2026, 3, 3, 14, 10, tzinfo=UTC)
    assert info.events[-1].status is ShipmentStatus.DELIVERED
    assert info.estimated_delivery == datetime(2026, 3, 3, tzinfo=UTC)


def test_ups_unknown_number_is_not_found_with_the_carriers_words() -> None:
    number = "1Z5338FF0107239999"
    details, messages = karrio_parse("ups", [(number, text("ups_not_found.json"))])
    (info,) = tracking_infos("ups", [number], details, messages)
    assert not info.found
    assert info.status is ShipmentStatus.UNKNOWN
    assert info.message == "TW0001: Tracking Information Not Found"


def test_fedex_answer_gives_each_number_its_own_result() -> None:
    numbers = ["794953535002", "794953535000", "794953535001"]
    details, messages = karrio_parse("fedex", text("fedex_track.json"))
    missing, delivered, stopped = tracking_infos("fedex", numbers, details, messages)

    assert not missing.found
    assert missing.message == (
        "TRACKING.TRACKINGNUMBER.NOTFOUND: Tracking number cannot be found. "
        "Please correct the tracking number and try again."
    )
    assert delivered.status is ShipmentStatus.DELIVERED
    assert [event.code for event in delivered.events] == ["OC", "PU", "AR", "OD", "DL"]
    assert delivered.events[3].status is ShipmentStatus.OUT_FOR_DELIVERY
    assert delivered.delivered_at == datetime(2026, 3, 4, 11, 42, tzinfo=UTC)
    assert delivered.estimated_delivery is None  # the window has an end only
    assert stopped.status is ShipmentStatus.EXCEPTION
    assert stopped.events[-1].description == "Customer not available or business closed"


def test_dhl_pre_transit_is_a_label_and_out_for_delivery_stays_in_transit() -> None:
    details, messages = karrio_parse("dhl_universal", [text("dhl_track.json")])
    (info,) = tracking_infos("dhl_universal", ["00340434292135100186"], details, messages)
    assert [event.status for event in info.events] == [
        ShipmentStatus.LABEL_CREATED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.IN_TRANSIT,
    ]
    # DHL's codes have no out-for-delivery value: only the description says so.
    assert info.status is ShipmentStatus.IN_TRANSIT
    assert info.events[-1].description == "The shipment has been loaded onto the delivery vehicle"
    assert info.estimated_delivery == datetime(2026, 3, 3, tzinfo=UTC)


def test_dhl_unknown_number() -> None:
    details, messages = karrio_parse("dhl_universal", [text("dhl_not_found.json")])
    (info,) = tracking_infos("dhl_universal", ["00340434292135100999"], details, messages)
    assert not info.found
    assert info.message == "404: No shipment with given tracking number found."


# messages go somewhere ----------------------------------------------------------------------


def test_an_error_about_no_number_fails_the_call_as_transient() -> None:
    failure = message(code="SHIPPING_SDK_INTERNAL_ERROR", message="Expecting value: line 1")
    with pytest.raises(TransientError, match="SHIPPING_SDK_INTERNAL_ERROR: Expecting value"):
        tracking_infos("ups", ["1Z5338FF0107231059"], [], [failure])


def test_an_error_about_no_number_after_a_refused_request_is_permanent() -> None:
    refusal = message(
        code="TRACKING.TRACKINGNUMBER.EMPTY", message="Please provide tracking number."
    )
    exchanges = [Exchange("POST", "/track/v1/trackingnumbers", 400)]
    with pytest.raises(PermanentError, match=r"fedex: TRACKING\.TRACKINGNUMBER\.EMPTY"):
        tracking_infos("fedex", ["794953535000", "794953535001"], [], [refusal], exchanges)


def test_what_karrio_raised_fails_the_call() -> None:
    with pytest.raises(TransientError, match="KeyError: 'shipments'"):
        tracking_infos("dhl_universal", ["1000000001"], [], [], fault="KeyError: 'shipments'")


def test_warnings_stay_with_the_parcel() -> None:
    number = "1Z5338FF0107231059"
    details, _ = karrio_parse("ups", [(number, text("ups_track_out_for_delivery.json"))])
    warning = message(code="TW0003", message="Some activity is hidden", level="warning")
    (info,) = tracking_infos("ups", [number], details, [warning])
    assert info.found
    assert info.message == "TW0003: Some activity is hidden"


def test_a_number_the_carrier_says_nothing_about_is_not_found() -> None:
    (info,) = tracking_infos("fedex", ["794953535009"], [], [])
    assert not info.found
    assert info.message == NO_ANSWER


def test_scans_without_a_readable_time_are_counted_in_the_message() -> None:
    models = karrio().models
    detail = models.TrackingDetails(
        carrier_name="ups",
        carrier_id="ups",
        tracking_number="1Z5338FF0107231059",
        status="in_transit",
        events=[
            models.TrackingEvent(date="not a date", code="XX"),
            models.TrackingEvent(date="2026-03-02", timestamp="2026-03-02T18:12:33", code="OR"),
        ],
    )
    (info,) = tracking_infos("ups", ["1Z5338FF0107231059"], [detail], [])
    assert [event.code for event in info.events] == ["OR"]
    assert info.events[0].at == datetime(2026, 3, 2, 18, 12, 33, tzinfo=UTC)  # naive: UTC
    assert info.message == "1 scan(s) without a readable time left out"


# the call's failure ------------------------------------------------------------------------

TOKEN = "/security/v1/oauth/token"
TRACK = "/api/track/v1/details/1Z5338FF0107231059"


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [
        (Exchange("POST", TOKEN, 401), AuthError),
        (Exchange("GET", TRACK, 403), AuthError),
        (Exchange("GET", TRACK, 429, retry_after=7.0), RateLimited),
        (Exchange("GET", TRACK, None, failure="timed out"), TransientError),
        (Exchange("GET", TRACK, None, failure="ConnectionRefusedError: refused"), TransientError),
        (Exchange("GET", TRACK, 500), TransientError),
        (Exchange("GET", TRACK, 503), TransientError),
        (Exchange("GET", TRACK, 408), TransientError),
        (Exchange("POST", TOKEN, 400), PermanentError),
        (Exchange("POST", TOKEN, 404), PermanentError),
    ],
    ids=lambda value: str(getattr(value, "status", value)),
)
def test_how_the_requests_ended_decides_the_error(exchange: Exchange, expected: type) -> None:
    words = [message(code="10401", message="ClientId is Invalid")]
    failure = failure_of("ups", [Exchange("POST", TOKEN, 200), exchange], words)
    assert isinstance(failure, expected)
    assert exchange.path in str(failure)
    assert "10401: ClientId is Invalid" in str(failure)


def test_throttling_says_how_long_to_wait() -> None:
    told = failure_of("ups", [Exchange("GET", TRACK, 429, retry_after=7.0)])
    untold = failure_of("ups", [Exchange("GET", TRACK, 429)])
    assert isinstance(told, RateLimited)
    assert isinstance(untold, RateLimited)
    assert (told.retry_after, untold.retry_after) == (7.0, 1.0)


@pytest.mark.parametrize(
    "exchanges",
    [
        [Exchange("POST", TOKEN, 200), Exchange("GET", TRACK, 200)],
        [Exchange("POST", TOKEN, 200), Exchange("GET", TRACK, 404)],  # the number: not the call
        [Exchange("GET", TRACK, 400)],  # an inquiry number UPS refuses: that number's
    ],
)
def test_answers_about_numbers_are_not_the_calls_failure(exchanges: list[Exchange]) -> None:
    assert failure_of("ups", exchanges) is None


def test_fedex_refusing_karrios_tokenless_proof_of_delivery_request_is_no_failure() -> None:
    exchanges = [
        Exchange("POST", "/oauth/token", 200),
        Exchange("POST", "/track/v1/trackingnumbers", 200),
        Exchange("POST", "/track/v1/trackingdocuments", 401),
    ]
    assert failure_of("fedex", exchanges) is None
