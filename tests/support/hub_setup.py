"""A hub wired to simulated marketplaces: config folder, migrated database, sync engine."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path

from omnisync.hub.bootstrap import Hub, bootstrap, engine_channels
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.ebay import EbaySimulator
from omnisync.sandbox.woocommerce import WooCommerceSimulator
from omnisync.sync.calls import RetryPolicy
from omnisync.sync.engine import SyncEngine
from tests.support.databases import migrated_sqlite_file
from tests.support.queue_mode import QUEUE_MODE, RUNNER_YAML, QueueSyncEngine

FAST_RETRIES = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)


def write_config(
    folder: Path,
    channels: dict[str, str],
    *,
    locations: Iterable[str] = ("main", "backup"),
) -> Path:
    """A config folder with `locations` and one channel file per entry (name -> YAML);
    under OMNISYNC_TEST_RUNNER=procrastinate, hub.yaml names that runner (queue_mode.py)."""
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    lines = ["http: {port: 0}", "locations:"] + [f"  - code: {code}" for code in locations]
    (folder / "hub.yaml").write_text("\n".join(lines) + "\n" + (RUNNER_YAML if QUEUE_MODE else ""))
    for name, text in channels.items():
        (folder / "channels" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return folder


def sandbox_channel(
    url: str, *, key_var: str = "SB_KEY", extra: str = "", timeout: float = 1.0
) -> str:
    return textwrap.dedent(
        f"""\
        type: sandbox
        endpoint: {url}
        api_key: ${{{key_var}}}
        page_size: 50
        timeout_seconds: {timeout}
        requests_per_second: 1000
        burst: 1000
        sync:
          lag: 2m
          backfill: 1d
          item_backoff: 30s
        """
    ) + textwrap.dedent(extra)


def open_test_hub(config_dir: Path, database_url: str) -> Hub:
    """The hub as after `omnisync init`: the migrations applied (a SQLite file not there yet
    is a copy of one this process migrated, so the migrations find nothing to do)."""
    migrated_sqlite_file(database_url)
    return bootstrap(config_dir, database_url=database_url, create=True)


def engine_for(hub: Hub, **kwargs: object) -> SyncEngine:
    """The engine a test runs jobs with; in the queue mode (a hub of runner `procrastinate`)
    each run is a task a procrastinate worker runs (queue_mode.QueueSyncEngine)."""
    if QUEUE_MODE and hub.targets is not None:
        return QueueSyncEngine(
            hub.settings.database_url,
            hub.targets,
            hub.engine,
            engine_channels(hub.settings),
            secrets=hub.settings.secrets,
            retry=FAST_RETRIES,
            **kwargs,
        )
    return SyncEngine(
        hub.engine,
        engine_channels(hub.settings),
        secrets=hub.settings.secrets,
        retry=FAST_RETRIES,
        **kwargs,  # type: ignore[arg-type]
    )


def shopify_channel(url: str, *, extra: str = "") -> str:
    """A Shopify channel file for the Shopify simulator at `url` (tokens from SHOP_TOKEN and
    SHOP_SECRET)."""
    return (
        "type: shopify\n"
        "shop: omnisync-demo.myshopify.com\n"
        f"endpoint: {url}\n"
        "access_token: ${SHOP_TOKEN}\n"
        "client_secret: ${SHOP_SECRET}\n"
        "push_location: Main warehouse\n"
        "timeout_seconds: 5\n"
    ) + extra


def credentials_block(variables: Mapping[str, str]) -> str:
    """A channel file's ``credentials:`` block: each field read from its variable."""
    return "credentials:\n" + "".join(
        f"  {field}: ${{{variable}}}\n" for field, variable in variables.items()
    )


AMAZON_VARIABLES = {
    "refresh_token": "AMZ_REFRESH_TOKEN",
    "lwa_app_id": "AMZ_APP_ID",
    "lwa_client_secret": "AMZ_CLIENT_SECRET",
}
"""amazon_channel's credential fields and the variables they come from (`amazon_env`)."""


