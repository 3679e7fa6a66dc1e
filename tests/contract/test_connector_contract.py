"""The contract every registered connector keeps (connectors/base.py), on recorded payloads
and on every kind of failure a channel produces."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import httpx
import pytest
import respx

from omnisync.connectors.base import (
    CAPABILITY_METHODS,
    AuthError,
    Capability,
    Connector,
    ConnectorError,
    ConnectorSettings,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.pagination import RepeatedPageToken
from omnisync.connectors.registry import connector_for, known_types
from omnisync.core.dto import ChannelListing, NormalisedOrder, StockUpdate
from tests.contract.kits import KITS, TRACKING_KITS, ContractKit


def built_in_types() -> list[str]:
    return [
        name
        for name in known_types()
        if (cls := connector_for(name)) is not None
        and cls.__module__.startswith("omnisync.connectors.")
    ]


def test_every_built_in_connector_has_a_contract_kit() -> None:
    tracking_types = {kit.type for kit in TRACKING_KITS.values()}
    covered = set(KITS) | tracking_types
    assert set(built_in_types()) <= covered, "add a kit in tests/contract/kits.py"


@pytest.fixture(params=sorted(KITS))
def kit(request: pytest.FixtureRequest) -> ContractKit:
    return KITS[request.param]


@pytest.fixture
def router(kit: ContractKit) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=kit.base_url, assert_all_called=False) as mock:
        yield mock


def test_declared_capabilities_are_implemented(kit: ContractKit) -> None:
    cls = connector_for(kit.type)
    assert cls is not None
    assert issubclass(cls.Settings, ConnectorSettings)
    assert cls.capabilities
    for capability in cls.capabilities:
        method = CAPABILITY_METHODS[capability]
        assert getattr(cls, method) is not getattr(Connector, method), (
            f"{kit.type} declares {capability} but does not implement {method}"
        )


def test_recorded_orders_map_to_valid_orders(kit: ContractKit, router: respx.MockRouter) -> None:
    router.route(method=kit.orders.method, path=kit.orders.path).respond(json=kit.orders_body())
    pages = list(kit.connector().fetch_orders(None))
    orders = [order for page in pages for order in page.orders]
    assert len(orders) == kit.expected_orders
    assert all(isinstance(order, NormalisedOrder) for order in orders)
    assert all(order.lines for order in orders)
    assert not [item for page in pages for item in page.rejected]
    assert pages[-1].cursor == max(order.updated_at for order in orders)


def test_one_broken_order_is_rejected_and_the_rest_of_the_page_goes_on(
    kit: ContractKit, router: respx.MockRouter
) -> None:
    body = kit.orders_body()
    kit.break_one_order(body)
    router.route(method=kit.orders.method, path=kit.orders.path).respond(json=body)
    (page,) = list(kit.connector().fetch_orders(None))
    assert len(page.orders) == kit.expected_orders - 1
    (rejected,) = page.rejected
    assert rejected.raw
    assert rejected.reason
    assert rejected.external_id


def test_recorded_listings_map(kit: ContractKit, router: respx.MockRouter) -> None:
    if Capability.LISTINGS not in type(kit.connector()).capabilities:
        pytest.skip(f"{kit.type} reads no listings")
    router.route(method=kit.listings.method, path=kit.listings.path).respond(
        json=kit.listings_body()
    )
    listings = list(kit.connector().fetch_listings())
    assert len(listings) == kit.expected_listings
    assert all(isinstance(listing, ChannelListing) for listing in listings)


def stock_update(kit: ContractKit, sku: str, quantity: int) -> StockUpdate:
    return StockUpdate(
        channel_sku=sku, quantity=quantity, channel_ids=kit.stock_channel_ids.get(sku, {})
    )


def test_stock_push_gives_one_result_per_update(kit: ContractKit, router: respx.MockRouter) -> None:
    router.route(method=kit.stock.method, path=kit.stock.path).respond(json=kit.stock_body())
    updates = [stock_update(kit, sku, q) for sku, q in kit.stock_updates]
    results = kit.connector().push_stock(updates)
    assert [result.key for result in results] == [sku for sku, _ in kit.stock_updates]
    assert [result.ok for result in results] == kit.expected_stock_ok
    assert all(result.error for result in results if not result.ok)


def pointing_to(
    kit: ContractKit, body: Any, token: str, point_to: Callable[[Any, str], None]
) -> httpx.Response:
    """A page answer that says, in the channel's way, that the page `token` comes next."""
    if kit.next_page_headers is not None:
        return httpx.Response(200, json=body, headers=kit.next_page_headers(token))
    point_to(body, token)
    return httpx.Response(200, json=body)


