"""The Shopify connector's returns against the Shopify simulator over real HTTP: a buyer's
request polled and delivered, approved, processed with a restock, a damaged unit and the
refund, refunded later, declined; and every push sent twice with one key changing
nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omnisync.connectors.shopify.connector import ShopifyConnector
from omnisync.connectors.shopify.settings import ShopifySettings
from omnisync.core.dto import NormalisedReturn, ReturnUpdate, ReturnUpdateLine
from omnisync.core.types import ReturnAction, ReturnDisposition, ReturnStatus
from omnisync.sandbox.clock import ManualTimer
from omnisync.sandbox.shopify import ShopifySimulator
from tests.support.shopify_webhooks import SECRET, Receiver, webhook_fixtures
from tests.unit.test_shopify_connector import RecordingCalls
from tests.unit.test_shopify_simulator import TOKEN, make_simulator, prepare

receiver, running, shop = webhook_fixtures("shopify-returns-connector", make_simulator, prepare)


@pytest.fixture
def connector(shop: ShopifySimulator) -> Iterator[ShopifyConnector]:
    settings = ShopifySettings(
        shop=shop.shop,
        endpoint=shop.url,
        access_token=TOKEN,
        client_secret=SECRET,
        push_location="Main",
    )
    # The client's estimate of the cost bucket refills as its waits move the timer: no
    # test sleeps until a dear query fits.
    timer = ManualTimer()
    connector = ShopifyConnector(
        settings,
        hub_locations={"main": "Main", "backup": "Backup"},
        calls=RecordingCalls(timer),
        clock=timer,
    )
    yield connector
    connector.close()


def requested(shop: ShopifySimulator, connector: ShopifyConnector) -> NormalisedReturn:
    """A delivered order of 3 A, of which the buyer asks to return 2: as polled."""
    order = shop.buy("A", 3)
    assert order is not None
    shop.ship_order(order["id"])
    shop.request_return(order["id"], [("A", 2)], "defective", "chipped")
    (page,) = list(connector.fetch_returns(None))
    (found,) = page.returns
    return found


def push(
    connector: ShopifyConnector,
    found: NormalisedReturn,
    action: ReturnAction,
    *lines: tuple[int, ReturnDisposition, str | None],
    **fields: Any,
) -> ReturnUpdate:
    update = ReturnUpdate(
        action=action,
        return_external_id=found.external_id,
        order_external_id=found.order_external_id,
        lines=tuple(
            ReturnUpdateLine(
                external_line_id=found.lines[0].external_line_id,
                quantity=quantity,
                disposition=disposition,
                location=location,
            )
            for quantity, disposition, location in lines
        ),
        idempotency_key=f"omnisync-return-1-{action.value}",
        **fields,
    )
    result = connector.push_return(update)
    assert result.ok, result.error
    return update


def sent(shop: ShopifySimulator, operation: str) -> int:
    return int(shop.traffic()["requests"].get(operation, 0))


def test_a_request_is_polled_with_the_order_line_it_came_from(
    shop: ShopifySimulator, connector: ShopifyConnector
) -> None:
    found = requested(shop, connector)
    (order,) = [o for page in connector.fetch_orders(None) for o in page.orders]
    assert found.status == ReturnStatus.REQUESTED
    assert found.order_external_id == order.external_id
    (line,) = found.lines
    assert line.order_external_line_id == order.lines[0].external_line_id
    assert (line.quantity, line.channel_sku, line.reason) == (
        2,
        "A",
        "Damaged or defective: chipped",
    )
    (page,) = list(connector.fetch_returns(found.updated_at))
    assert page.cursor == found.updated_at


def test_approved_shipped_back_processed_and_refunded_and_nothing_twice(
    shop: ShopifySimulator, connector: ShopifyConnector
) -> None:
    found = requested(shop, connector)
    approve = push(connector, found, ReturnAction.APPROVE)
    assert shop.get_return(found.external_id)["status"] == "OPEN"
    shop.ship_return(found.external_id, "1Z999AA10123456784", "UPS")
    (page,) = list(connector.fetch_returns(None))
    assert page.returns[0].status == ReturnStatus.IN_TRANSIT
    assert page.returns[0].tracking_number == "1Z999AA10123456784"
    backup_before = shop.available("A", "Backup")
    process = push(
        connector,
        found,
        ReturnAction.PROCESS,
        (1, ReturnDisposition.RESTOCK, "backup"),
        (1, ReturnDisposition.DAMAGED, None),
        refund=True,
    )
    seen = shop.get_return(found.external_id)
    (line,) = seen["lines"]
    assert [(d["type"], d["quantity"], d["location"]) for d in line["dispositions"]] == [
        ("RESTOCKED", 1, "Backup"),
        ("NOT_RESTOCKED", 1, None),
    ]
    (refund,) = seen["refunds"]
    assert refund["amount"] == "25.00"
    assert refund["notify_customer"] is True
    assert seen["status"] == "CLOSED"
    assert shop.available("A", "Backup") == backup_before + 1
    (page,) = list(connector.fetch_returns(None))
    assert page.returns[0].status == ReturnStatus.CLOSED

    # The same pushes again (a retry after a lost answer): Shopify is not told twice.
    processes, approvals = sent(shop, "ReturnProcess"), sent(shop, "ReturnApprove")
    assert connector.push_return(process).ok
    assert connector.push_return(approve).ok
    assert shop.get_return(found.external_id) == seen
    assert (sent(shop, "ReturnProcess"), sent(shop, "ReturnApprove")) == (processes, approvals)
    assert shop.available("A", "Backup") == backup_before + 1


def test_a_refund_asked_after_processing_is_made_once(
    shop: ShopifySimulator, connector: ShopifyConnector
) -> None:
    found = requested(shop, connector)
    push(connector, found, ReturnAction.APPROVE)
    push(connector, found, ReturnAction.PROCESS, (2, ReturnDisposition.NOT_RETURNED, None))
    assert shop.get_return(found.external_id)["refunds"] == []
    refund = push(connector, found, ReturnAction.REFUND, refund=True)
    order = shop.get_order(found.order_external_id)
    assert order["financial_status"] == "PARTIALLY_REFUNDED"
    assert order["line_items"][0]["current_quantity"] == 1
    refunds = sent(shop, "RefundCreate")
    assert connector.push_return(refund).ok
    assert sent(shop, "RefundCreate") == refunds
    assert shop.get_order(found.order_external_id)["line_items"][0]["current_quantity"] == 1


def test_a_declined_return_is_polled_declined(
    shop: ShopifySimulator, connector: ShopifyConnector
) -> None:
    found = requested(shop, connector)
    push(connector, found, ReturnAction.DECLINE, reason="The return period ended")
    seen = shop.get_return(found.external_id)
    assert seen["decline"] == {"reason": "RETURN_PERIOD_ENDED", "note": "The return period ended"}
    (page,) = list(connector.fetch_returns(None))
    assert page.returns[0].status == ReturnStatus.DECLINED


def test_the_returns_webhooks_map_to_the_return_as_polled(
    shop: ShopifySimulator, connector: ShopifyConnector, receiver: Receiver
) -> None:
    found = requested(shop, connector)
    push(connector, found, ReturnAction.APPROVE)
    push(connector, found, ReturnAction.PROCESS, (2, ReturnDisposition.MISSING, None))
    assert shop.wait_for_webhooks()
    delivered: dict[str, NormalisedReturn] = {}
    for headers, body in receiver.received:
        topic = headers["X-Shopify-Topic"]
        if topic.startswith("returns/"):
            (delivered[topic],) = connector.parse_webhook(headers, body).returns
    assert list(delivered) == [
        "returns/request",
        "returns/approve",
        "returns/process",
        "returns/close",
    ]
    # The payload carries each line's order line and units (no SKU: the order line says it).
    ((line,),) = [delivered["returns/request"].lines]
    assert (line.external_line_id, line.order_external_line_id, line.quantity) == (
        found.lines[0].external_line_id,
        found.lines[0].order_external_line_id,
        2,
    )
    assert delivered["returns/approve"].status == ReturnStatus.APPROVED
    assert delivered["returns/close"].status == ReturnStatus.CLOSED
    assert all(r.external_id == found.external_id for r in delivered.values())
