"""The Amazon simulator's returns over real HTTP: returns of its own orders made and moved
through `/_control/returns`, and the Reports API 2021-06-30 building
GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE from them on the simulator's clock (IN_QUEUE,
IN_PROGRESS, DONE; CANCELLED with no data; FATAL when asked), its document served at a
presigned URL, the model's rules and rates enforced."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sp_api.api import Reports

from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.amazon.returns_report import COLUMNS
from omnisync.sandbox.clock import ManualClock
from tests.support.amazon_sp_api import clocked_amazon_fixtures, seller_api_fixture, sp_api_client

US = "ATVPDKIKX0DER"
REPORTS = "/reports/2021-06-30/reports"
DOCUMENTS = "/reports/2021-06-30/documents"
RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DELAY = 60.0

clock, running = clocked_amazon_fixtures("amazon-returns-sim", START)
api = seller_api_fixture()


@pytest.fixture
def sim(running: AmazonSimulator, clock: ManualClock) -> AmazonSimulator:
    running.reset()
    clock.set(START)
    running.set_report_delay(DELAY)
    running.report_desk.compress = False
    running.set_listings(
        [
            {"sku": "MUG", "quantity": 10, "price": "12.00", "title": "Mug"},
            {"sku": "LID", "quantity": 10, "price": "3.50"},
        ]
    )
    return running


@pytest.fixture
def control(sim: AmazonSimulator) -> Iterator[httpx.Client]:
    """The simulator's `/_control` routes: no credentials."""
    with httpx.Client(base_url=sim.url + "/_control", timeout=10) as client:
        yield client


def shipped_order(sim: AmazonSimulator, lines: list[tuple[str, int]]) -> str:
    order_id = str(sim.place_order(lines)["AmazonOrderId"])
    sim.ship_order(order_id)
    return order_id


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def create_report(api: httpx.Client, **body: Any) -> httpx.Response:
    wanted = {
        "reportType": RETURNS_REPORT,
        "marketplaceIds": [US],
        "dataStartTime": iso(START - timedelta(days=30)),
        "dataEndTime": iso(START + timedelta(days=1)),
        **body,
    }
    return api.post(REPORTS, json={k: v for k, v in wanted.items() if v is not None})


def report_id_of(api: httpx.Client, **body: Any) -> str:
    answer = create_report(api, **body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reportId"])


def report_of(api: httpx.Client, report_id: str) -> dict[str, Any]:
    answer = api.get(f"{REPORTS}/{report_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def document_text(api: httpx.Client, document_id: str) -> str:
    document = api.get(f"{DOCUMENTS}/{document_id}").json()
    content = httpx.get(document["url"], timeout=10).content
    if document.get("compressionAlgorithm") == "GZIP":
        content = gzip.decompress(content)
    return content.decode("utf-8")


def rows_of(text: str) -> list[dict[str, str]]:
    header, *rows = text.rstrip("\r\n").split("\r\n")
    return [dict(zip(header.split("\t"), row.split("\t"), strict=True)) for row in rows]


# reports ------------------------------------------------------------------------------


def test_a_returns_report_moves_along_the_clock_and_lists_each_returned_sku(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("MUG", 2), ("LID", 1)])
    rma = sim.create_return(order_id, [("MUG", 2), ("LID", 1)], reason="CR-DEFECTIVE")["rma_id"]
    report_id = report_id_of(api)

    queued = report_of(api, report_id)
    clock.advance(timedelta(seconds=DELAY / 2))
    running_report = report_of(api, report_id)
    clock.advance(timedelta(seconds=DELAY / 2))
    done = report_of(api, report_id)

    assert queued["processingStatus"] == "IN_QUEUE"
    assert queued["reportType"] == RETURNS_REPORT
    assert queued["createdTime"] == "2026-11-22T10:00:00+00:00"
    assert "reportDocumentId" not in queued
    assert running_report["processingStatus"] == "IN_PROGRESS"
    assert done["processingStatus"] == "DONE"
    text = document_text(api, done["reportDocumentId"])
    assert text.split("\r\n")[0].split("\t") == list(COLUMNS)
    mug, lid = rows_of(text)
    assert mug["Amazon RMA ID"] == lid["Amazon RMA ID"] == rma
    assert mug["Order ID"] == order_id
    assert mug["Return request date"] == "22-Nov-2026"
    assert mug["Return request status"] == "Approved"
    assert (mug["Merchant SKU"], mug["Return quantity"]) == ("MUG", "2")
    assert (lid["Merchant SKU"], lid["Return quantity"]) == ("LID", "1")
    assert mug["Return Reason"] == "CR-DEFECTIVE"
    assert mug["Resolution"] == "StandardRefund"
    assert mug["Item Name"] == "Mug"
    assert mug["Merchant RMA ID"] == " "
    assert mug["Refunded Amount"] == " "


def test_a_report_lists_only_the_returns_asked_for_in_its_span(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("MUG", 3)])
    sim.create_return(order_id, [("MUG", 1)], requested_at=START - timedelta(days=10))
    recent = sim.create_return(order_id, [("MUG", 1)])["rma_id"]
    report_id = report_id_of(api, dataStartTime=iso(START - timedelta(days=1)))
    clock.advance(timedelta(seconds=DELAY))

    done = report_of(api, report_id)

    rows = rows_of(document_text(api, done["reportDocumentId"]))
    assert [row["Amazon RMA ID"] for row in rows] == [recent]


