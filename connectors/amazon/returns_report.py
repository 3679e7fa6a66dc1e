"""GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE, the returns of merchant-fulfilled orders, into
core DTOs: pure functions from the report's text to NormalisedReturns (no I/O).

What is known, and from where (the report's values are documented nowhere else):

- The columns: Amazon's "Returns reports attributes" page (developer-docs.amazon.com,
  sp-api/docs/returns-reports-attributes) lists the flat file's 32 column names, "Order
  ID", "Return request date", "Return request status", "Amazon RMA ID", "Merchant
  SKU", "Return quantity", "Return Reason", "Tracking ID", "Resolution", "Return
  delivery date", "Refunded Amount" among them, and says a report covers at most 60
  days. A document Amazon produced (shared in a public repository) has exactly that
  header line, writes dates as `10-Jul-2025`, a blank cell as one space, "Approved" as
  a status and "StandardRefund" as a resolution.
- The statuses: Amazon documents no values for the column. Seller Central's help on
  Manage Returns (the tool the report comes from) names a return request's states:
  Pending Authorization, Pending Refund, Completed (refunded in full, or completed by
  the seller when nothing is coming back) and Closed (closed by the seller before
  authorising it, or by Amazon after 50 days without action); the document above adds
  Approved. Those five are mapped (STATUSES); any other value is not guessed at: its
  RMA is rejected (quarantined with its rows) until someone says what it means.
- Completed is mapped to approved, not closed: Amazon completes a return once it is
  refunded, and a refund at first scan comes while the parcel is still on its way, so
  closing the hub's return on it would refuse the units when they arrive. The hub
  closes its return once the warehouse has dealt with it.
- The money: "Refunded Amount" says what was refunded (blank: nothing yet), so a
  positive amount is `refunded`. Resolution says how the return is settled: the
  refunds seen in reports, StandardRefund and RefundAtFirstScan, make the refund
  `pending` until an amount shows; any other resolution says nothing of the money.

Reading: the csv module, tab-separated and unquoted (an item name may hold a `"`), the
header row by name (case, spacing and a leading byte-order mark aside), columns in any
order, the ones not used ignored. A report without one of REQUIRED is refused whole
(PayloadError). One row per returned SKU of an RMA; the rows of an RMA make one return,
a line per SKU (the line id is the SKU; Amazon names no order line, so the hub finds
it by SKU). A row that does not read makes its whole RMA rejected, with its rows as
TSV text (kind QUARANTINED_RETURN); the other RMAs go on.

Times: the report has dates only (taken as midnight UTC). `requested_at` is the
earliest request date of the RMA's rows; `updated_at` is the latest date a row shows
(request or delivery). A status or refund that moves on within a day keeps the time
and changes `raw` (the rows): the hub takes a report of the same time that says
something else in (core/return_intake.py), and reading the same report again changes
nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from omnisync.connectors.base import PayloadError
from omnisync.core.dto import (
    QUARANTINED_RETURN,
    NormalisedReturn,
    NormalisedReturnLine,
    RejectedPayload,
)
from omnisync.core.types import RefundState, ReturnStatus

RETURNS_REPORT: Final = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"

ORDER_ID: Final = "Order ID"
REQUEST_DATE: Final = "Return request date"
STATUS: Final = "Return request status"
RMA_ID: Final = "Amazon RMA ID"
MERCHANT_RMA_ID: Final = "Merchant RMA ID"
TRACKING_ID: Final = "Tracking ID"
SKU: Final = "Merchant SKU"
QUANTITY: Final = "Return quantity"
REASON: Final = "Return Reason"
RESOLUTION: Final = "Resolution"
DELIVERY_DATE: Final = "Return delivery date"
REFUNDED_AMOUNT: Final = "Refunded Amount"

REQUIRED: Final = (
    ORDER_ID,
    REQUEST_DATE,
    STATUS,
    RMA_ID,
    SKU,
    QUANTITY,
    REASON,
    TRACKING_ID,
    RESOLUTION,
)
"""The columns a report must have; the others are read when present."""


STATUSES: Final[Mapping[str, ReturnStatus]] = {
    "pending authorization": ReturnStatus.REQUESTED,
    "approved": ReturnStatus.APPROVED,
    "pending refund": ReturnStatus.APPROVED,
    "completed": ReturnStatus.APPROVED,
    "closed": ReturnStatus.CANCELLED,
}
"""`Return request status` (case aside) -> the hub's status (see the module's words)."""
REFUND_RESOLUTIONS: Final = frozenset({"standardrefund", "refundatfirstscan"})
"""Resolutions (case aside) that settle a return with a refund."""

MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_AMAZON_DATE: Final = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_AMOUNT: Final = re.compile(r"[^\d]*\d[\d.,]*[^\d]*")


class RowError(ValueError):
    """A row of the report that cannot be read; its whole RMA is rejected."""


@dataclass(frozen=True)
class ReturnsReport:
    """What one report gave: the returns read, and the RMAs that could not be read."""

    returns: tuple[NormalisedReturn, ...] = ()
    rejected: tuple[RejectedPayload, ...] = ()


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    """The row as it came (tabs split, nothing stripped)."""
    columns: Mapping[str, int]
    """Column name (normalised) -> its position in the header."""

    def value(self, column: str) -> str:
        """The column's cell, stripped ("" when blank, absent or past the row's end)."""
        position = self.columns.get(column_key(column))
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def required(self, column: str) -> str:
        value = self.value(column)
        if not value:
            raise RowError(f"{column} is blank")
        return value


def column_key(name: str) -> str:
    """A column's name (or a status) as it is matched: single spaces, any case."""
    return " ".join(name.split()).casefold()


