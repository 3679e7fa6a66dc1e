"""GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE as the simulator writes it: Amazon's flat file
of merchant-fulfilled returns, tab-separated, one row per returned SKU of an RMA.

The columns are the 32 Amazon's "Returns reports attributes" page lists for the report,
in its order. Cells as a report Amazon produced shows them: dates as ``14-Jul-2025``,
amounts with two decimals, ``Y``/``N`` flags, and a blank cell as one space. What the
simulator does not model (label cost, invoice, SafeT claims) is left blank.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from omnisync.sandbox.amazon.returns import AmazonReturn, ReturnItem

COLUMNS: Final = (
    "Order ID",
    "Order date",
    "Return request date",
    "Return request status",
    "Amazon RMA ID",
    "Merchant RMA ID",
    "Label type",
    "Label cost",
    "Currency code",
    "Return carrier",
    "Tracking ID",
    "Label to be paid by",
    "A-to-Z Claim",
    "Is prime",
    "ASIN",
    "Merchant SKU",
    "Item Name",
    "Return quantity",
    "Return Reason",
    "In policy",
    "Return type",
    "Resolution",
    "Invoice number",
    "Return delivery date",
    "Order Amount",
    "Order quantity",
    "SafeT Action reason",
    "SafeT claim id",
    "SafeT claim state",
    "SafeT claim creation time",
    "SafeT claim reimbursement amount",
    "Refunded Amount",
)
BLANK: Final = " "
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CONTENT_TYPE: Final = "text/plain; charset=UTF-8"


def flat_file(returns: Iterable[AmazonReturn], currency: str) -> bytes:
    """The report of ``returns``: the header row, then a row per returned SKU."""
    rows = [COLUMNS] + [_row(ret, item, currency) for ret in returns for item in ret.items]
    return "".join("\t".join(row) + "\r\n" for row in rows).encode("utf-8")


def report_date(moment: datetime) -> str:
    """``14-Jul-2025`` (the English month whatever the locale)."""
    day = moment.astimezone(UTC)
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year}"


def _row(ret: AmazonReturn, item: ReturnItem, currency: str) -> tuple[str, ...]:
    cells = {
        "Order ID": ret.order_id,
        "Order date": report_date(ret.ordered_at),
        "Return request date": report_date(ret.requested_at),
        "Return request status": ret.status,
        "Amazon RMA ID": ret.rma_id,
        "Merchant RMA ID": ret.merchant_rma_id,
        "Label type": "AmazonPrePaidLabel",
        "Currency code": currency,
        "Return carrier": ret.carrier,
        "Tracking ID": ret.tracking_id,
        "Label to be paid by": "Seller",
        "A-to-Z Claim": "N",
        "Is prime": "N",
        "ASIN": item.asin,
        "Merchant SKU": item.sku,
        "Item Name": item.title,
        "Return quantity": str(item.quantity),
        "Return Reason": ret.reason,
        "In policy": "Y",
        "Return type": "C-Returns",
        "Resolution": ret.resolution,
        "Return delivery date": "" if ret.delivered_at is None else report_date(ret.delivered_at),
        "Order Amount": _amount(item.unit_price * item.ordered),
        "Order quantity": str(item.ordered),
        # The refund of the SKU's units, on its row.
        "Refunded Amount": "" if ret.refunded is None else _amount(item.unit_price * item.quantity),
    }
    return tuple(_cell(cells.get(column, "")) for column in COLUMNS)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _cell(value: str) -> str:
    """No tab or line break inside a cell; a blank cell is one space, as Amazon writes it."""
    text = " ".join(value.split())
    return text or BLANK
