"""Amazon orders through the hub's order intake: prices that arrive after Pending, FBA
orders that reserve nothing, and buyer cancel requests that raise one notice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from omnisync.connectors.amazon.mapping import order_from_payload
from omnisync.core.alerting import RULE_BUYER_CANCEL
from omnisync.core.models import Alert, OrderLine
from omnisync.core.types import AlertState, OrderStatus
from tests.support.world import build_world, ingest, level, order_row, set_count

CANCEL = {"requester": "BUYER", "cancelReason": "Found cheaper somewhere else."}


def amazon_order(
    status: str, minute: int, *, priced: bool = True, afn: bool = False, cancel: bool = False
) -> Any:
    """An Orders API 2026-01-01 order of two units of A, through the connector's mapping."""
    item: dict[str, Any] = {
        "orderItemId": "70000000000001",
        "quantityOrdered": 2,
        "product": {"asin": "B0INTAKE01", "title": "Product A", "sellerSku": "A"},
        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 2},
    }
    order: dict[str, Any] = {
        "orderId": "114-0000000-0000001",
        "createdTime": "2026-01-01T00:00:00Z",
        "lastUpdatedTime": f"2026-01-01T00:{minute:02d}:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
        "fulfillment": {
            "fulfillmentStatus": status,
            "fulfilledBy": "AMAZON" if afn else "MERCHANT",
        },
        "orderItems": [item],
    }
    if priced:
        order["proceeds"] = {"grandTotal": {"amount": "19.98", "currencyCode": "USD"}}
        item["product"]["price"] = {"unitPrice": {"amount": "9.99", "currencyCode": "USD"}}
    if cancel:
        item["cancellation"] = {"cancellationRequest": CANCEL}
    return order_from_payload(order)


def notices(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == RULE_BUYER_CANCEL)))


def test_a_pending_order_reserves_and_gets_its_prices_later(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)

    ingest(engine, "shop", amazon_order("PENDING", 1, priced=False))
    assert level(engine, "A", "main") == (5, 2)
    pending = order_row(engine, "shop", "114-0000000-0000001")
    assert pending.status == OrderStatus.PENDING
    assert pending.total is None

    ingest(engine, "shop", amazon_order("UNSHIPPED", 2))
    accepted = order_row(engine, "shop", "114-0000000-0000001")
    assert accepted.status == OrderStatus.ACCEPTED
    assert accepted.total == Decimal("19.98")
    assert accepted.currency == "USD"
    with Session(engine) as session:
        (line,) = session.exec(select(OrderLine))
        assert line.unit_price == Decimal("9.99")
    assert level(engine, "A", "main") == (5, 2)


def test_an_fba_order_is_recorded_and_reserves_nothing(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)

    ingest(engine, "shop", amazon_order("UNSHIPPED", 1, afn=True, cancel=True))

    assert order_row(engine, "shop", "114-0000000-0000001").fulfilled_by_channel
    assert level(engine, "A", "main") == (5, 0)
    assert notices(engine) == []  # Amazon handles cancel requests of its own orders


def test_a_buyer_cancel_request_is_kept_and_noted_once(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)

    ingest(engine, "shop", amazon_order("UNSHIPPED", 1, cancel=True))
    ingest(engine, "shop", amazon_order("UNSHIPPED", 1, cancel=True))  # re-read (lag window)
    ingest(engine, "shop", amazon_order("UNSHIPPED", 2, cancel=True))  # updated again

    (notice,) = notices(engine)
    assert notice.state == AlertState.OPEN
    assert notice.count == 1
    assert "114-0000000-0000001" in notice.message
    assert "Found cheaper somewhere else." in notice.message
    # The line stays as it was: the seller decides; the request is in the raw order.
    assert level(engine, "A", "main") == (5, 2)
    raw = order_row(engine, "shop", "114-0000000-0000001").raw
    assert raw is not None
    assert raw["orderItems"][0]["cancellation"]["cancellationRequest"] == CANCEL


def test_a_cancelled_order_raises_no_cancel_notice(engine: Engine) -> None:
    build_world(engine)
    set_count(engine, "A", "main", 5)

    ingest(engine, "shop", amazon_order("CANCELLED", 1, cancel=True))

    assert notices(engine) == []
    assert level(engine, "A", "main") == (5, 0)