def returns_from_report(text: str) -> ReturnsReport:
    """Every RMA of the report's text: its returns, and the rejected RMAs with their rows.
    PayloadError when the text has no header row or lacks a required column."""
    header, rows = read_rows(text)
    by_rma: dict[str, list[Row]] = {}
    rejected: list[RejectedPayload] = []
    for row in rows:
        rma = row.value(RMA_ID)
        if rma:
            by_rma.setdefault(rma, []).append(row)
        else:
            rejected.append(_rejected(header, [row], f"a row has no {RMA_ID}", None))
    returns: list[NormalisedReturn] = []
    for rma, its_rows in by_rma.items():
        try:
            returns.append(return_from_rows(rma, header, its_rows))
        except RowError as error:
            rejected.append(_rejected(header, its_rows, f"RMA {rma}: {error}", rma))
    return ReturnsReport(returns=tuple(returns), rejected=tuple(rejected))


def kept_return(raw: str) -> NormalisedReturn:
    """The one return a rejected RMA's kept rows make now; PayloadError while they do not."""
    report = returns_from_report(raw)
    if report.rejected:
        first = report.rejected[0]
        raise PayloadError(first.reason, raw, first.external_id)
    if len(report.returns) != 1:
        raise PayloadError(f"the kept rows make {len(report.returns)} returns, not one", raw)
    return report.returns[0]


def read_rows(text: str) -> tuple[tuple[str, ...], list[Row]]:
    """The header and the non-blank rows; PayloadError when a required column is missing."""
    body_text = text.removeprefix("\ufeff")  # Amazon may start the file with a BOM
    reader = csv.reader(io.StringIO(body_text), delimiter="\t", quoting=csv.QUOTE_NONE)
    lines = [tuple(cells) for cells in reader if any(cell.strip() for cell in cells)]
    if not lines:
        raise PayloadError("the returns report has no header row", text[:2000])
    header, body = lines[0], lines[1:]
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        columns.setdefault(column_key(name), position)
    missing = [name for name in REQUIRED if column_key(name) not in columns]
    if missing:
        raise PayloadError(
            f"the returns report has no column {', '.join(missing)}", "\t".join(header)
        )
    return header, [Row(cells, columns) for cells in body]


