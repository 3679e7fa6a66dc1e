"""The carrier simulator over real HTTP: each carrier's OAuth and tracking endpoints, in
the carriers' own shapes, with parcels that move and faults that answer in dialect."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from omnisync.sandbox.carriers import CarrierSimulator, CarrierSimulatorError
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.registry import simulator_for
from tests.support.simulators import served_fixtures

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEP = 3600.0


served_simulator, simulator = served_fixtures(
    "simulator", lambda: CarrierSimulator(seconds_per_step=STEP, clock=ManualClock(START))
)


@pytest.fixture
def http(served_simulator: CarrierSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_simulator.url, timeout=5.0) as client:
        yield client


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ups_token(http: httpx.Client, simulator: CarrierSimulator) -> str:
    account = simulator.credentials("ups")
    answer = http.post(
        "/security/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(account["client_id"], account["client_secret"])},
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def ups_track(http: httpx.Client, token: str, number: str) -> httpx.Response:
    return http.get(
        f"/api/track/v1/details/{number}",
        params={"locale": "en_US"},
        headers={"Authorization": f"Bearer {token}", "transId": "t-1", "transactionSrc": "tests"},
    )


def fedex_token(http: httpx.Client, simulator: CarrierSimulator) -> str:
    account = simulator.credentials("fedex")
    answer = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": account["track_api_key"],
            "client_secret": account["track_secret_key"],
        },
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def fedex_track(http: httpx.Client, token: str, numbers: list[str]) -> httpx.Response:
    body = {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
    }
    return http.post(
        "/track/v1/trackingnumbers", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def dhl_track(http: httpx.Client, number: str, key: str = "fake-dhl-api-key") -> httpx.Response:
    return http.get(
        "/track/shipments", params={"trackingNumber": number}, headers={"DHL-API-Key": key}
    )


# UPS ---------------------------------------------------------------------------------------


def test_ups_token_answer_has_upss_fields(simulator: CarrierSimulator, http: httpx.Client) -> None:
    account = simulator.credentials("ups")
    answer = http.post(
        "/security/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(account["client_id"], account["client_secret"])},
    ).json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == "14399"
    assert answer["status"] == "approved"
    assert answer["issued_at"].isdigit()
    assert simulator.tokens_issued("ups") == 1


@pytest.mark.parametrize(
    "authorization",
    [basic("fake-ups-client-id", "wrong"), basic("someone", "fake-ups-client-secret"), None],
)
def test_ups_refuses_other_client_credentials(
    simulator: CarrierSimulator, http: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = http.post(
        "/security/v1/oauth/token", data={"grant_type": "client_credentials"}, headers=headers
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "response": {"errors": [{"code": "10401", "message": "ClientId is Invalid"}]}
    }


def test_ups_parcel_moves_one_step_per_interval(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    number = simulator.create_shipment(provider="ups")
    token = ups_token(http, simulator)
    seen = []
    for _ in range(5):
        package = ups_track(http, token, number).json()["trackResponse"]["shipment"][0]["package"][
            0
        ]
        seen.append([activity["status"]["code"] for activity in package["activity"]])
        simulator.advance(STEP)
    assert seen == [
        ["MP"],
        ["DP", "MP"],
        ["OT", "DP", "MP"],
        ["KB", "OT", "DP", "MP"],
        ["KB", "OT", "DP", "MP"],
    ]
    assert package["deliveryDate"] == [{"type": "DEL", "date": "20260302"}]
    assert package["activity"][0]["status"]["type"] == "D"
    # Moved four steps on from a 09:00 label: delivered three steps after it, at 08:00
    # by a clock that did not move (the parcel's history moved back instead).
    assert package["activity"][0]["time"] == "080000"


def test_ups_unknown_and_malformed_numbers(simulator: CarrierSimulator, http: httpx.Client) -> None:
    token = ups_token(http, simulator)
    unknown = ups_track(http, token, "1ZNOTKNOWN00000000")
    short = ups_track(http, token, "1Z12")
    assert unknown.status_code == 404
    assert unknown.json()["response"]["errors"] == [
        {"code": "TW0001", "message": "Tracking Information Not Found"}
    ]
    assert short.status_code == 400
    assert short.json()["response"]["errors"][0]["code"] == "TV1002"


def test_ups_tracking_wants_a_token_it_issued(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    number = simulator.create_shipment(provider="ups")
    token = ups_token(http, simulator)
    assert ups_track(http, token, number).status_code == 200
    simulator.expire_tokens()
    refused = ups_track(http, token, number)
    assert refused.status_code == 401
    assert refused.json()["response"]["errors"][0]["code"] == "250002"
    assert ups_track(http, "made-up", number).status_code == 401


def test_ups_wants_the_transaction_headers(simulator: CarrierSimulator, http: httpx.Client) -> None:
    number = simulator.create_shipment(provider="ups")
    token = ups_token(http, simulator)
    answer = http.get(
        f"/api/track/v1/details/{number}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 400


# FedEx -------------------------------------------------------------------------------------


def test_fedex_answers_each_number_in_the_order_asked(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    known = simulator.create_shipment(provider="fedex")
    token = fedex_token(http, simulator)
    answer = fedex_track(http, token, ["794699999999", known]).json()
    unknown_result, known_result = answer["output"]["completeTrackResults"]
    assert unknown_result["trackingNumber"] == "794699999999"
    assert unknown_result["trackResults"][0]["error"]["code"] == "TRACKING.TRACKINGNUMBER.NOTFOUND"
    track = known_result["trackResults"][0]
    assert track["latestStatusDetail"]["code"] == "OC"
    assert [event["eventType"] for event in track["scanEvents"]] == ["OC"]
    assert track["scanEvents"][0]["date"] == "2026-03-02T09:00:00+00:00"


def test_fedex_takes_thirty_numbers_at_most(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    token = fedex_token(http, simulator)
    assert fedex_track(http, token, [f"7946{n:08d}" for n in range(30)]).status_code == 200
    refused = fedex_track(http, token, [f"7946{n:08d}" for n in range(31)])
    assert refused.status_code == 400
    assert fedex_track(http, token, []).json()["errors"][0]["code"] == (
        "TRACKING.TRACKINGNUMBER.EMPTY"
    )


def test_fedex_refuses_wrong_credentials_and_tokenless_requests(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    wrong = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["code"] == "NOT.AUTHORIZED.ERROR"
    assert "transactionId" in wrong.json()
    assert fedex_track(http, "made-up", ["794600000001"]).status_code == 401
    # karrio asks for the proof of delivery without a token; FedEx wants one.
    assert http.post("/track/v1/trackingdocuments", json={}).status_code == 401


def test_fedex_outcomes(simulator: CarrierSimulator, http: httpx.Client) -> None:
    stopped = simulator.create_shipment(provider="fedex")
    returned = simulator.create_shipment(provider="fedex")
    simulator.advance(STEP)
    simulator.set_outcome(stopped, "exception")
    simulator.set_outcome(returned, "returned_to_sender")
    simulator.advance(10 * STEP)  # a stopped parcel goes nowhere
    token = fedex_token(http, simulator)
    results = fedex_track(http, token, [stopped, returned]).json()["output"]["completeTrackResults"]
    codes = [[e["eventType"] for e in r["trackResults"][0]["scanEvents"]] for r in results]
    assert codes == [["DE", "IT", "OC"], ["RS", "IT", "OC"]]
    assert simulator.status_of(stopped) == "exception"
    assert simulator.status_of(returned) == "returned_to_sender"


# DHL ---------------------------------------------------------------------------------------


def test_dhl_answers_with_its_status_codes(simulator: CarrierSimulator, http: httpx.Client) -> None:
    number = simulator.create_shipment(provider="dhl_universal")
    codes = []
    for _ in range(4):
        shipment = dhl_track(http, number).json()["shipments"][0]
        codes.append(shipment["status"]["statusCode"])
        simulator.advance(STEP)
    assert codes == ["pre-transit", "transit", "transit", "delivered"]
    assert shipment["id"] == number
    assert shipment["details"]["proofOfDelivery"]["signed"]["name"] == "SIMULATED CUSTOMER"


def test_dhl_problems(simulator: CarrierSimulator, http: httpx.Client) -> None:
    unknown = dhl_track(http, "1099999999")
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "No result found"
    assert unknown.json()["detail"] == "No shipment with given tracking number found."
    refused = dhl_track(http, "1099999999", key="not-the-key")
    assert refused.status_code == 401
    assert refused.json()["status"] == 401


def test_a_parcel_is_known_to_its_own_carrier_only(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    number = simulator.create_shipment(tracking_number="1234567890", provider="ups")
    assert dhl_track(http, number).status_code == 404


# faults ------------------------------------------------------------------------------------


def test_faults_answer_in_the_dialect_of_the_endpoint(
    simulator: CarrierSimulator, http: httpx.Client
) -> None:
    simulator.inject("fedex.track", 500)
    simulator.inject("dhl.track", 503)
    simulator.inject("ups.track", 429, seconds=3)
    token = fedex_token(http, simulator)
    fedex_answer = fedex_track(http, token, ["794600000001"])
    dhl_answer = dhl_track(http, "1000000001")
    ups_answer = ups_track(http, ups_token(http, simulator), "1ZSIM0010300000001")
    assert fedex_answer.status_code == 500
    assert fedex_answer.json()["errors"][0]["code"] == "INTERNAL.SERVER.ERROR"
    assert dhl_answer.status_code == 503
    assert dhl_answer.json()["status"] == 503
    assert ups_answer.status_code == 429
    assert ups_answer.headers["Retry-After"] == "3"
    assert ups_answer.json()["response"]["errors"][0]["code"] == "429"
    assert simulator.traffic()["faults_served"] == {"500": 1, "503": 1, "429": 1}


def test_a_fault_for_every_endpoint(simulator: CarrierSimulator, http: httpx.Client) -> None:
    simulator.inject("*", "malformed_json", count=2)
    assert dhl_track(http, "1000000001").status_code == 200
    answer = http.post("/oauth/token", data={"grant_type": "client_credentials"})
    with pytest.raises(ValueError, match="Unterminated string"):
        answer.json()


# control -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda s: s.create_shipment(provider="usps"), "unknown provider"),
        (lambda s: s.create_shipment(tracking_number=" "), "must not be empty"),
        (lambda s: s.create_shipment(seconds_per_step=0), "positive"),
        (lambda s: s.set_outcome("1ZNOPE", "exception"), "unknown tracking number"),
        (lambda s: s.set_outcome(s.create_shipment(), "lost"), "unknown outcome"),
        (lambda s: s.advance(-1), "non-negative"),
        (lambda s: s.credentials("usps"), "unknown provider"),
    ],
)
def test_control_refusals(simulator: CarrierSimulator, call: Any, words: str) -> None:
    with pytest.raises(CarrierSimulatorError, match=words):
        call(simulator)


def test_numbers_are_unique_and_in_each_carriers_format(simulator: CarrierSimulator) -> None:
    ups = simulator.create_shipment(provider="ups")
    fedex = simulator.create_shipment(provider="fedex")
    dhl = simulator.create_shipment(provider="dhl_universal")
    assert (ups[:2], len(ups)) == ("1Z", 18)
    assert (fedex.isdigit(), len(fedex)) == (True, 12)
    assert (dhl.isdigit(), len(dhl)) == (True, 10)
    with pytest.raises(CarrierSimulatorError, match="already exists"):
        simulator.create_shipment(tracking_number=ups)


def test_a_delivered_parcel_takes_no_outcome(simulator: CarrierSimulator) -> None:
    number = simulator.create_shipment(seconds_per_step=60)
    simulator.advance(180, number)
    assert simulator.status_of(number) == "delivered"
    with pytest.raises(CarrierSimulatorError, match="delivered already"):
        simulator.set_outcome(number, "exception")


def test_the_demo_finds_the_carrier_simulator() -> None:
    assert simulator_for("carrier") is CarrierSimulator
