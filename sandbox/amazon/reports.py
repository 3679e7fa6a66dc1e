"""Reports API 2021-06-30 state: reports, their processing clock and their documents.

createReport checks the request as Amazon's model has it (``reportType`` and 1 to 25
``marketplaceIds`` required, ``dataStartTime`` / ``dataEndTime`` ISO 8601 when given)
and takes only the report types the simulator builds (:data:`BUILT`), over at most
:data:`MAX_SPAN` (60 days: Amazon's limit for the returns reports). A report moves as
:mod:`sandbox.amazon.processing` says over ``delay``, then ends DONE with a document
(gzipped, ``compressionAlgorithm: GZIP``, when ``compress``), CANCELLED when it has
no data (as Amazon cancels an empty report), or FATAL when a test asked for it
(:meth:`ReportDesk.fail_next`). The document's URL is served by the simulator
(:mod:`sandbox.amazon.documents`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from omnisync.sandbox.amazon import processing
from omnisync.sandbox.amazon.documents import DocumentStore
from omnisync.sandbox.amazon.http import JSON, invalid_input, parse_amazon_time
from omnisync.sandbox.amazon.processing import CANCELLED, DONE, FATAL, FINISHED, IN_QUEUE

RETURNS_REPORT: Final = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
BUILT: Final = frozenset({RETURNS_REPORT})
MAX_SPAN: Final = timedelta(days=60)
DOCUMENTS_PATH: Final = "/_report-documents"


@dataclass
class Report:
    report_id: str
    report_type: str
    marketplace_ids: list[str]
    data_start: datetime
    data_end: datetime
    created_at: datetime
    status: str = IN_QUEUE
    started_at: datetime | None = None
    ended_at: datetime | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class ReportContent:
    """What a report is made of: the document's bytes and type; None bytes: no data."""

    content: bytes | None
    content_type: str


class ReportDesk:
    """Every report of the seller."""

    def __init__(self, delay: timedelta, compress: bool = False) -> None:
        self.delay = delay
        self.compress = compress
        self.documents = DocumentStore(DOCUMENTS_PATH)
        self.reports: dict[str, Report] = {}
        self.failures_asked = 0
        self._numbers = itertools.count(1)

    def check_request(
        self, body: Any, marketplaces: Collection[str], now: datetime
    ) -> tuple[str, list[str], datetime, datetime]:
        """``(reportType, marketplaceIds, start, end)`` of a valid createReport body."""
        body, report_type, markets = processing.check_create_request(
            body, "Report", BUILT, marketplaces
        )
        end = _time(body, "dataEndTime") or now
        start = _time(body, "dataStartTime") or end - MAX_SPAN
        if start > end:
            raise invalid_input("'dataStartTime' is after 'dataEndTime'.")
        if end - start > MAX_SPAN:
            raise invalid_input(f"A {report_type} report covers at most 60 days of data.")
        return report_type, markets, start, end

    def add(
        self, report_type: str, markets: list[str], start: datetime, end: datetime, now: datetime
    ) -> Report:
        report_id = str(70_000_000_000 + next(self._numbers))
        report = Report(report_id, report_type, markets, start, end, now)
        self.reports[report_id] = report
        return report

    def report(self, report_id: str) -> Report:
        return processing.find(self.reports, report_id, "Report")

    def cancel(self, report_id: str, now: datetime) -> None:
        processing.cancel(self.report(report_id), report_id, "Report", now)

    def fail_next(self, count: int = 1) -> None:
        """The next ``count`` reports to finish end FATAL."""
        self.failures_asked += count

    def advance(self, now: datetime, build: Callable[[Report], ReportContent]) -> list[Report]:
        """Move reports along the clock; build the ones whose time came. Those finished now."""
        return processing.advance(
            self.reports.values(), now, self.delay, lambda report: self.finish(report, build, now)
        )

    def finish(
        self, report: Report, build: Callable[[Report], ReportContent], now: datetime
    ) -> None:
        """Build ``report`` now, whatever its delay."""
        if report.status in FINISHED:
            return
        report.started_at = report.started_at or now
        report.ended_at = now
        if self.failures_asked:
            self.failures_asked -= 1
            report.status = FATAL
            return
        made = build(report)
        if made.content is None:
            report.status = CANCELLED
            return
        document = self.documents.holding(made.content, made.content_type, compress=self.compress)
        report.status, report.document_id = DONE, document.document_id

    def document_json(self, base_url: str, document_id: str) -> JSON:
        """The getReportDocument answer."""
        return self.documents.answer(base_url, document_id, "reportDocumentId", "Report document")


def _time(body: JSON, name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_input(f"'{name}' must be an ISO 8601 date-time.")
    try:
        return parse_amazon_time(value)
    except ValueError:
        raise invalid_input(f"'{name}' must be an ISO 8601 date-time.") from None


def report_json(report: Report) -> JSON:
    """The getReport answer (``Report``), times as Amazon writes them (``+00:00``)."""
    body: JSON = {
        "reportId": report.report_id,
        "reportType": report.report_type,
        "marketplaceIds": report.marketplace_ids,
        "dataStartTime": _time_text(report.data_start),
        "dataEndTime": _time_text(report.data_end),
        "createdTime": _time_text(report.created_at),
        "processingStatus": report.status,
        **processing.processing_times(report, _time_text),
    }
    if report.document_id is not None:
        body["reportDocumentId"] = report.document_id
    return body


def _time_text(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
