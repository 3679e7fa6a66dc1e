"""The simulators ``python -m omnisync.sandbox`` runs on their own, one
:class:`StandaloneKind` each.

:data:`KINDS` is the table: ``marketplace`` (the ``sandbox`` JSON channel, the
default), ``shopify``, ``amazon``, ``ebay``, ``woocommerce`` and ``carriers``. Each entry
says only what is its own (options, constructor, stocking, addresses, the hub channel that
talks to it);
:mod:`sandbox.standalone` does the rest, the same way for all.
"""

from __future__ import annotations

import argparse
import textwrap
from datetime import timedelta
from typing import Any, Final

from omnisync.sandbox.amazon import DEFAULT_SELLER_ID, AmazonSimulator
from omnisync.sandbox.base import JSON, Serving
from omnisync.sandbox.carriers import CarrierSimulator
from omnisync.sandbox.carriers.simulator import DEFAULT_SECONDS_PER_STEP
from omnisync.sandbox.carriers.state import PROVIDERS
from omnisync.sandbox.ebay import EbaySimulator, EbaySimulatorError
from omnisync.sandbox.ebay import auth as ebay_auth
from omnisync.sandbox.marketplace import SandboxError, SandboxMarketplace
from omnisync.sandbox.marketplace.model import DEFAULT_TOKEN
from omnisync.sandbox.shopify import ShopifySimulator, ShopifySimulatorError
from omnisync.sandbox.shopify.simulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP,
)
from omnisync.sandbox.standalone import ChannelHint, StandaloneKind
from omnisync.sandbox.woocommerce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DEFAULT_WEBHOOK_SECRET,
    WooCommerceSimulator,
    WooCommerceSimulatorError,
)

SHOPIFY_LOCATION: Final = "Main warehouse"
"""The shop's location: the name of the hub's usual first location, so stock maps."""
AMAZON_SETTLE_MARGIN_S: Final = 10.0
"""The channel's orders_settle_seconds: the simulator's orders lag and this much."""
CARRIER_FILES: Final[dict[str, tuple[str, dict[str, str]]]] = {
    # provider: (channel file, credential field -> variable), as config/channels/*.example
    "ups": ("ups.yaml", {"client_id": "UPS_CLIENT_ID", "client_secret": "UPS_CLIENT_SECRET"}),
    "fedex": (
        "fedex.yaml",
        {"track_api_key": "FEDEX_TRACK_API_KEY", "track_secret_key": "FEDEX_TRACK_SECRET_KEY"},
    ),
    "dhl_universal": (
        "dhl.yaml",
        {"consumer_key": "DHL_API_KEY", "consumer_secret": "DHL_API_SECRET"},
    ),
}


def _add_rate(parser: argparse.ArgumentParser, rate: float, burst: int) -> None:
    parser.add_argument("--rate", type=float, default=rate, help="requests per second")
    parser.add_argument("--burst", type=int, default=burst, help="requests in a burst")


def _rated_serving(args: argparse.Namespace) -> Serving:
    """What a kind with :func:`_add_rate`'s options passes its simulator from the command
    line: its name, token bucket and address."""
    return {
        "name": args.name,
        "rate": args.rate,
        "burst": args.burst,
        "rate_scale": args.rate_scale,
        "host": args.host,
        "port": args.port,
    }