def test_following_page_tokens_reads_every_page(kit: ContractKit, router: respx.MockRouter) -> None:
    first = pointing_to(kit, kit.orders_body(), "page-2", kit.point_orders_to)
    last = httpx.Response(200, json=kit.orders_body())
    router.route(method=kit.orders.method, path=kit.orders.path).mock(side_effect=[first, last])
    pages = list(kit.connector().fetch_orders(None))
    assert len(pages) == 2
    second = router.calls[-1].request
    assert "page-2" in f"{second.url} {second.content.decode()}"  # asked with the token


def at_most(items: Iterable[object], count: int) -> list[object]:
    """The first `count` items: a connector that loops over pages fails, never hangs."""
    return list(islice(items, count))


def test_a_channel_repeating_its_orders_page_token_fails_the_read(
    kit: ContractKit, router: respx.MockRouter
) -> None:
    answer = pointing_to(kit, kit.orders_body(), "the-same-token", kit.point_orders_to)
    route = router.route(method=kit.orders.method, path=kit.orders.path).mock(
        side_effect=lambda request: answer
    )
    with pytest.raises(RepeatedPageToken, match="repeated the page token 'the-same-token'"):
        at_most(kit.connector().fetch_orders(None), 10)
    assert route.call_count == 2


def test_a_channel_repeating_its_listings_page_token_fails_the_read(
    kit: ContractKit, router: respx.MockRouter
) -> None:
    answer = pointing_to(kit, kit.listings_body(), "the-same-token", kit.point_listings_to)
    route = router.route(method=kit.listings.method, path=kit.listings.path).mock(
        side_effect=lambda request: answer
    )
    with pytest.raises(RepeatedPageToken, match="repeated the page token 'the-same-token'"):
        at_most(kit.connector().fetch_listings(), 10 * kit.expected_listings)
    assert route.call_count == 2


FAILURES: list[tuple[str, Callable[[respx.Route], Any], type[ConnectorError]]] = [
    ("429", lambda r: r.respond(429, headers={"Retry-After": "2"}, json={}), RateLimited),
    ("500", lambda r: r.respond(500, text="oops"), TransientError),
    ("503", lambda r: r.respond(503), TransientError),
    ("timeout", lambda r: r.mock(side_effect=httpx.ReadTimeout("slow")), TransientError),
    ("refused", lambda r: r.mock(side_effect=httpx.ConnectError("refused")), TransientError),
    ("not json", lambda r: r.respond(200, text="<html>gateway</html>"), TransientError),
    ("401", lambda r: r.respond(401, json={"error": "unauthorized"}), AuthError),
    ("403", lambda r: r.respond(403, json={"error": "forbidden"}), AuthError),
    ("400", lambda r: r.respond(400, json={"error": "bad request"}), PermanentError),
]


@pytest.mark.parametrize(("name", "answer", "expected"), FAILURES, ids=[f[0] for f in FAILURES])
@pytest.mark.parametrize("operation", ["orders", "stock"])
def test_failures_become_the_right_errors(
    kit: ContractKit,
    router: respx.MockRouter,
    operation: str,
    name: str,
    answer: Callable[[respx.Route], Any],
    expected: type[ConnectorError],
) -> None:
    route = kit.orders if operation == "orders" else kit.stock
    answer(router.route(method=route.method, path=route.path))
    connector = kit.connector()

    def call() -> object:
        if operation == "orders":
            return list(connector.fetch_orders(None))
        return connector.push_stock([stock_update(kit, "MUG", 1)])

    with pytest.raises(expected) as raised:
        call()
    if expected is RateLimited:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == 2.0
    assert all(secret not in str(raised.value) for secret in kit.secrets)
