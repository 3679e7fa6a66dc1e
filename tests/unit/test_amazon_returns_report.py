"""The returns report (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE) read into returns: columns
by name, one return per RMA, Amazon's statuses and resolutions mapped, and a row that does
not read rejecting its own RMA only. Pure: text in, DTOs out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from omnisync.connectors.amazon.returns_report import (
    REQUIRED,
    RMA_ID,
    kept_return,
    report_date,
    returns_from_report,
)
from omnisync.connectors.base import PayloadError
from omnisync.core.dto import QUARANTINED_RETURN, NormalisedReturn
from omnisync.core.types import RefundState, ReturnStatus
from tests.unit.test_amazon_connector import make_connector

HEADER = (
    "Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\t"
    "Merchant RMA ID\tLabel type\tLabel cost\tCurrency code\tReturn carrier\tTracking ID\t"
    "Label to be paid by\tA-to-Z Claim\tIs prime\tASIN\tMerchant SKU\tItem Name\t"
    "Return quantity\tReturn Reason\tIn policy\tReturn type\tResolution\tInvoice number\t"
    "Return delivery date\tOrder Amount\tOrder quantity\tSafeT Action reason\tSafeT claim id\t"
    "SafeT claim state\tSafeT claim creation time\tSafeT claim reimbursement amount\t"
    "Refunded Amount"
)
"""The header line of a report Amazon produced: the 32 columns of Amazon's attributes page."""
COLUMNS = HEADER.split("\t")
DEFAULTS = {
    "Order ID": "113-6277818-6289068",
    "Order date": "10-Jul-2025",
    "Return request date": "14-Jul-2025",
    "Return request status": "Approved",
    "Amazon RMA ID": "DfqRyqfBRRMA",
    "Label type": "AmazonPrePaidLabel",
    "Label cost": "4.14",
    "Currency code": "USD",
    "Return carrier": "USPS",
    "Tracking ID": "9202090339598363834190",
    "Label to be paid by": "Seller",
    "A-to-Z Claim": "N",
    "Is prime": "N",
    "ASIN": "B0DFN2HN9N",
    "Merchant SKU": "NECKLACE-925",
    "Item Name": 'Necklace, 16" to 18" chain',
    "Return quantity": "2",
    "Return Reason": "AMZ-PG-WJ-TOO-SMALL",
    "In policy": "Y",
    "Return type": "C-Returns",
    "Resolution": "StandardRefund",
    "Order Amount": "21.38",
    "Order quantity": "2",
}
"""One row as Amazon writes it (its blank cells are a space)."""


def row(columns: list[str] = COLUMNS, /, **cells: str) -> str:
    values: Mapping[str, str] = {**DEFAULTS, **{k.replace("_", " "): v for k, v in cells.items()}}
    return "\t".join(values.get(column, " ") for column in columns)