def _yaml(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


class MarketplaceKind(StandaloneKind[SandboxMarketplace]):
    name = "marketplace"
    summary = "the 'sandbox' JSON marketplace (the default)"
    default_name = "sandbox"
    refusals = (SandboxError,)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--token", default=DEFAULT_TOKEN, help="the API's bearer token")
        _add_rate(parser, 10.0, 20)

    def build(self, args: argparse.Namespace) -> SandboxMarketplace:
        return SandboxMarketplace(args.token, **_rated_serving(args))

    def seed(self, simulator: SandboxMarketplace, listings: list[JSON]) -> None:
        simulator.set_listings(listings)

    def addresses(self, simulator: SandboxMarketplace) -> dict[str, str]:
        return {
            "API": f"{simulator.url}/api/v1",
            "state": f"{simulator.url}/_sandbox/state",
            "control": f"{simulator.url}/_sandbox/... and /_control/...",
        }

    def channels(
        self, simulator: SandboxMarketplace, args: argparse.Namespace
    ) -> list[ChannelHint]:
        body = f"""\
            type: sandbox
            endpoint: {simulator.url}
            api_key: ${{SANDBOX_TOKEN}}
            requests_per_second: {args.rate * args.rate_scale:g}
            burst: {args.burst}
            """
        return [ChannelHint(f"{simulator.name}.yaml", _yaml(body), {"SANDBOX_TOKEN": args.token})]


class ShopifyKind(StandaloneKind[ShopifySimulator]):
    name = "shopify"
    summary = "a Shopify shop (Admin GraphQL API)"
    default_name = "shopify"
    refusals = (ShopifySimulatorError,)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--shop", default=DEFAULT_SHOP, help="the *.myshopify.com domain")
        parser.add_argument("--access-token", default=DEFAULT_ACCESS_TOKEN)
        parser.add_argument(
            "--client-secret", default=DEFAULT_CLIENT_SECRET, help="signs the webhooks"
        )
        parser.add_argument(
            "--location", default=SHOPIFY_LOCATION, help="the shop's location, stocked"
        )
        parser.add_argument("--webhook-url", help="where order webhooks go (none by default)")

    def build(self, args: argparse.Namespace) -> ShopifySimulator:
        shop = ShopifySimulator(
            args.access_token,
            name=args.name,
            shop=args.shop,
            rate_scale=args.rate_scale,
            webhook_url=args.webhook_url,
            client_secret=args.client_secret,
            host=args.host,
            port=args.port,
        )
        shop.add_location(args.location)
        return shop

    def seed(self, simulator: ShopifySimulator, listings: list[JSON]) -> None:
        simulator.set_catalogue(listings)

    def addresses(self, simulator: ShopifySimulator) -> dict[str, str]:
        return {
            "Admin GraphQL": simulator.graphql_url,
            "state": f"{simulator.url}/_simulator/state",
        }

    def channels(self, simulator: ShopifySimulator, args: argparse.Namespace) -> list[ChannelHint]:
        body = f"""\
            type: shopify
            shop: {simulator.shop}
            endpoint: {simulator.url}
            access_token: ${{SHOPIFY_ACCESS_TOKEN}}
            client_secret: ${{SHOPIFY_CLIENT_SECRET}}
            push_location: {args.location}
            """
        environment = {
            "SHOPIFY_ACCESS_TOKEN": args.access_token,
            "SHOPIFY_CLIENT_SECRET": args.client_secret,
        }
        return [ChannelHint(f"{simulator.name}.yaml", _yaml(body), environment)]


class AmazonKind(StandaloneKind[AmazonSimulator]):
    name = "amazon"
    summary = "an Amazon seller account (SP-API and Login with Amazon)"
    default_name = "amazon"
    refusals = (ValueError, TypeError)  # AmazonSimulatorError is a ValueError

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--seller-id", default=DEFAULT_SELLER_ID)
        parser.add_argument(
            "--orders-lag",
            type=float,
            default=120.0,
            help="seconds before now getOrders may read up to (Amazon: 120)",
        )
        parser.add_argument(
            "--feed-delay", type=float, default=1.0, help="seconds a feed takes to process"
        )
        parser.add_argument(
            "--sqs-endpoint",
            metavar="URL",
            help="the SQS (e.g. moto's server) whose queues ORDER_CHANGE subscriptions name; "
            "without it no notification is published",
        )

    def build(self, args: argparse.Namespace) -> AmazonSimulator:
        return AmazonSimulator(
            name=args.name,
            seller_id=args.seller_id,
            rate_scale=args.rate_scale,
            orders_lag=timedelta(seconds=args.orders_lag),
            feed_delay=args.feed_delay,
            sqs_endpoint=args.sqs_endpoint,
            host=args.host,
            port=args.port,
        )

    def seed(self, simulator: AmazonSimulator, listings: list[JSON]) -> None:
        simulator.add_listings(listings)

    def addresses(self, simulator: AmazonSimulator) -> dict[str, str]:
        addresses = {
            "SP-API": simulator.endpoint,
            "LWA": simulator.lwa_url,
            "state": f"{simulator.url}/_simulator/state",
        }
        if simulator.sqs_endpoint is not None:
            addresses["ORDER_CHANGE to SQS at"] = simulator.sqs_endpoint
        return addresses

    def channels(self, simulator: AmazonSimulator, args: argparse.Namespace) -> list[ChannelHint]:
        credentials = simulator.credentials
        body = f"""\
            type: amazon
            marketplace: US
            seller_id: {simulator.seller_id}
            endpoint: {simulator.endpoint}
            lwa_endpoint: {simulator.lwa_url}
            credentials:
              refresh_token: ${{AMAZON_REFRESH_TOKEN}}
              lwa_app_id: ${{AMAZON_LWA_APP_ID}}
              lwa_client_secret: ${{AMAZON_LWA_CLIENT_SECRET}}
            orders_settle_seconds: {args.orders_lag + AMAZON_SETTLE_MARGIN_S:g}
            """
        environment = {
            "AMAZON_REFRESH_TOKEN": credentials.refresh_token,
            "AMAZON_LWA_APP_ID": credentials.client_id,
            "AMAZON_LWA_CLIENT_SECRET": credentials.client_secret,
        }
        return [ChannelHint(f"{simulator.name}.yaml", _yaml(body), environment)]


class EbayKind(StandaloneKind[EbaySimulator]):
    name = "ebay"
    summary = "an eBay seller account (Sell Inventory and Fulfillment APIs, OAuth)"
    default_name = "ebay"
    refusals = (EbaySimulatorError,)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--marketplace-id", default="EBAY_US", help="where offers are listed")
        parser.add_argument(
            "--client-id", default=ebay_auth.DEFAULT_CLIENT_ID, help="the app's App ID"
        )
        parser.add_argument(
            "--client-secret", default=ebay_auth.DEFAULT_CLIENT_SECRET, help="its Cert ID"
        )
        parser.add_argument("--refresh-token", default=ebay_auth.DEFAULT_REFRESH_TOKEN)
        parser.add_argument(
            "--notification-url", help="where signed notifications go (none by default)"
        )
        _add_rate(parser, 50.0, 100)

    def build(self, args: argparse.Namespace) -> EbaySimulator:
        return EbaySimulator(
            client_id=args.client_id,
            client_secret=args.client_secret,
            refresh_token=args.refresh_token,
            marketplace_id=args.marketplace_id,
            notification_url=args.notification_url,
            **_rated_serving(args),
        )

    def seed(self, simulator: EbaySimulator, listings: list[JSON]) -> None:
        simulator.seed_listings(listings)

    def addresses(self, simulator: EbaySimulator) -> dict[str, str]:
        return {
            "Sell and Commerce APIs": simulator.url,
            "OAuth token": simulator.token_url,
            "consent page": simulator.consent_url(),
            "state": f"{simulator.url}/_simulator/state",
        }

    def channels(self, simulator: EbaySimulator, args: argparse.Namespace) -> list[ChannelHint]:
        body = f"""\
            type: ebay
            marketplace_id: {simulator.marketplace_id}
            endpoint: {simulator.url}
            auth_endpoint: {simulator.url}
            ru_name: {simulator.credentials.ru_name}
            credentials:
              client_id: ${{EBAY_CLIENT_ID}}
              client_secret: ${{EBAY_CLIENT_SECRET}}
              refresh_token: ${{EBAY_REFRESH_TOKEN}}
            """
        environment = {
            "EBAY_CLIENT_ID": args.client_id,
            "EBAY_CLIENT_SECRET": args.client_secret,
            "EBAY_REFRESH_TOKEN": args.refresh_token,
        }
        return [ChannelHint(f"{simulator.name}.yaml", _yaml(body), environment)]


class WooCommerceKind(StandaloneKind[WooCommerceSimulator]):
    name = "woocommerce"
    summary = "a WooCommerce shop (REST API v3, webhooks, Shipment Tracking)"
    default_name = "woocommerce"
    refusals = (WooCommerceSimulatorError,)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--consumer-key", default=DEFAULT_CONSUMER_KEY)
        parser.add_argument("--consumer-secret", default=DEFAULT_CONSUMER_SECRET)
        parser.add_argument(
            "--webhook-secret", default=DEFAULT_WEBHOOK_SECRET, help="signs the webhooks"
        )
        parser.add_argument("--webhook-url", help="where the shop's webhooks go (none by default)")
        parser.add_argument(
            "--shipment-tracking",
            action="store_true",
            help="serve the Shipment Tracking extension's routes",
        )
        parser.add_argument(
            "--duplicate-deliveries",
            type=int,
            default=0,
            help="extra deliveries of each order.created (woocommerce#28329)",
        )
        _add_rate(parser, 20.0, 40)

    def build(self, args: argparse.Namespace) -> WooCommerceSimulator:
        if args.duplicate_deliveries < 0:
            raise SystemExit("--duplicate-deliveries must be 0 or more")
        shop = WooCommerceSimulator(
            consumer_key=args.consumer_key,
            consumer_secret=args.consumer_secret,
            webhook_secret=args.webhook_secret,
            shipment_tracking=args.shipment_tracking,
            duplicate_deliveries=args.duplicate_deliveries,
            **_rated_serving(args),
        )
        if args.webhook_url:
            shop.send_webhooks_to(args.webhook_url)
        return shop

    def seed(self, simulator: WooCommerceSimulator, listings: list[JSON]) -> None:
        simulator.seed_products(
            [
                {
                    "sku": listing.get("sku"),
                    "name": listing.get("title") or listing.get("sku"),
                    "stock_quantity": listing.get("quantity", 0),
                    "manage_stock": True,
                    **({"price": listing["price"]} if listing.get("price") else {}),
                }
                for listing in listings
            ]
        )

    def addresses(self, simulator: WooCommerceSimulator) -> dict[str, str]:
        return {
            "REST API": f"{simulator.url}/wp-json/wc/v3",
            "state": f"{simulator.url}/_simulator/state",
        }

    def channels(
        self, simulator: WooCommerceSimulator, args: argparse.Namespace
    ) -> list[ChannelHint]:
        body = f"""\
            type: woocommerce
            url: {simulator.url}
            consumer_key: ${{WOO_CONSUMER_KEY}}
            consumer_secret: ${{WOO_CONSUMER_SECRET}}
            webhook_secret: ${{WOO_WEBHOOK_SECRET}}
            requests_per_second: {args.rate * args.rate_scale:g}
            burst: {args.burst}
            """
        environment = {
            "WOO_CONSUMER_KEY": args.consumer_key,
            "WOO_CONSUMER_SECRET": args.consumer_secret,
            "WOO_WEBHOOK_SECRET": args.webhook_secret,
        }
        return [ChannelHint(f"{simulator.name}.yaml", _yaml(body), environment)]


class CarriersKind(StandaloneKind[CarrierSimulator]):
    name = "carriers"
    summary = "UPS, FedEx and DHL tracking on one server"
    default_name = "carriers"
    sells = False

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--seconds-per-step",
            type=float,
            default=DEFAULT_SECONDS_PER_STEP,
            help="how long a parcel takes from one stage to the next",
        )
        _add_rate(parser, 50.0, 100)

    def build(self, args: argparse.Namespace) -> CarrierSimulator:
        return CarrierSimulator(seconds_per_step=args.seconds_per_step, **_rated_serving(args))

    def addresses(self, simulator: CarrierSimulator) -> dict[str, str]:
        return {
            "UPS, FedEx and DHL APIs": simulator.url,
            "parcels": f"{simulator.url}/_control/parcels",
        }

    def channels(self, simulator: CarrierSimulator, args: argparse.Namespace) -> list[ChannelHint]:
        hints = []
        for provider in PROVIDERS:
            file_name, variables = CARRIER_FILES[provider]
            credentials = simulator.credentials(provider)
            fields = "".join(
                f"\n  {field}: ${{{variable}}}" for field, variable in variables.items()
            )
            body = f"type: carrier\nprovider: {provider}\nendpoint: {simulator.url}\n"
            body += f"credentials:{fields}\n"
            environment = {variables[field]: value for field, value in credentials.items()}
            hints.append(ChannelHint(file_name, body, environment))
        return hints


KINDS: Final[dict[str, StandaloneKind[Any]]] = {
    kind.name: kind
    for kind in (
        MarketplaceKind(),
        ShopifyKind(),
        AmazonKind(),
        EbayKind(),
        WooCommerceKind(),
        CarriersKind(),
    )
}
DEFAULT_KIND: Final = MarketplaceKind.name
