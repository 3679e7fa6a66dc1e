"""b4_bulk_push (Shopify): 10,000 changed quantities pushed through the real stock job
against the Shopify simulator at bucket 1000 / restore 100, next to the floor.

The floor is what the bucket arithmetic allows on this machine: the same
inventorySetQuantities calls (250 quantities each, pre-built) sent back to back
by a bare HTTP client that, before each call, waits exactly as long as the
simulator's last reported throttle status says the bucket needs to hold the
call's cost. Bucket arithmetic alone (total cost beyond what the bucket holds at
the start, over the restore rate) is reported too: for 10,000 quantities that is
40 calls of 10 points, which a full 1,000-point bucket takes without waiting, so
the measure runs twice: from a full bucket, where the floor is the simulator's
own service time, and from a drained bucket (as after a listings import), where
the arithmetic dominates (400 points at 100/s: 4 s).

Every round pushes new quantities to all 10,000 listings; rounds alternate the
hub and the bare client, so both see the same simulator state and size.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.fixtures import change_stock, insert_catalogue, insert_listings, timed_stock_run
from bench.process import median, peak_rss_mb, run_child
from omnisync.connectors.shopify import documents
from omnisync.core.catalog import location_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.types import MovementKind
from omnisync.hub.bootstrap import bootstrap, engine_channels
from omnisync.sandbox.shopify import ShopifySimulator
from omnisync.sync.engine import SyncEngine

TOKEN = "shpat_bench_token_4d5e6f"  # noqa: S105 (the simulator's, on loopback)
BUCKET = 1000.0
RESTORE = 100.0
BATCH = 250
ROUNDS = 3


class Fixture:
    """A hub on SQLite with `count` SKUs bound to as many variants of a Shopify simulator."""

    def __init__(self, count: int) -> None:
        self.shop = ShopifySimulator(TOKEN, bucket_size=BUCKET, restore_rate=RESTORE)
        self.shop.start()
        self.location = self.shop.add_location("Main warehouse")
        self.variants = self.shop.set_catalogue(
            [{"sku": f"SKU-{i:05d}", "title": f"Item {i}", "quantity": 0} for i in range(count)]
        )
        folder = Path(tempfile.mkdtemp(prefix="omnisync-bench-push-"))
        os.environ["BENCH_SHOP_TOKEN"] = TOKEN
        config = _write_config(folder, self.shop.url, self.location)
        self.hub = bootstrap(config, database_url=f"sqlite:///{folder / 'hub.db'}", create=True)
        self._bind()
        self.on_hand = 0
        self.sync = SyncEngine(
            self.hub.engine, engine_channels(self.hub.settings), secrets=self.hub.settings.secrets
        )

    def _bind(self) -> None:
        """Listings bound as the listings job binds them (that job is not measured here)."""
        with transaction(self.hub.engine, read_only=True) as session:
            self.main_id = location_by_code(session, "main").id or 0
            channel_id = channel_by_name(session, "shop").id or 0
        by_sku = {str(variant["sku"]): variant for variant in self.variants}
        self.sku_ids = insert_catalogue(self.hub.engine, dict.fromkeys(by_sku, 0), self.main_id)
        insert_listings(
            self.hub.engine,
            channel_id,
            self.sku_ids,
            acknowledged=lambda code: 0,
            channel_ids=lambda code: {
                "variant_id": by_sku[code]["variant_id"],
                "inventory_item_id": by_sku[code]["inventory_item_id"],
            },
        )

    def receive_one_each(self) -> None:
        """One more unit of every SKU, and every listing dirty through the outbox.

        Set up in bulk (the ledger's one-movement-per-SKU path is not what this
        measures, and would take a minute per round at this size)."""
        change_stock(
            self.hub.engine, list(self.sku_ids.values()), self.main_id, 1, MovementKind.RECEIPT
        )
        self.on_hand += 1

    def hub_push(self) -> dict[str, Any]:
        return timed_stock_run(self.sync, "shop")

    def bare_push(self) -> float:
        """The same calls from a bare client that waits only what the bucket needs.

        It sets what the hub has just set, compare-and-set included, so the shop ends
        where the hub believes it is and the next round of the hub is not stale."""
        quantity = self.on_hand
        batches = [
            self.variants[first : first + BATCH] for first in range(0, len(self.variants), BATCH)
        ]
        bodies = [
            {
                "query": documents.SET_QUANTITIES,
                "operationName": "SetQuantities",
                "variables": {
                    "input": {
                        "name": "available",
                        "reason": "correction",
                        "quantities": [
                            {
                                "inventoryItemId": variant["inventory_item_id"],
                                "locationId": self.location,
                                "quantity": quantity,
                                "changeFromQuantity": quantity,
                            }
                            for variant in batch
                        ],
                    },
                    "key": uuid.uuid4().hex,
                },
            }
            for batch in batches
        ]
        cost = documents.REQUESTED_COST["SetQuantities"]
        headers = {"X-Shopify-Access-Token": TOKEN}
        with httpx.Client(timeout=30) as client:
            start = time.perf_counter()
            status: dict[str, float] | None = self.shop.throttle_status()
            seen_at = start
            for body in bodies:
                if status is not None:
                    held = status["currentlyAvailable"] + status["restoreRate"] * (
                        time.perf_counter() - seen_at
                    )
                    if held < cost:
                        time.sleep((cost - held) / status["restoreRate"])
                answer = client.post(self.shop.graphql_url, json=body, headers=headers).json()
                if answer.get("errors"):
                    raise RuntimeError(f"the floor client was refused: {answer['errors']}")
                status = answer["extensions"]["cost"]["throttleStatus"]
                seen_at = time.perf_counter()
            return time.perf_counter() - start

    def close(self) -> None:
        self.sync.close()
        self.hub.engine.dispose()
        self.shop.stop()


def _write_config(folder: Path, url: str, location: str) -> Path:
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    (folder / "hub.yaml").write_text(
        "http: {enabled: false}\nlocations:\n  - {code: main, name: Main warehouse}\n"
    )
    channel = f"""\
        type: shopify
        shop: omnisync-demo.myshopify.com
        endpoint: {url}
        access_token: ${{BENCH_SHOP_TOKEN}}
        push_location: {location}
        timeout_seconds: 30
        """
    (folder / "channels" / "shop.yaml").write_text(textwrap.dedent(channel))
    return folder


def measure(count: int, rounds: int) -> dict[str, Any]:
    fixture = Fixture(count)
    calls = -(-count // BATCH)
    total_cost = calls * documents.REQUESTED_COST["SetQuantities"]
    results: dict[str, Any] = {}
    try:
        fixture.receive_one_each()  # a first push warms connections and caches, unmeasured
        fixture.hub_push()
        for start_from, available in (("full_bucket", BUCKET), ("drained_bucket", 0.0)):
            hub_s: list[float] = []
            floor_s: list[float] = []
            failures = 0
            throttled_before = fixture.shop.throttled_count
            for _ in range(rounds):
                fixture.receive_one_each()
                fixture.shop.drain_bucket(to=available)
                run = fixture.hub_push()
                if run["acknowledged"] != count or run["failed"] or run["status"] != "succeeded":
                    failures += 1
                hub_s.append(run["s"])
                fixture.shop.drain_bucket(to=available)
                floor_s.append(fixture.bare_push())
            arithmetic = max(0.0, total_cost - available) / RESTORE
            hub, floor = median(hub_s), median(floor_s)
            results[start_from] = {
                "s": round(hub, 3),
                "floor_s": round(floor, 3),
                "arithmetic_s": round(arithmetic, 3),
                "ratio": round(hub / floor, 3),
                "failed_rounds": failures,
                "throttled_calls": fixture.shop.throttled_count - throttled_before,
            }
    finally:
        fixture.close()
    worst = max(results.values(), key=lambda row: row["ratio"])
    return {
        "quantities": count,
        "calls": calls,
        "cost_per_call": documents.REQUESTED_COST["SetQuantities"],
        "bucket": BUCKET,
        "restore_per_s": RESTORE,
        "rounds": rounds,
        **results,
        "s": worst["s"],
        "floor_s": worst["floor_s"],
        "ratio": worst["ratio"],
        "peak_rss_mb": peak_rss_mb(),
    }


def run(quick: bool) -> dict[str, Any]:
    count = "1000" if quick else "10000"
    # Amazon's half lives in bench/bulk_push_amazon.py; --quick keeps it above the
    # feed threshold (1,500) with a short feed delay and one round.
    amazon = ("--quantities", "2000", "--rounds", "1", "--feed-delay", "2") if quick else ()
    return {
        "shopify": run_child("bench.bulk_push", "--quantities", count),
        "amazon": run_child("bench.bulk_push_amazon", *amazon),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quantities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print(json.dumps(measure(args.quantities, args.rounds)))
