"""Reports API 2021-06-30: one report asked for, waited for, and its document read.

createReport (reportType, marketplaceIds, dataStartTime, dataEndTime) gives a reportId;
getReport is asked until the report is DONE, FATAL or CANCELLED, or `timeout_seconds`
passed (waiting as waiting.py does: through the call policy, on the connector's
monotonic clock). DONE: getReportDocument gives a presigned URL, and
compressionAlgorithm GZIP when the document is gzipped; the bytes are downloaded with
SpApi.plain_http, un-gzipped and decoded (the charset the download names, else UTF-8,
else Windows-1252, Amazon's flat files being one or the other). CANCELLED: Amazon
cancels a report that has no data, so there is nothing to read (None). FATAL, or a
report still unfinished at the timeout: TransientError naming the report; the read is
tried again at the next run.

Every SP-API step goes through SpApi.call (throttled, retried, its failures mapped);
the download through the call policy as `reportDocumentDownload` (no published limit),
its failures TransientError: a presigned URL lasts minutes, the next read gets a new
one. The URL is never put in an error (it carries a signature).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import httpx

from omnisync.connectors.amazon.client import SpApi, payload_of, required_text, sp_api_time
from omnisync.connectors.amazon.waiting import wait_until_processed
from omnisync.connectors.base import PayloadError, TransientError

DOWNLOAD: Final = "reportDocumentDownload"
"""The call policy's name for a report document's download (not an SP-API operation)."""
GZIP: Final = "GZIP"
FALLBACK_ENCODING: Final = "cp1252"


def read_report(
    api: SpApi,
    report_type: str,
    start: datetime,
    end: datetime,
    *,
    poll_seconds: float,
    timeout_seconds: float,
    clock: Callable[[], float],
) -> str | None:
    """The text of a `report_type` report of the channel's marketplace over [start, end];
    None when Amazon had no data for it (the report CANCELLED)."""
    report_id = _create(api, report_type, start, end)
    report = wait_until_processed(
        lambda: payload_of(api.call("getReport", lambda: api.reports.get_report(report_id))),
        pause=api.calls.pause,
        clock=clock,
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
    )
    status = report.get("processingStatus")
    if status == "CANCELLED":
        return None
    if status == "FATAL":
        raise TransientError(f"report {report_id} ({report_type}) ended FATAL")
    if status != "DONE":
        raise TransientError(
            f"report {report_id} ({report_type}) still {status} after {timeout_seconds:g}s"
        )
    document_id = required_text(report, "reportDocumentId", "getReport")
    document = payload_of(
        api.call("getReportDocument", lambda: api.reports.get_report_document(document_id))
    )
    url = required_text(document, "url", "getReportDocument")
    content, charset = api.calls.call(DOWNLOAD, lambda: _download(api.plain_http, url))
    return decoded(uncompressed(content, document.get("compressionAlgorithm")), charset)


def _create(api: SpApi, report_type: str, start: datetime, end: datetime) -> str:
    answer = api.call(
        "createReport",
        lambda: api.reports.create_report(
            reportType=report_type,
            marketplaceIds=[api.marketplace_id],
            dataStartTime=sp_api_time(start),
            dataEndTime=sp_api_time(end),
        ),
    )
    return required_text(payload_of(answer), "reportId", "createReport")


def _download(client: httpx.Client, url: str) -> tuple[bytes, str | None]:
    try:
        response = client.get(url)
    except httpx.TimeoutException:
        raise TransientError(f"{DOWNLOAD}: timed out") from None
    except httpx.TransportError as error:
        raise TransientError(f"{DOWNLOAD}: connection failed ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise TransientError(f"{DOWNLOAD}: HTTP {response.status_code}")
    return response.content, response.charset_encoding


def uncompressed(content: bytes, algorithm: Any) -> bytes:
    """The document's bytes as written: un-gzipped when `algorithm` says GZIP."""
    if not algorithm:
        return content
    if algorithm != GZIP:
        raise PayloadError(f"a report document compressed with {algorithm!r}, not GZIP")
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error):
        raise TransientError(f"{DOWNLOAD}: the document is not gzip as it says") from None


def decoded(content: bytes, charset: str | None) -> str:
    """The text: in `charset` when the download named one, else UTF-8 (a byte-order
    mark dropped), else Windows-1252."""
    if charset:
        try:
            return content.decode(charset, errors="replace")
        except LookupError:
            pass  # a charset Python does not know: read it as if none were named
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode(FALLBACK_ENCODING, errors="replace")
