"""One kit per built-in channel type: how to build it against a mocked server, and
recorded payloads of that channel. Every registered connector must have a kit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Connector
from connectors.registry import connector_for

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
    orders_body: Callable[[], dict[str, Any]]
    """A recorded page of orders (a fresh copy on each call)."""
    listings_body: Callable[[], dict[str, Any]]
    stock_body: Callable[[], dict[str, Any]]
    """The recorded answer to pushing `stock_updates`."""
    stock_updates: list[tuple[str, int]]
    expected_stock_ok: list[bool]
    break_one_order: Callable[[dict[str, Any]], None]
    """Damage one order of a page body in place, the way a channel might."""
    expected_orders: int
    expected_listings: int
    secrets: list[str] = field(default_factory=list)

    def connector(self) -> Connector:
        cls = connector_for(self.type)
        assert cls is not None
        return cls(cls.Settings.model_validate(self.settings))


def _break_sandbox_order(body: dict[str, Any]) -> None:
    body["orders"][0]["line_items"] = "not a list"


def _break_shopify_order(body: dict[str, Any]) -> None:
    body["data"]["orders"]["nodes"][0]["createdAt"] = "yesterday-ish"


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
        secrets=["shpat_contract_kit_token", "shpss_contract_kit_secret"],
    ),
}