def test_a_report_with_no_returns_is_cancelled_without_a_document(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    report_id = report_id_of(api)
    clock.advance(timedelta(seconds=DELAY))

    report = report_of(api, report_id)

    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_a_report_asked_to_fail_ends_fatal(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])
    sim.fail_next_report()
    failed, fine = report_id_of(api), report_id_of(api)
    clock.advance(timedelta(seconds=DELAY))

    assert report_of(api, failed)["processingStatus"] == "FATAL"
    assert report_of(api, fine)["processingStatus"] == "DONE"


def test_a_gzipped_document_says_so(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])
    sim.report_desk.compress = True
    report_id = report_id_of(api)
    clock.advance(timedelta(seconds=DELAY))

    document_id = report_of(api, report_id)["reportDocumentId"]
    document = api.get(f"{DOCUMENTS}/{document_id}").json()

    assert document["compressionAlgorithm"] == "GZIP"
    assert len(rows_of(document_text(api, document_id))) == 1


def test_python_amazon_sp_api_reads_the_document(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("LID", 1)])
    rma = sim.create_return(order_id, [("LID", 1)])["rma_id"]
    report_id = report_id_of(api)
    clock.advance(timedelta(seconds=DELAY))
    document_id = report_of(api, report_id)["reportDocumentId"]

    answer = sp_api_client(sim, Reports).get_report_document(document_id, download=True)

    assert answer.character_code.lower().replace("-", "") == "utf8"
    assert rma in answer.payload["document"]


def test_a_document_url_with_a_wrong_signature_is_refused_as_s3_does(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])
    report_id = report_id_of(api)
    clock.advance(timedelta(seconds=DELAY))
    url = api.get(f"{DOCUMENTS}/{report_of(api, report_id)['reportDocumentId']}").json()["url"]

    refused = httpx.get(url.split("?")[0] + "?X-Amz-Signature=forged", timeout=10)

    assert refused.status_code == 403
    assert "<Code>AccessDenied</Code>" in refused.text
    assert httpx.get(url, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"reportType": "GET_MERCHANT_LISTINGS_DATA"}, "not supported here"),
        ({"reportType": None}, "reportType"),
        ({"marketplaceIds": []}, "marketplaceIds"),
        ({"marketplaceIds": ["A1PA6795UKMFR9"]}, "Invalid marketplaceIds"),
        ({"dataStartTime": iso(START - timedelta(days=61))}, "at most 60 days"),
        ({"dataStartTime": "yesterday"}, "ISO 8601"),
        ({"dataStartTime": iso(START + timedelta(days=2))}, "after"),
    ],
)
def test_create_report_refuses_what_the_model_and_amazon_refuse(
    sim: AmazonSimulator, api: httpx.Client, body: dict[str, Any], words: str
) -> None:
    answer = create_report(api, **body)

    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert words in error["message"]


def test_unknown_reports_and_documents_are_404(sim: AmazonSimulator, api: httpx.Client) -> None:
    assert api.get(f"{REPORTS}/70000000999").status_code == 404
    assert api.get(f"{DOCUMENTS}/no-such-document").status_code == 404


def test_only_a_queued_report_can_be_cancelled(
    sim: AmazonSimulator, api: httpx.Client, clock: ManualClock
) -> None:
    queued, started = report_id_of(api), report_id_of(api)
    assert api.delete(f"{REPORTS}/{queued}").status_code == 200
    clock.advance(timedelta(seconds=DELAY / 2))

    refused = api.delete(f"{REPORTS}/{started}")

    assert report_of(api, queued)["processingStatus"] == "CANCELLED"
    assert refused.status_code == 400


