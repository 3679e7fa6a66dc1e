"""The Amazon connector's returns against the Amazon simulator over real HTTP: a return
asked for on Amazon comes in from the returns report (Reports API 2021-06-30), reading it
again gives the same return, and the report is waited for on the connector's clock, which
here is the simulator's manual clock moved by the call policy's pauses: no test sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from omnisync.connectors.amazon.connector import PUBLISHED_LIMITS, AmazonConnector
from omnisync.connectors.amazon.returns_report import RETURNS_REPORT
from omnisync.connectors.base import TransientError
from omnisync.core.dto import ReturnPage
from omnisync.core.types import RefundState, ReturnAction, ReturnStatus
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import ManualClock
from omnisync.sandbox.reference import USAGE_PLAN_KEY, amazon_model
from tests.support.simulators import amazon_connector

T = TypeVar("T")

REPORT_DELAY = 30.0
CATALOGUE = [
    {"sku": "MUG", "quantity": 10, "price": "12.00"},
    {"sku": "LID", "quantity": 10, "price": "3.50"},
]


class ClockedCalls:
    """A CallPolicy that runs each request once, records it, and waits by moving the
    simulator's manual clock (which is the connector's monotonic clock too)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.operations: list[str] = []
        self.pauses: list[float] = []
        self.report_statuses: list[str] = []

    def forget(self) -> None:
        self.operations.clear()
        self.pauses.clear()
        self.report_statuses.clear()

    def call(self, operation: str, request: Callable[[], T]) -> T:
        self.operations.append(operation)
        result = request()
        if operation == "getReport":
            self.report_statuses.append(getattr(result, "payload", {})["processingStatus"])
        return result

    def observe_limit(self, operation: str, per_second: float) -> None:
        return None

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The simulator's time, an hour behind the wall clock the connector reads `now` from,
    so the seconds the tests move it on never take it past the reports' end."""
    return ManualClock(datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture(scope="module")
def running(clock: ManualClock) -> Iterator[AmazonSimulator]:
    with AmazonSimulator(
        name="amazon-returns", rate_scale=1000, report_delay=REPORT_DELAY, clock=clock
    ) as sim:
        yield sim


@pytest.fixture
def sim(running: AmazonSimulator) -> AmazonSimulator:
    running.reset()
    running.set_report_delay(REPORT_DELAY)
    running.set_listings(CATALOGUE)
    return running


@pytest.fixture(scope="module")
def module_calls(clock: ManualClock) -> ClockedCalls:
    return ClockedCalls(clock)


@pytest.fixture
def calls(module_calls: ClockedCalls) -> ClockedCalls:
    module_calls.forget()
    return module_calls


@pytest.fixture(scope="module")
def module_connector(
    running: AmazonSimulator, module_calls: ClockedCalls
) -> Iterator[AmazonConnector]:
    """One connector for the module (making one costs a few library clients)."""
    made = connector_for(running, module_calls)
    yield made
    made.close()


@pytest.fixture
def connector(
    sim: AmazonSimulator, calls: ClockedCalls, module_connector: AmazonConnector
) -> AmazonConnector:
    return module_connector


def connector_for(sim: AmazonSimulator, calls: ClockedCalls, **overrides: Any) -> AmazonConnector:
    """The simulator's seller, polling reports at most every 5 s of the manual clock."""
    signed_in = amazon_connector(sim, report_poll_seconds=5, **overrides)
    signed_in.close()  # its settings are what is wanted, with this call policy and clock
    return AmazonConnector(signed_in.settings, calls=calls, clock=sim.clock.monotonic)


def shipped_order(sim: AmazonSimulator, lines: list[tuple[str, int]]) -> str:
    order_id = str(sim.place_order(lines)["AmazonOrderId"])
    sim.ship_order(order_id)
    return order_id


def only_page(connector: AmazonConnector, since: datetime | None = None) -> ReturnPage:
    (page,) = list(connector.fetch_returns(since))
    return page


def test_a_return_asked_for_on_amazon_comes_in_from_the_returns_report(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 2), ("LID", 1)])
    asked = sim.create_return(order_id, [("MUG", 2), ("LID", 1)], reason="CR-DEFECTIVE")
    before = datetime.now(UTC)

    page = only_page(connector)

    assert page.rejected == ()
    (ret,) = page.returns
    assert ret.external_id == asked["rma_id"]
    assert ret.order_external_id == order_id
    assert (ret.status, ret.channel_status) == (ReturnStatus.APPROVED, "Approved")
    assert ret.tracking_number == asked["tracking_id"]
    assert ret.refund_state == RefundState.PENDING
    assert [(line.channel_sku, line.quantity) for line in ret.lines] == [("MUG", 2), ("LID", 1)]
    assert all(line.order_external_line_id is None for line in ret.lines)
    (report,) = sim.reports()
    assert report["reportType"] == RETURNS_REPORT
    end = datetime.fromisoformat(report["dataEndTime"])
    start = datetime.fromisoformat(report["dataStartTime"])
    assert end - start == timedelta(days=60)
    assert abs(end - before) < timedelta(minutes=1)
    assert page.cursor == end


def test_reading_the_report_twice_gives_the_same_return(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])

    first = only_page(connector).returns
    again = only_page(connector).returns

    assert first == again
    assert len(sim.reports()) == 2