def amazon_channel(simulator: AmazonSimulator, *, extra: str = "") -> str:
    """An Amazon channel file for `simulator` (credentials from AMZ_REFRESH_TOKEN, AMZ_APP_ID
    and AMZ_CLIENT_SECRET)."""
    where = (
        "type: amazon\n"
        "marketplace: US\n"
        f"seller_id: {simulator.seller_id}\n"
        f"endpoint: {simulator.endpoint}\n"
        f"lwa_endpoint: {simulator.lwa_url}\n"
    )
    return where + credentials_block(AMAZON_VARIABLES) + extra


def amazon_env(simulator: AmazonSimulator) -> dict[str, str]:
    """The environment amazon_channel's credentials come from, set to `simulator`'s."""
    credentials = simulator.credentials
    return {
        "AMZ_REFRESH_TOKEN": credentials.refresh_token,
        "AMZ_APP_ID": credentials.client_id,
        "AMZ_CLIENT_SECRET": credentials.client_secret,
    }


def settling_amazon_channel(simulator: AmazonSimulator, settle: timedelta) -> str:
    """amazon_channel for a simulator whose getOrders reads up to `settle` before now: the
    channel settles orders for as long, polls feeds every 20 ms (the simulator processes
    them at once), gives a call 10 s and reads orders with a 2-minute lag and a day's
    backfill."""
    return amazon_channel(
        simulator,
        extra=(
            "timeout_seconds: 10\n"
            "feed_poll_seconds: 0.02\n"
            "feed_timeout_seconds: 20\n"
            f"orders_settle_seconds: {settle.total_seconds()}\n"
            "sync: {lag: 2m, backfill: 1d}\n"
        ),
    )


EBAY_VARIABLES = {
    "client_id": "EBAY_CLIENT_ID",
    "client_secret": "EBAY_CLIENT_SECRET",
    "refresh_token": "EBAY_REFRESH_TOKEN",
}
"""ebay_channel's credential fields and the variables they come from (`ebay_env`)."""


def ebay_channel(simulator: EbaySimulator, *, extra: str = "") -> str:
    """An eBay channel file for `simulator` on its marketplace (credentials from
    EBAY_CLIENT_ID, EBAY_CLIENT_SECRET and EBAY_REFRESH_TOKEN: `ebay_env`)."""
    where = (
        "type: ebay\n"
        f"marketplace_id: {simulator.marketplace_id}\n"
        f"endpoint: {simulator.url}\n"
        f"auth_endpoint: {simulator.url}\n"
    )
    pace = "timeout_seconds: 5\nsync: {lag: 2m, backfill: 1d, item_backoff: 30s}\n"
    return where + credentials_block(EBAY_VARIABLES) + pace + extra


def ebay_env(simulator: EbaySimulator) -> dict[str, str]:
    """The environment ebay_channel's credentials come from, set to `simulator`'s."""
    credentials = simulator.credentials
    return {
        "EBAY_CLIENT_ID": credentials.client_id,
        "EBAY_CLIENT_SECRET": credentials.client_secret,
        "EBAY_REFRESH_TOKEN": credentials.refresh_token,
    }


WOOCOMMERCE_VARIABLES = {
    "consumer_key": "WOO_CONSUMER_KEY",
    "consumer_secret": "WOO_CONSUMER_SECRET",
    "webhook_secret": "WOO_WEBHOOK_SECRET",
}
"""woocommerce_channel's secret fields and the variables they come from (`woocommerce_env`)."""


def woocommerce_channel(simulator: WooCommerceSimulator, *, extra: str = "") -> str:
    """A WooCommerce channel file for the shop `simulator` serves (keys from
    WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET and WOO_WEBHOOK_SECRET: `woocommerce_env`)."""
    secrets = "".join(
        f"{field}: ${{{variable}}}\n" for field, variable in WOOCOMMERCE_VARIABLES.items()
    )
    pace = (
        "requests_per_second: 1000\nburst: 1000\ntimeout_seconds: 5\n"
        "sync: {lag: 2m, backfill: 1d, item_backoff: 30s}\n"
    )
    return f"type: woocommerce\nurl: {simulator.url}\n" + secrets + pace + extra


def woocommerce_env(simulator: WooCommerceSimulator) -> dict[str, str]:
    """The environment woocommerce_channel's keys come from, set to `simulator`'s."""
    return {
        "WOO_CONSUMER_KEY": simulator.consumer_key,
        "WOO_CONSUMER_SECRET": simulator.consumer_secret,
        "WOO_WEBHOOK_SECRET": simulator.webhook_secret,
    }
