"""One kit per built-in channel type: how to build it against a mocked server, and
recorded payloads of that channel. Every registered connector must have a kit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from omnisync.connectors.base import Connector
from omnisync.connectors.registry import connector_for

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(type_name: str, name: str) -> Any:
    return json.loads((FIXTURES / type_name / name).read_text())


@dataclass(frozen=True)
class Route:
    method: str
    path: str


@dataclass(frozen=True)
class ContractKit:
    type: str
    base_url: str
    settings: dict[str, Any]
    orders: Route
    listings: Route
    stock: Route
    orders_body: Callable[[], Any]
    """A recorded page of orders (a fresh copy on each call)."""
    listings_body: Callable[[], Any]
    stock_body: Callable[[], dict[str, Any]]
    """The recorded answer to pushing `stock_updates`."""
    stock_updates: list[tuple[str, int]]
    expected_stock_ok: list[bool]
    break_one_order: Callable[[Any], None]
    """Damage one order of a page body in place, the way a channel might."""
    expected_orders: int
    expected_listings: int
    point_orders_to: Callable[[Any, str], None]
    """Make an orders page body say, in the channel's way, that the page `token` names
    comes next."""
    point_listings_to: Callable[[Any, str], None]
    """The same for a listings page body."""
    secrets: list[str] = field(default_factory=list)
    next_page_headers: Callable[[str], dict[str, str]] | None = None
    """For a channel whose response headers, not its body, say which page comes next
    (WooCommerce's `Link`): the headers of a page after which the page `token` comes.
    The `point_*_to` hooks are not used then."""
    stock_channel_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The `channel_ids` of each stock update's listing, by SKU, for a channel that
    pushes stock by its own ids (none: the SKU is enough)."""
    connector_options: Callable[[], dict[str, Any]] = dict
    """Keyword arguments the connector is built with besides its settings."""

    def connector(self) -> Connector:
        cls = connector_for(self.type)
        assert cls is not None
        return cls(cls.Settings.model_validate(self.settings), **self.connector_options())


def _sandbox_next_page(body: dict[str, Any], token: str) -> None:
    body["next_page_token"] = token


def _shopify_next_page(connection: str) -> Callable[[dict[str, Any], str], None]:
    def point_to(body: dict[str, Any], token: str) -> None:
        body["data"][connection]["pageInfo"] = {"hasNextPage": True, "endCursor": token}

    return point_to


def _amazon_next_orders(body: dict[str, Any], token: str) -> None:
    body["pagination"] = {"nextToken": token}


def _amazon_next_listings(body: dict[str, Any], token: str) -> None:
    body["pagination"] = {"nextToken": token}


def _break_sandbox_order(body: dict[str, Any]) -> None:
    body["orders"][0]["line_items"] = "not a list"


def _break_shopify_order(body: dict[str, Any]) -> None:
    body["data"]["orders"]["nodes"][0]["createdAt"] = "yesterday-ish"


def _break_amazon_order(body: dict[str, Any]) -> None:
    body["orders"][0]["createdTime"] = "yesterday-ish"


class AmazonKitAnswers(httpx.BaseTransport):
    """What the shared contract cannot route for Amazon, answered from recorded payloads.

    The contract mocks one route per capability; Amazon also needs an LWA token before
    any call and (for a second result) the patch of a second SKU. searchOrders brings
    each order's items with it, so orders need no second route. Every other request
    goes on to the network transport, which respx mocks in the contract tests.
    """

    def __init__(self) -> None:
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/o2/token":
            return httpx.Response(200, json=recorded("amazon", "lwa_token.json"))
        if request.method == "PATCH" and path.endswith("/LID"):
            return httpx.Response(200, json=recorded("amazon", "patch_invalid.json"))
        return self._network.handle_request(request)


class EbayKitAnswers(httpx.BaseTransport):
    """What the shared contract cannot route for eBay, answered from recorded payloads:
    the OAuth token before any call, the offers of each listed SKU (CUP has none: eBay's
    404), and getOrder for the order whose buyer asked to cancel. Every other request goes
    on to the network transport, which respx mocks in the contract tests."""

    OFFERS = {"MUG": "offers_mug.json", "LID": "offers_lid.json"}

    def __init__(self) -> None:
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/identity/v1/oauth2/token":
            return httpx.Response(200, json=recorded("ebay", "token.json"))
        if path == "/sell/inventory/v1/offer":
            offers = self.OFFERS.get(request.url.params.get("sku", ""))
            if offers is None:
                return httpx.Response(404, json=recorded("ebay", "offers_none.json"))
            return httpx.Response(200, json=recorded("ebay", offers))
        if path == "/sell/fulfillment/v1/order/14-11111-00003":
            return httpx.Response(200, json=recorded("ebay", "get_order_cancel_requested.json"))
        return self._network.handle_request(request)


def _ebay_next_page(path: str) -> Callable[[dict[str, Any], str], None]:
    def point_to(body: dict[str, Any], token: str) -> None:
        body["next"] = f"{EBAY_URL}{path}?limit=200&offset={token}"

    return point_to


def _break_ebay_order(body: dict[str, Any]) -> None:
    body["orders"][0]["creationDate"] = "yesterday-ish"


class WooCommerceKitAnswers(httpx.BaseTransport):
    """What the shared contract cannot route for WooCommerce, answered from recorded
    payloads: the variations of the variable product the listings hold, and the read
    of the products a stock push makes before it writes (`include=`). Every other
    request goes on to the network transport, which respx mocks in the contract tests."""

    def __init__(self) -> None:
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == f"{WOO_REST}/products/30/variations":
            return httpx.Response(200, json=recorded("woocommerce", "variations_30.json"))
        if path == f"{WOO_REST}/products" and "include" in request.url.params:
            return httpx.Response(200, json=recorded("woocommerce", "products_read.json"))
        return self._network.handle_request(request)


def _woocommerce_next_page(token: str) -> dict[str, str]:
    return {"Link": f'<{WOO_URL}{WOO_REST}/orders?page={token}>; rel="next"'}


def _never_in_the_body(body: Any, token: str) -> None:
    raise AssertionError("WooCommerce says which page comes next in headers")


def _break_woocommerce_order(body: Any) -> None:
    body[0]["date_created_gmt"] = "yesterday-ish"


WOO_URL = "https://shop.contract.test"
WOO_REST = "/wp-json/wc/v3"

EBAY_URL = "https://api.ebay.contract.test"
EBAY_ORDERS = "/sell/fulfillment/v1/order"
EBAY_ITEMS = "/sell/inventory/v1/inventory_item"

AMAZON_URL = "https://sp-api.contract.test"
AMAZON_SELLER = "A2KITSELLER0001"

SHOPIFY_URL = "https://kit.myshopify.com"
SHOPIFY_GRAPHQL = "/admin/api/2026-10/graphql.json"


KITS = {
    "sandbox": ContractKit(
        type="sandbox",
        base_url="https://sandbox.contract.test",
        settings={"endpoint": "https://sandbox.contract.test", "api_key": "contract-key-9d2c"},
        orders=Route("GET", "/api/v1/orders"),
        listings=Route("GET", "/api/v1/listings"),
        stock=Route("POST", "/api/v1/inventory"),
        orders_body=lambda: recorded("sandbox", "orders_page.json"),
        listings_body=lambda: recorded("sandbox", "listings_page.json"),
        stock_body=lambda: recorded("sandbox", "inventory_response.json"),
        stock_updates=[("MUG", 3), ("NOPE", 1)],
        expected_stock_ok=[True, False],
        break_one_order=_break_sandbox_order,
        expected_orders=3,
        expected_listings=3,
        point_orders_to=_sandbox_next_page,
        point_listings_to=_sandbox_next_page,
        secrets=["contract-key-9d2c"],
    ),
    "shopify": ContractKit(
        type="shopify",
        base_url=SHOPIFY_URL,
        settings={
            "shop": "kit.myshopify.com",
            "access_token": "shpat_contract_kit_token",
            "client_secret": "shpss_contract_kit_secret",
            "push_location": "gid://shopify/Location/1",
        },
        orders=Route("POST", SHOPIFY_GRAPHQL),
        listings=Route("POST", SHOPIFY_GRAPHQL),
        stock=Route("POST", SHOPIFY_GRAPHQL),
        orders_body=lambda: recorded("shopify", "orders_page.json"),
        listings_body=lambda: recorded("shopify", "variants_page.json"),
        stock_body=lambda: recorded("shopify", "set_quantities.json"),
        stock_updates=[("MUG", 3), ("LID", 0)],
        expected_stock_ok=[True, True],
        break_one_order=_break_shopify_order,
        expected_orders=3,
        expected_listings=3,
        point_orders_to=_shopify_next_page("orders"),
        point_listings_to=_shopify_next_page("productVariants"),
        secrets=["shpat_contract_kit_token", "shpss_contract_kit_secret"],
    ),
    "amazon": ContractKit(
        type="amazon",
        base_url=AMAZON_URL,
        settings={
            "marketplace": "US",
            "seller_id": AMAZON_SELLER,
            "endpoint": AMAZON_URL,
            "lwa_endpoint": f"{AMAZON_URL}/auth/o2/token",
            "credentials": {
                "refresh_token": "fake-contract-kit-refresh-token",
                "lwa_app_id": "amzn1.application-oa2-client.contractkit",
                "lwa_client_secret": "amzn1.oa2-cs.v1.contract-kit-secret",
            },
        },
        orders=Route("GET", "/orders/2026-01-01/orders"),
        listings=Route("GET", f"/listings/2021-08-01/items/{AMAZON_SELLER}"),
        stock=Route("PATCH", f"/listings/2021-08-01/items/{AMAZON_SELLER}/MUG"),
        orders_body=lambda: recorded("amazon", "orders_page.json"),
        listings_body=lambda: recorded("amazon", "listings_page.json"),
        stock_body=lambda: recorded("amazon", "patch_accepted.json"),
        stock_updates=[("MUG", 3), ("LID", 0)],
        expected_stock_ok=[True, False],
        break_one_order=_break_amazon_order,
        expected_orders=3,
        expected_listings=3,
        point_orders_to=_amazon_next_orders,
        point_listings_to=_amazon_next_listings,
        secrets=[
            "fake-contract-kit-refresh-token",
            "amzn1.application-oa2-client.contractkit",
            "amzn1.oa2-cs.v1.contract-kit-secret",
            "Atza|contract-kit-access-token",
        ],
        connector_options=lambda: {"transport": AmazonKitAnswers()},
    ),
    "ebay": ContractKit(
        type="ebay",
        base_url=EBAY_URL,
        settings={
            "marketplace_id": "EBAY_US",
            "endpoint": EBAY_URL,
            "auth_endpoint": EBAY_URL,
            "credentials": {
                "client_id": "KitSelle-omnisync-PRD-0a1b2c3d4-e5f6a7b8",
                "client_secret": "PRD-kit0a1b2c3d4e5-f6a7-b8c9-d0e1",
                "refresh_token": "v^1.1#i^1#kit-refresh-token-77aa",
            },
        },
        orders=Route("GET", EBAY_ORDERS),
        listings=Route("GET", EBAY_ITEMS),
        stock=Route("POST", "/sell/inventory/v1/bulk_update_price_quantity"),
        orders_body=lambda: recorded("ebay", "orders_page.json"),
        listings_body=lambda: recorded("ebay", "inventory_items_page.json"),
        stock_body=lambda: recorded("ebay", "bulk_update_207.json"),
        stock_updates=[("MUG", 3), ("LID", 0)],
        expected_stock_ok=[True, False],
        break_one_order=_break_ebay_order,
        expected_orders=3,
        expected_listings=3,
        point_orders_to=_ebay_next_page(EBAY_ORDERS),
        point_listings_to=_ebay_next_page(EBAY_ITEMS),
        secrets=[
            "KitSelle-omnisync-PRD-0a1b2c3d4-e5f6a7b8",
            "PRD-kit0a1b2c3d4e5-f6a7-b8c9-d0e1",
            "v^1.1#i^1#kit-refresh-token-77aa",
            recorded("ebay", "token.json")["access_token"],
        ],
        connector_options=lambda: {"transport": EbayKitAnswers()},
    ),
    "woocommerce": ContractKit(
        type="woocommerce",
        base_url=WOO_URL,
        settings={
            "url": WOO_URL,
            "consumer_key": "ck_kit0123456789abcdef0123456789abcdef01",
            "consumer_secret": "cs_kit0123456789abcdef0123456789abcdef01",
            "webhook_secret": "kit-webhook-secret-5e",
        },
        orders=Route("GET", f"{WOO_REST}/orders"),
        listings=Route("GET", f"{WOO_REST}/products"),
        stock=Route("POST", f"{WOO_REST}/products/batch"),
        orders_body=lambda: recorded("woocommerce", "orders_page.json"),
        listings_body=lambda: recorded("woocommerce", "products_page.json"),
        stock_body=lambda: recorded("woocommerce", "products_batch.json"),
        stock_updates=[("MUG", 3), ("LID", 0)],
        expected_stock_ok=[True, False],
        break_one_order=_break_woocommerce_order,
        expected_orders=3,
        expected_listings=4,
        point_orders_to=_never_in_the_body,
        point_listings_to=_never_in_the_body,
        next_page_headers=_woocommerce_next_page,
        stock_channel_ids={"MUG": {"product_id": 11}, "LID": {"product_id": 12}},
        secrets=[
            "ck_kit0123456789abcdef0123456789abcdef01",
            "cs_kit0123456789abcdef0123456789abcdef01",
            "kit-webhook-secret-5e",
        ],
        connector_options=lambda: {"transport": WooCommerceKitAnswers()},
    ),
}


Answer = tuple[int, Any]


@dataclass(frozen=True)
class TrackingKit:
    """A tracking-only channel type: its settings against a server that answers with
    recorded payloads (``answer(method, path, query)``), the numbers to ask and whether
    each is known. ``track_path`` starts the path of the carrier's tracking request,
    the one the contract's failures are put on."""

    type: str
    settings: Callable[[str], dict[str, Any]]
    """The channel's settings, given the URL of the server answering recorded payloads."""
    answer: Callable[[str, str, dict[str, str]], Answer]
    track_path: str
    numbers: list[str]
    expected_found: list[bool]
    secrets: list[str] = field(default_factory=list)

    def connector(self, url: str, **overrides: Any) -> Connector:
        cls = connector_for(self.type)
        assert cls is not None
        return cls(cls.Settings.model_validate({**self.settings(url), **overrides}))


def _ups_answer(method: str, path: str, query: dict[str, str]) -> Answer:
    if path == "/security/v1/oauth/token":
        return 200, recorded("carrier", "ups_token.json")
    number = path.rsplit("/", 1)[-1]
    known = {
        "1Z5338FF0107231059": "ups_track_out_for_delivery.json",
        "1Z5338FF0107231060": "ups_track_delivered.json",
    }
    if number in known:
        return 200, recorded("carrier", known[number])
    return 404, recorded("carrier", "ups_not_found.json")


def _fedex_answer(method: str, path: str, query: dict[str, str]) -> Answer:
    if path == "/oauth/token":
        return 200, recorded("carrier", "fedex_token.json")
    if path == "/track/v1/trackingnumbers":
        return 200, recorded("carrier", "fedex_track.json")
    return 401, {"errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "no token"}]}


def _dhl_answer(method: str, path: str, query: dict[str, str]) -> Answer:
    if query.get("trackingNumber") == "00340434292135100186":
        return 200, recorded("carrier", "dhl_track.json")
    return 404, recorded("carrier", "dhl_not_found.json")


TRACKING_KITS = {
    "carrier-ups": TrackingKit(
        type="carrier",
        settings=lambda url: {
            "provider": "ups",
            "endpoint": url,
            "credentials": {"client_id": "kit-ups-client-id", "client_secret": "kit-ups-secret-7f"},
        },
        answer=_ups_answer,
        track_path="/api/track/v1/details/",
        numbers=["1Z5338FF0107231059", "1Z5338FF0107239999", "1Z5338FF0107231060"],
        expected_found=[True, False, True],
        secrets=["kit-ups-secret-7f", recorded("carrier", "ups_token.json")["access_token"]],
    ),
    "carrier-fedex": TrackingKit(
        type="carrier",
        settings=lambda url: {
            "provider": "fedex",
            "endpoint": url,
            "credentials": {
                "track_api_key": "kit-fedex-track-key",
                "track_secret_key": "kit-fedex-secret-3c",
            },
        },
        answer=_fedex_answer,
        track_path="/track/v1/trackingnumbers",
        numbers=["794953535000", "794953535001", "794953535002"],
        expected_found=[True, True, False],
        secrets=["kit-fedex-secret-3c", recorded("carrier", "fedex_token.json")["access_token"]],
    ),
    "carrier-dhl": TrackingKit(
        type="carrier",
        settings=lambda url: {
            "provider": "dhl_universal",
            "endpoint": url,
            "credentials": {
                "consumer_key": "kit-dhl-key-91",
                "consumer_secret": "kit-dhl-secret-4d",
            },
        },
        answer=_dhl_answer,
        track_path="/track/shipments",
        numbers=["00340434292135100999", "00340434292135100186"],
        expected_found=[False, True],
        secrets=["kit-dhl-key-91", "kit-dhl-secret-4d"],
    ),
}
"""Tracking-only types (carriers): karrio sends its requests with urllib, which respx
cannot intercept, so these kits answer from a real loopback server instead."""