def test_the_report_is_waited_for_on_the_connectors_clock_until_it_is_done(
    sim: AmazonSimulator, connector: AmazonConnector, calls: ClockedCalls
) -> None:
    order_id = shipped_order(sim, [("LID", 1)])
    sim.create_return(order_id, [("LID", 1)])

    page = only_page(connector)

    assert len(page.returns) == 1
    statuses = calls.report_statuses
    assert statuses[0] == "IN_QUEUE"
    assert "IN_PROGRESS" in statuses
    assert statuses[-1] == "DONE"
    assert statuses.count("DONE") == 1
    assert calls.pauses[0] == 1.0
    assert max(calls.pauses) <= 5
    assert REPORT_DELAY <= sum(calls.pauses) < REPORT_DELAY + 5
    assert calls.operations[0] == "createReport"
    assert calls.operations[-2:] == ["getReportDocument", "reportDocumentDownload"]


def test_a_report_amazon_cancels_for_want_of_data_is_a_page_without_returns(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    page = only_page(connector)

    assert page.returns == ()
    assert page.rejected == ()
    assert page.cursor is not None
    (report,) = sim.reports()
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_a_fatal_report_fails_the_read_naming_the_report(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    sim.fail_next_report()

    with pytest.raises(TransientError) as failed:
        only_page(connector)

    (report,) = sim.reports()
    assert report["processingStatus"] == "FATAL"
    assert f"report {report['reportId']}" in str(failed.value)
    assert "FATAL" in str(failed.value)


def test_a_report_not_done_in_time_fails_the_read(
    sim: AmazonSimulator, calls: ClockedCalls
) -> None:
    sim.set_report_delay(3600)
    connector = connector_for(sim, calls, report_timeout_seconds=20)

    with pytest.raises(TransientError, match=r"still IN_(QUEUE|PROGRESS) after 20s"):
        only_page(connector)
    connector.close()

    assert 20 <= sum(calls.pauses) < 25


def test_a_completed_return_reads_refunded_newer_and_still_open(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 2)])
    rma = sim.create_return(order_id, [("MUG", 2)])["rma_id"]
    (approved,) = only_page(connector).returns

    sim.advance_return(rma)
    (completed,) = only_page(connector).returns

    assert completed.channel_status == "Completed"
    assert completed.status == ReturnStatus.APPROVED
    assert completed.status.is_open
    assert completed.refund_state == RefundState.REFUNDED
    assert completed.raw != approved.raw  # the same day: the rows say what changed
    assert (completed.raw or {})["rows"][0]["Refunded Amount"] == "24.00"


def test_a_gzipped_report_document_reads_the_same(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])
    plain = only_page(connector).returns
    sim.report_desk.compress = True

    zipped = only_page(connector).returns

    assert zipped == plain
    document_id = sim.reports()[-1]["reportDocumentId"]
    document = sim.report_desk.documents.get(document_id)
    assert document is not None
    assert document.compression == "GZIP"


def test_returns_asked_for_long_ago_are_read_in_reports_of_60_days_at_most(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    now = datetime.now(UTC)
    order_id = shipped_order(sim, [("MUG", 2)])
    sim.create_return(order_id, [("MUG", 1)], requested_at=now - timedelta(days=90))
    sim.create_return(order_id, [("MUG", 1)], requested_at=now - timedelta(days=2))

    pages = list(connector.fetch_returns(now - timedelta(days=100)))

    assert [len(page.returns) for page in pages] == [1, 1]
    old, recent = sim.reports()
    assert old["dataEndTime"] == recent["dataStartTime"]
    spans = [
        datetime.fromisoformat(report["dataEndTime"])
        - datetime.fromisoformat(report["dataStartTime"])
        for report in (old, recent)
    ]
    assert spans[0] == timedelta(days=60)
    assert spans[1] < timedelta(days=60)
    assert [page.cursor for page in pages] == [
        datetime.fromisoformat(old["dataEndTime"]),
        datetime.fromisoformat(recent["dataEndTime"]),
    ]


def test_a_recent_since_still_reads_the_whole_window(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)], requested_at=datetime.now(UTC) - timedelta(days=30))

    page = only_page(connector, since=datetime.now(UTC) - timedelta(minutes=5))

    assert len(page.returns) == 1


def test_a_download_that_fails_is_transient(
    sim: AmazonSimulator, connector: AmazonConnector
) -> None:
    order_id = shipped_order(sim, [("MUG", 1)])
    sim.create_return(order_id, [("MUG", 1)])
    sim.inject("reportDocumentDownload", 503)

    with pytest.raises(TransientError, match="reportDocumentDownload: HTTP 503"):
        only_page(connector)

    assert len(only_page(connector).returns) == 1


def test_amazon_takes_no_return_update_and_the_refund_is_issued_in_seller_central() -> None:
    assert AmazonConnector.return_actions == frozenset()
    assert ReturnAction.REFUND not in AmazonConnector.return_actions
    assert "Seller Central" in AmazonConnector.refund_hint
    assert "Manage Returns" in AmazonConnector.refund_hint


def test_published_limits_of_the_reports_operations_are_amazons_usage_plans() -> None:
    model = amazon_model("reports_2021-06-30.json")
    plans = {
        operation["operationId"]: operation[USAGE_PLAN_KEY]
        for item in model["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for name in ("createReport", "getReport", "getReportDocument"):
        limit = PUBLISHED_LIMITS[name]
        assert (limit.per_second, limit.burst) == (plans[name]["rate"], plans[name]["burst"])
