"""The eBay connector against respx: orders paged by offset as eBay's `next` says, with
the lastmodifieddate filter; cancel requests read through getOrder only for orders whose
cancelState says there is one; listings with their offers; bulk stock updates (200, 207
with a failed item, never more than 25 SKUs a call); fulfilments, once; and check()."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx

from omnisync.connectors.base import AuthError, PayloadError, RateLimited
from omnisync.connectors.ebay.connector import EbayConnector
from omnisync.connectors.ebay.settings import EbaySettings
from omnisync.core.dto import Fulfilment, FulfilmentLine, StockUpdate
from omnisync.core.types import OrderStatus
from tests.contract.kits import KITS, recorded

KIT = KITS["ebay"]
ORDERS = "/sell/fulfillment/v1/order"
ITEMS = "/sell/inventory/v1/inventory_item"
OFFERS = "/sell/inventory/v1/offer"
BULK = "/sell/inventory/v1/bulk_update_price_quantity"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=KIT.base_url, assert_all_called=False) as mock:
        mock.post("/identity/v1/oauth2/token").respond(json=recorded("ebay", "token.json"))
        yield mock


def connector(**settings: Any) -> EbayConnector:
    return EbayConnector(EbaySettings.model_validate({**KIT.settings, **settings}))


def query(call: Any) -> dict[str, str]:
    return dict(call.request.url.params)


def sent(call: Any) -> Any:
    return json.loads(call.request.content)


# orders -------------------------------------------------------------------------------


def test_orders_are_read_since_a_time_by_offset_while_ebay_names_a_next_page(
    router: respx.MockRouter,
) -> None:
    first, last = recorded("ebay", "orders_page.json"), recorded("ebay", "orders_page.json")
    first["orders"], last["orders"] = first["orders"][:2], first["orders"][:1]
    first["next"] = f"{KIT.base_url}{ORDERS}?limit=2&offset=2"
    orders = router.get(ORDERS).mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=last)]
    )
    since = datetime(2026, 3, 2, 10, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    pages = list(connector(page_size=2).fetch_orders(since))
    assert [len(page.orders) for page in pages] == [2, 1]
    assert [query(call) for call in orders.calls] == [
        {"filter": "lastmodifieddate:[2026-03-02T08:04:05.123Z..]", "limit": "2", "offset": "0"},
        {"filter": "lastmodifieddate:[2026-03-02T08:04:05.123Z..]", "limit": "2", "offset": "2"},
    ]
    assert pages[0].cursor == datetime(2026, 3, 2, 12, 30, 0, 250000, tzinfo=UTC)


def test_without_a_start_every_order_ebay_keeps_is_read(router: respx.MockRouter) -> None:
    body = recorded("ebay", "orders_page.json")
    body["orders"] = body["orders"][:1]
    orders = router.get(ORDERS).respond(json=body)
    list(connector().fetch_orders(None))
    assert query(orders.calls[0]) == {"limit": "200", "offset": "0"}


def test_cancel_requests_are_read_with_get_order_only_where_cancel_state_says_so(
    router: respx.MockRouter,
) -> None:
    router.get(ORDERS).respond(json=recorded("ebay", "orders_page.json"))
    get_order = router.get(re.compile(rf"{ORDERS}/(?P<order_id>[^/]+)$")).respond(
        json=recorded("ebay", "get_order_cancel_requested.json")
    )
    (page,) = list(connector().fetch_orders(None))
    assert [call.request.url.path for call in get_order.calls] == [f"{ORDERS}/14-11111-00003"]
    calm, partial, asked = page.orders
    assert not any(line.buyer_cancel_requested for line in calm.lines + partial.lines)
    (line,) = asked.lines
    assert line.buyer_cancel_requested
    assert line.buyer_cancel_reason == "ORDERED_BY_MISTAKE"
    assert asked.status is OrderStatus.ACCEPTED
    assert asked.channel_status == "NOT_STARTED/PAID/CANCEL_IN_PROGRESS"


def test_a_page_keeps_going_past_an_order_it_cannot_map(router: respx.MockRouter) -> None:
    body = recorded("ebay", "orders_page.json")
    body["orders"][1]["orderFulfillmentStatus"] = "SOMETHING_NEW"
    router.get(ORDERS).respond(json=body)
    router.get(f"{ORDERS}/14-11111-00003").respond(
        json=recorded("ebay", "get_order_cancel_requested.json")
    )
    (page,) = list(connector().fetch_orders(None))
    assert [order.external_id for order in page.orders] == ["14-11111-00001", "14-11111-00003"]
    (rejected,) = page.rejected
    assert rejected.external_id == "14-11111-00002"
    assert "SOMETHING_NEW" in rejected.reason


def test_an_order_whose_cancel_requests_cannot_be_read_is_kept_as_listed(
    router: respx.MockRouter,
) -> None:
    router.get(ORDERS).respond(json=recorded("ebay", "orders_page.json"))
    router.get(f"{ORDERS}/14-11111-00003").respond(404)
    (page,) = list(connector().fetch_orders(None))
    assert len(page.orders) == 2
    (rejected,) = page.rejected
    assert rejected.external_id == "14-11111-00003"
    assert json.loads(rejected.raw)["orderId"] == "14-11111-00003"


def test_fetch_order_maps_get_order_and_an_unknown_order_is_a_payload_error(
    router: respx.MockRouter,
) -> None:
    router.get(f"{ORDERS}/14-11111-00003").respond(
        json=recorded("ebay", "get_order_cancel_requested.json")
    )
    router.get(f"{ORDERS}/99-00000-00000").respond(
        404, json={"errors": [{"errorId": 32100, "message": "Invalid order ID: 99-00000-00000"}]}
    )
    ebay = connector()
    assert ebay.fetch_order("14-11111-00003").lines[0].buyer_cancel_requested
    with pytest.raises(PayloadError, match="32100: Invalid order ID") as raised:
        ebay.fetch_order("99-00000-00000")
    assert raised.value.external_id == "99-00000-00000"


def test_a_throttled_read_waits_as_told_or_a_minute(router: respx.MockRouter) -> None:
    router.get(ORDERS).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(429, json={"errors": [{"errorId": 2001, "message": "Too many"}]}),
        ]
    )
    ebay = connector()
    with pytest.raises(RateLimited) as told:
        list(ebay.fetch_orders(None))
    with pytest.raises(RateLimited) as untold:
        list(ebay.fetch_orders(None))
    assert (told.value.retry_after, untold.value.retry_after) == (7.0, 60.0)
    assert "2001: Too many" in str(untold.value)


def test_a_missing_scope_is_an_auth_error(router: respx.MockRouter) -> None:
    router.get(ORDERS).respond(
        403, json={"errors": [{"errorId": 1100, "message": "Access denied"}]}
    )
    with pytest.raises(AuthError, match=r"1100: Access denied.*ebay-install"):
        list(connector().fetch_orders(None))


# listings -----------------------------------------------------------------------------


def offers_for(request: httpx.Request) -> httpx.Response:
    files = {"MUG": "offers_mug.json", "LID": "offers_lid.json"}
    name = files.get(request.url.params["sku"])
    if name is None:
        return httpx.Response(404, json=recorded("ebay", "offers_none.json"))
    return httpx.Response(200, json=recorded("ebay", name))


def test_listings_are_the_inventory_items_with_their_offers_on_our_marketplace(
    router: respx.MockRouter,
) -> None:
    first = recorded("ebay", "inventory_items_page.json")
    last = recorded("ebay", "inventory_items_page.json")
    first["inventoryItems"], last["inventoryItems"] = (
        first["inventoryItems"][:2],
        last["inventoryItems"][2:],
    )
    first["next"] = f"{KIT.base_url}{ITEMS}?limit=2&offset=1"  # the page number, as eBay says
    items = router.get(ITEMS).mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=last)]
    )
    offers = router.get(OFFERS).mock(side_effect=offers_for)
    mug, lid, cup = list(connector(page_size=2, marketplace_id="EBAY_US").fetch_listings())
    assert [query(call) for call in items.calls] == [
        {"limit": "2", "offset": "0"},
        {"limit": "2", "offset": "1"},
    ]
    assert [query(call) for call in offers.calls] == [
        {"sku": sku, "marketplace_id": "EBAY_US"} for sku in ("MUG", "LID", "CUP")
    ]
    assert (mug.channel_sku, mug.quantity, mug.barcode) == ("MUG", 10, "4006381333931")
    assert mug.channel_ids == {"offers": [{"offerId": "6100000011", "listingId": "110000000001"}]}
    assert (lid.quantity, lid.barcode) == (4, "036000291452")
    assert [offer["offerId"] for offer in lid.channel_ids["offers"]] == ["6100000021"]
    assert (cup.channel_ids, cup.quantity) == ({"offers": []}, 7)


def test_offers_of_another_marketplace_are_not_ours(router: respx.MockRouter) -> None:
    body = recorded("ebay", "inventory_items_page.json")
    body["inventoryItems"] = body["inventoryItems"][:1]
    router.get(ITEMS).respond(json=body)
    router.get(OFFERS).mock(side_effect=offers_for)
    (mug,) = list(connector(marketplace_id="EBAY_GB").fetch_listings())
    assert mug.channel_ids == {"offers": []}
    assert mug.quantity == 12


# stock --------------------------------------------------------------------------------


def updates(count: int) -> list[StockUpdate]:
    return [
        StockUpdate(
            channel_sku=f"SKU-{n}",
            quantity=n,
            channel_ids={"offers": [{"offerId": f"61{n:04d}", "listingId": f"11{n:04d}"}]},
        )
        for n in range(count)
    ]


def all_ok(request: httpx.Request) -> httpx.Response:
    sent_requests = json.loads(request.content)["requests"]
    responses = [{"statusCode": 200, "sku": entry["sku"]} for entry in sent_requests]
    responses += [
        {"statusCode": 200, "sku": entry["sku"], "offerId": offer["offerId"]}
        for entry in sent_requests
        for offer in entry.get("offers", [])
    ]
    return httpx.Response(200, json={"responses": responses})


def test_a_push_sets_each_items_and_each_offers_quantity_in_one_call(
    router: respx.MockRouter,
) -> None:
    bulk = router.post(BULK).mock(side_effect=all_ok)
    results = connector().push_stock(updates(2))
    assert [(result.key, result.ok, result.quantity) for result in results] == [
        ("SKU-0", True, 0),
        ("SKU-1", True, 1),
    ]
    (call,) = bulk.calls
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == {
        "requests": [
            {
                "sku": f"SKU-{n}",
                "shipToLocationAvailability": {"quantity": n},
                "offers": [{"offerId": f"61{n:04d}", "availableQuantity": n}],
            }
            for n in range(2)
        ]
    }


def test_a_207_acknowledges_what_succeeded_and_keeps_ebays_words_for_the_rest(
    router: respx.MockRouter,
) -> None:
    router.post(BULK).respond(207, json=recorded("ebay", "bulk_update_207.json"))
    mug, lid = connector().push_stock(
        [StockUpdate(channel_sku="MUG", quantity=3), StockUpdate(channel_sku="LID", quantity=0)]
    )
    assert (mug.ok, mug.quantity) == (True, 3)
    assert not lid.ok
    assert lid.error == "25702: SKU LID is not available in the system"
    assert not lid.retriable


def test_never_more_than_25_skus_go_in_one_call(router: respx.MockRouter) -> None:
    assert EbayConnector.stock_batch_size == 25
    bulk = router.post(BULK).mock(side_effect=all_ok)
    results = connector().push_stock(updates(60))
    assert [len(sent(call)["requests"]) for call in bulk.calls] == [25, 25, 10]
    assert [result.key for result in results] == [f"SKU-{n}" for n in range(60)]
    assert all(result.ok for result in results)


def test_the_channel_declares_ebays_revision_limit() -> None:
    assert EbayConnector.daily_revision_limit == 250


# fulfilments --------------------------------------------------------------------------


FULFILMENT = Fulfilment(
    order_external_id="14-11111-00001",
    lines=(FulfilmentLine(external_line_id="10000000000101", quantity=2),),
    carrier="USPS",
    tracking_number="9400 1000-0000 0000 0001",
    idempotency_key="k1",
)
SHIPPING = f"{ORDERS}/14-11111-00001/shipping_fulfillment"


def fulfilments(*numbers: str) -> dict[str, Any]:
    return {
        "total": len(numbers),
        "fulfillments": [
            {
                "fulfillmentId": number,
                "shipmentTrackingNumber": number,
                "shippingCarrierCode": "USPS",
                "lineItems": [{"lineItemId": "10000000000101", "quantity": 2}],
            }
            for number in numbers
        ],
    }


def test_a_fulfilment_is_created_with_its_lines_carrier_and_tracking(
    router: respx.MockRouter,
) -> None:
    router.get(SHIPPING).respond(json=fulfilments())
    create = router.post(SHIPPING).respond(
        201, headers={"Location": f"{KIT.base_url}{SHIPPING}/94001000000000000001"}, json={}
    )
    result = connector().push_fulfilment(FULFILMENT)
    assert (result.key, result.ok) == ("14-11111-00001", True)
    body = sent(create.calls[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body.pop("shippedDate"))
    assert body == {
        "lineItems": [{"lineItemId": "10000000000101", "quantity": 2}],
        "shippingCarrierCode": "USPS",
        "trackingNumber": "94001000000000000001",  # eBay takes letters and digits only
    }


def test_a_fulfilment_is_posted_once_without_reading_the_order_first(
    router: respx.MockRouter,
) -> None:
    read = router.get(SHIPPING).respond(json=fulfilments())
    create = router.post(SHIPPING).respond(201)
    assert connector().push_fulfilment(FULFILMENT).ok
    assert create.call_count == 1
    assert not read.called  # one call of the Fulfillment API's daily budget


def test_a_refusal_for_a_fulfilment_that_is_there_after_all_is_done(
    router: respx.MockRouter,
) -> None:
    """An earlier push whose answer was lost: eBay refuses to ship the units again, and
    its fulfilments show this tracking number."""
    router.get(SHIPPING).respond(json=fulfilments("94001000000000000001"))
    router.post(SHIPPING).respond(409)
    assert connector().push_fulfilment(FULFILMENT).ok


def test_a_refused_fulfilment_keeps_ebays_words(router: respx.MockRouter) -> None:
    router.get(SHIPPING).respond(json=fulfilments("OTHER1"))
    router.post(SHIPPING).respond(
        400, json={"errors": [{"errorId": 32200, "message": "Invalid line item id"}]}
    )
    result = connector().push_fulfilment(FULFILMENT)
    assert not result.ok
    assert result.error is not None
    assert "32200: Invalid line item id" in result.error


def test_ebay_cancels_orders_in_seller_hub() -> None:
    assert "Seller Hub" in EbayConnector.manual_cancel_hint


# check --------------------------------------------------------------------------------


def test_check_reads_one_item_and_one_order_and_names_what_is_wrong(
    router: respx.MockRouter,
) -> None:
    items = router.get(ITEMS).respond(json={"inventoryItems": [], "total": 0})
    orders = router.get(ORDERS).respond(json={"orders": [], "total": 0})
    assert connector().check() == []
    assert query(items.calls[0]) == query(orders.calls[0]) == {"limit": "1", "offset": "0"}
    notification = {"verification_token": "t" * 40}
    (problem,) = connector(notification=notification).check()
    assert problem.startswith("notification.endpoint_url")
    router.get(ITEMS).respond(403, json={"errors": [{"errorId": 1100, "message": "Denied"}]})
    (problem,) = connector().check()
    assert problem.startswith("AuthError: getInventoryItems: HTTP 403 1100: Denied")