def test_create_report_is_held_to_its_published_rate(
    sim: AmazonSimulator, api: httpx.Client
) -> None:
    sim.drain("createReport")

    answer = create_report(api)

    assert answer.status_code == 429
    assert answer.json()["errors"][0]["code"] == "QuotaExceeded"
    assert answer.headers["x-amzn-RateLimit-Limit"] == "16.7"  # 0.0167/s, scaled 1000 times


# returns by hand --------------------------------------------------------------------------


def test_a_buyer_asks_for_a_return_through_the_control_api(
    sim: AmazonSimulator, control: httpx.Client
) -> None:
    order_id = shipped_order(sim, [("MUG", 2)])

    made = control.post(
        "/returns",
        json={"order_id": order_id, "sku": "MUG", "quantity": 2, "reason": "CR-DEFECTIVE"},
    )

    assert made.status_code == 201
    ret = made.json()["return"]
    assert ret["rma_id"].endswith("RMA")
    assert (ret["order_id"], ret["status"], ret["reason"]) == (order_id, "Approved", "CR-DEFECTIVE")
    assert ret["lines"] == [{"sku": "MUG", "quantity": 2}]
    assert control.get("/returns").json()["returns"] == [ret]
    assert sim.snapshot()["returns"] == [ret]


def test_a_return_moves_on_a_step_at_a_time_or_to_a_status_given(
    sim: AmazonSimulator, control: httpx.Client
) -> None:
    order_id = shipped_order(sim, [("MUG", 2), ("LID", 1)])
    first = sim.create_return(order_id, [("MUG", 2)], status="Pending Authorization")["rma_id"]
    second = sim.create_return(order_id, [("LID", 1)])["rma_id"]

    approved = control.post("/returns/status", json={"rma_id": first}).json()["return"]
    completed = control.post("/returns/status", json={"rma_id": first}).json()["return"]
    closed = control.post("/returns/status", json={"rma_id": second, "status": "Closed"})

    assert approved["status"] == "Approved"
    assert completed["status"] == "Completed"
    assert completed["delivered_at"] is not None
    assert completed["refunded"] == {"amount": "24.00", "currency": "USD"}
    assert closed.json()["return"]["status"] == "Closed"
    again = control.post("/returns/status", json={"rma_id": first})
    assert again.status_code == 409
    assert "moves no more" in again.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"order_id": "111-0000000-0000000", "sku": "MUG"}, 404, "not_found"),
        ({"order_id": None, "sku": "MUG"}, 400, "invalid_request"),
        ({"sku": "MUG", "quantity": 3}, 409, "refused"),
        ({"sku": "POT"}, 409, "refused"),
        ({"sku": "MUG", "status": "Escalated"}, 409, "refused"),
        ({"sku": "MUG", "quantity": 0}, 400, "invalid_request"),
    ],
)
def test_a_return_the_order_cannot_take_is_refused(
    sim: AmazonSimulator, control: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    order_id = shipped_order(sim, [("MUG", 2)])

    answer = control.post("/returns", json={"order_id": order_id, **body})

    assert answer.status_code == status
    assert answer.json()["error"] == code


def test_units_not_shipped_or_asked_back_already_cannot_be_returned(
    sim: AmazonSimulator,
) -> None:
    unshipped = str(sim.place_order([("MUG", 1)])["AmazonOrderId"])
    shipped = shipped_order(sim, [("MUG", 2)])
    sim.create_return(shipped, [("MUG", 2)])

    with pytest.raises(ValueError, match="0 shipped"):
        sim.create_return(unshipped, [("MUG", 1)])
    with pytest.raises(ValueError, match="2 asked back"):
        sim.create_return(shipped, [("MUG", 1)])


def test_a_closed_return_gives_its_units_back_to_ask_for(sim: AmazonSimulator) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    rma = sim.create_return(order_id, [("MUG", 1)])["rma_id"]
    sim.set_return_status(rma, "Closed")

    again = sim.create_return(order_id, [("MUG", 1)])

    assert again["rma_id"] != rma


def test_an_unknown_return_is_404(sim: AmazonSimulator, control: httpx.Client) -> None:
    answer = control.post("/returns/status", json={"rma_id": "NOPE"})

    assert answer.status_code == 404