def return_from_rows(rma: str, header: Sequence[str], rows: Sequence[Row]) -> NormalisedReturn:
    """The return of one RMA from its rows (one per SKU). RowError when a row does not
    read or the rows disagree on the order or the status."""
    order_ids = {row.required(ORDER_ID) for row in rows}
    if len(order_ids) > 1:
        raise RowError(f"its rows name several orders ({', '.join(sorted(order_ids))})")
    said = {row.required(STATUS) for row in rows}
    if len({column_key(text) for text in said}) > 1:
        raise RowError(f"its rows disagree on the status ({', '.join(sorted(said))})")
    channel_status = min(said)
    status = STATUSES.get(column_key(channel_status))
    if status is None:
        raise RowError(f"{STATUS} {channel_status!r} is not one the hub knows")
    lines: dict[str, NormalisedReturnLine] = {}
    requested: list[datetime] = []
    dates: list[datetime] = []
    refunded = refund_pending = False
    for row in rows:
        line = _line(row)
        if line.external_line_id in lines:
            raise RowError(f"{SKU} {line.external_line_id} is on two rows")
        lines[line.external_line_id] = line
        asked = report_date(row.required(REQUEST_DATE))
        requested.append(asked)
        dates.append(asked)
        delivered = row.value(DELIVERY_DATE)
        if delivered:
            dates.append(report_date(delivered))
        refunded = refunded or refund_shown(row.value(REFUNDED_AMOUNT))
        refund_pending = refund_pending or column_key(row.value(RESOLUTION)) in REFUND_RESOLUTIONS
    refund = _refund_state(refunded=refunded, pending=refund_pending)
    reasons = list(dict.fromkeys(line.reason for line in lines.values() if line.reason))
    trackings = [row.value(TRACKING_ID) for row in rows if row.value(TRACKING_ID)]
    names = [row.value(MERCHANT_RMA_ID) for row in rows if row.value(MERCHANT_RMA_ID)]
    try:
        return NormalisedReturn(
            external_id=rma,
            order_external_id=order_ids.pop(),
            name=names[0] if names else None,
            status=status,
            channel_status=channel_status,
            reason="; ".join(reasons) or None,
            requested_at=min(requested),
            updated_at=max(dates),
            tracking_number=trackings[0] if trackings else None,
            refund_state=refund,
            lines=tuple(lines.values()),
            raw={"rows": [_by_column(header, row) for row in rows]},
        )
    except ValidationError as error:
        raise RowError(str(error).splitlines()[0]) from None


def _refund_state(*, refunded: bool, pending: bool) -> RefundState | None:
    if refunded:
        return RefundState.REFUNDED
    return RefundState.PENDING if pending else None


def _line(row: Row) -> NormalisedReturnLine:
    sku = row.required(SKU)
    text = row.required(QUANTITY)
    try:
        quantity = int(text)
    except ValueError:
        raise RowError(f"{QUANTITY} {text!r} is not a whole number") from None
    if quantity < 1:
        raise RowError(f"{QUANTITY} {text!r} is not a positive number")
    return NormalisedReturnLine(
        external_line_id=sku,
        quantity=quantity,
        channel_sku=sku,
        reason=row.value(REASON) or None,
    )


def report_date(text: str) -> datetime:
    """A report date: `10-Jul-2025` as Amazon writes them, or ISO 8601 (a date alone, or
    a time without an offset, is taken as UTC). RowError for anything else."""
    value = text.strip()
    amazon = _AMAZON_DATE.fullmatch(value)
    try:
        if amazon is not None:
            day, month, year = amazon.groups()
            number = MONTHS.get(month.casefold())
            if number is None:
                raise ValueError(month)
            return datetime(int(year), number, int(day), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"{value!r} is not a date") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def refund_shown(text: str) -> bool:
    """Whether a `Refunded Amount` cell shows money refunded (blank or zero: none yet)."""
    value = text.strip()
    if not value:
        return False
    if not _AMOUNT.fullmatch(value):
        raise RowError(f"{REFUNDED_AMOUNT} {value!r} is not an amount")
    return any(digit in value for digit in "123456789")


def _by_column(header: Sequence[str], row: Row) -> dict[str, str]:
    """The row as {column name as the report writes it: value}, cells stripped."""
    cells = [cell.strip() for cell in row.cells[: len(header)]]
    cells += [""] * (len(header) - len(cells))
    return dict(zip(header, cells, strict=True))


def _rejected(
    header: Sequence[str], rows: Sequence[Row], reason: str, rma: str | None
) -> RejectedPayload:
    text = "\n".join("\t".join(cells) for cells in (tuple(header), *(row.cells for row in rows)))
    return RejectedPayload(kind=QUARANTINED_RETURN, raw=text, reason=reason, external_id=rma)