def report(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join((header, *rows)) + "\r\n"


def test_a_row_as_amazon_writes_it_reads_into_a_return() -> None:
    text = "\ufeff" + report(row())

    (ret,) = returns_from_report(text).returns

    assert ret.external_id == "DfqRyqfBRRMA"
    assert ret.order_external_id == "113-6277818-6289068"
    assert (ret.status, ret.channel_status) == (ReturnStatus.APPROVED, "Approved")
    assert ret.requested_at == datetime(2025, 7, 14, tzinfo=UTC)
    assert ret.tracking_number == "9202090339598363834190"
    assert ret.reason == "AMZ-PG-WJ-TOO-SMALL"
    assert ret.refund_state == RefundState.PENDING
    assert ret.name is None
    (line,) = ret.lines
    assert (line.external_line_id, line.channel_sku, line.quantity) == (
        "NECKLACE-925",
        "NECKLACE-925",
        2,
    )
    assert line.order_external_line_id is None
    (kept,) = (ret.raw or {})["rows"]
    assert kept["Order ID"] == "113-6277818-6289068"
    assert kept["Item Name"] == 'Necklace, 16" to 18" chain'
    assert kept["Merchant RMA ID"] == ""


def test_columns_are_found_by_name_in_any_order_and_others_are_ignored() -> None:
    shuffled = ["Mystery column", *reversed(COLUMNS)]
    header = "\t".join(
        name.upper() if name == "Amazon RMA ID" else f"  {name} " for name in shuffled
    )

    (ret,) = returns_from_report(report(row(shuffled), header=header)).returns

    assert ret.external_id == "DfqRyqfBRRMA"
    assert ret.lines[0].quantity == 2


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_report_without_a_required_column_is_refused_whole(missing: str) -> None:
    columns = [name for name in COLUMNS if name != missing]

    with pytest.raises(PayloadError, match=missing):
        returns_from_report(report(row(columns), header="\t".join(columns)))


def test_a_report_of_the_required_columns_only_reads() -> None:
    columns = list(REQUIRED)

    (ret,) = returns_from_report(report(row(columns), header="\t".join(columns))).returns

    assert ret.refund_state == RefundState.PENDING
    assert ret.name is None


def test_a_report_with_nothing_in_it_is_refused() -> None:
    with pytest.raises(PayloadError, match="no header row"):
        returns_from_report("\r\n \r\n")


def test_a_header_with_no_rows_is_a_report_of_no_returns() -> None:
    read = returns_from_report(report())

    assert (read.returns, read.rejected) == ((), ())


def test_the_rows_of_one_rma_are_one_return_with_a_line_per_sku() -> None:
    text = report(
        row(Merchant_SKU="MUG", Return_quantity="1", Return_Reason="CR-DEFECTIVE"),
        row(Amazon_RMA_ID="OTHER-RMA", Order_ID="111-0000000-0000002"),
        row(Merchant_SKU="LID", Return_quantity="3", Return_Reason="CR-UNWANTED_ITEM"),
    )

    first, second = returns_from_report(text).returns

    assert first.external_id == "DfqRyqfBRRMA"
    assert [(line.channel_sku, line.quantity, line.reason) for line in first.lines] == [
        ("MUG", 1, "CR-DEFECTIVE"),
        ("LID", 3, "CR-UNWANTED_ITEM"),
    ]
    assert first.reason == "CR-DEFECTIVE; CR-UNWANTED_ITEM"
    assert len((first.raw or {})["rows"]) == 2
    assert (second.external_id, second.order_external_id) == ("OTHER-RMA", "111-0000000-0000002")


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ({"Return_quantity": "two"}, "Return quantity 'two' is not a whole number"),
        ({"Return_quantity": "0"}, "not a positive number"),
        ({"Return_request_date": "14/07/2025"}, "'14/07/2025' is not a date"),
        ({"Return_delivery_date": "31-Foo-2025"}, "not a date"),
        ({"Merchant_SKU": " "}, "Merchant SKU is blank"),
        ({"Order_ID": ""}, "Order ID is blank"),
        ({"Return_request_status": "Escalated"}, "'Escalated' is not one the hub knows"),
        ({"Refunded_Amount": "n/a"}, "Refunded Amount 'n/a' is not an amount"),
    ],
)
def test_a_row_that_does_not_read_rejects_its_rma_and_the_rest_goes_on(
    cells: dict[str, str], words: str
) -> None:
    bad = row(Amazon_RMA_ID="BAD-RMA", **cells)
    status = cells.get("Return_request_status", "Approved")
    other = row(Amazon_RMA_ID="BAD-RMA", Merchant_SKU="OTHER", Return_request_status=status)
    text = report(row(), other, bad)

    read = returns_from_report(text)

    assert [ret.external_id for ret in read.returns] == ["DfqRyqfBRRMA"]
    (rejected,) = read.rejected
    assert rejected.kind == QUARANTINED_RETURN
    assert rejected.external_id == "BAD-RMA"
    assert words in rejected.reason
    lines = rejected.raw.split("\n")
    assert lines[0] == HEADER
    assert len(lines) == 3  # the header, and both rows of the RMA
    assert all("BAD-RMA" in line for line in lines[1:])


def test_a_row_without_an_rma_is_rejected_alone() -> None:
    read = returns_from_report(report(row(Amazon_RMA_ID=" "), row()))

    assert [ret.external_id for ret in read.returns] == ["DfqRyqfBRRMA"]
    (rejected,) = read.rejected
    assert rejected.external_id is None
    assert RMA_ID in rejected.reason


@pytest.mark.parametrize(
    ("second", "words"),
    [
        ({"Order_ID": "111-9999999-9999999"}, "several orders"),
        ({"Return_request_status": "Closed"}, "disagree on the status"),
        ({}, "NECKLACE-925 is on two rows"),
    ],
)
def test_rows_of_one_rma_that_disagree_reject_it(second: dict[str, str], words: str) -> None:
    read = returns_from_report(report(row(), row(**second)))

    assert read.returns == ()
    (rejected,) = read.rejected
    assert words in rejected.reason


@pytest.mark.parametrize(
    ("said", "status"),
    [
        ("Pending Authorization", ReturnStatus.REQUESTED),
        ("Approved", ReturnStatus.APPROVED),
        ("approved", ReturnStatus.APPROVED),
        ("Pending  Refund", ReturnStatus.APPROVED),
        ("Completed", ReturnStatus.APPROVED),
        ("Closed", ReturnStatus.CANCELLED),
    ],
)
def test_amazons_statuses_map_to_the_hubs(said: str, status: ReturnStatus) -> None:
    (ret,) = returns_from_report(report(row(Return_request_status=said))).returns

    assert ret.status == status
    assert ret.channel_status == said


def test_a_completed_return_stays_open_for_its_units_to_be_received() -> None:
    (ret,) = returns_from_report(report(row(Return_request_status="Completed"))).returns

    assert ret.status.is_open


@pytest.mark.parametrize(
    ("resolution", "refunded", "state"),
    [
        ("StandardRefund", "", RefundState.PENDING),
        ("RefundAtFirstScan", " ", RefundState.PENDING),
        ("StandardRefund", "21.38", RefundState.REFUNDED),
        ("RefundAtFirstScan", "$10.69", RefundState.REFUNDED),
        ("StandardRefund", "0.00", RefundState.PENDING),
        ("ReplacementIssued", "", None),
        ("", "", None),
        ("SomethingNew", "5,00", RefundState.REFUNDED),
    ],
)
def test_the_money_is_read_from_the_refunded_amount_and_the_resolution(
    resolution: str, refunded: str, state: RefundState | None
) -> None:
    text = report(row(Resolution=resolution or " ", Refunded_Amount=refunded or " "))

    (ret,) = returns_from_report(text).returns

    assert ret.refund_state == state


def test_updated_at_is_the_latest_date_and_a_change_within_it_shows_in_raw() -> None:
    """The report has dates only: a status or refund that moves on within a day keeps
    the time and changes the rows the return carries (the hub takes that in)."""

    def read(**cells: str) -> NormalisedReturn:
        (ret,) = returns_from_report(report(row(**cells))).returns
        return ret

    pending = read(Return_request_status="Pending Authorization")
    completed = read(Return_request_status="Completed", Refunded_Amount="21.38")
    delivered = read(Return_delivery_date="16-Jul-2025")

    assert pending.updated_at == completed.updated_at == datetime(2025, 7, 14, tzinfo=UTC)
    assert pending.raw != completed.raw
    assert delivered.updated_at.date().isoformat() == "2025-07-16"
    assert read(Return_request_status="Pending Authorization") == pending  # read again


def test_requested_at_is_the_earliest_request_date_of_the_rmas_rows() -> None:
    text = report(
        row(Merchant_SKU="A", Return_request_date="15-Jul-2025"),
        row(Merchant_SKU="B", Return_request_date="14-Jul-2025"),
    )

    (ret,) = returns_from_report(text).returns

    assert ret.requested_at == datetime(2025, 7, 14, tzinfo=UTC)


def test_the_merchant_rma_id_names_the_return() -> None:
    (ret,) = returns_from_report(report(row(Merchant_RMA_ID="MY-RMA-7"))).returns

    assert ret.name == "MY-RMA-7"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("14-Jul-2025", datetime(2025, 7, 14, tzinfo=UTC)),
        ("4-sep-2025", datetime(2025, 9, 4, tzinfo=UTC)),
        ("2025-07-14", datetime(2025, 7, 14, tzinfo=UTC)),
        ("2025-07-14T10:30:00+02:00", datetime(2025, 7, 14, 8, 30, tzinfo=UTC)),
    ],
)
def test_report_dates_are_amazons_or_iso(text: str, moment: datetime) -> None:
    assert report_date(text) == moment


def test_a_rejected_rma_is_mapped_again_from_its_kept_rows() -> None:
    (rejected,) = returns_from_report(report(row(Return_quantity="x"))).rejected
    connector = make_connector()

    with pytest.raises(PayloadError, match="not a whole number"):
        connector.map_quarantined(QUARANTINED_RETURN, rejected.raw)

    fixed = rejected.raw.replace("\tx\t", "\t2\t")
    (ret,) = connector.map_quarantined(QUARANTINED_RETURN, fixed).returns
    connector.close()
    assert ret == kept_return(fixed)
    assert ret.external_id == "DfqRyqfBRRMA"
    assert ret.lines[0].quantity == 2
