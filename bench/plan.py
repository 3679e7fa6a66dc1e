"""b2_plan: the push plan for 100,000 SKUs listed on 4 channels, after 1%, 10% and 100%
of the SKUs' stock changed.

The plan is what the stock job does before it calls a connector
(sync.jobs.stock.plan_stock_push): read the channel's due dirty listings,
compute available to sell with the channel's rules, drop what the channel
already acknowledged. It is timed for all 4 channels together, without any HTTP.

Set-up is bulk (bench.fixtures): every listing acknowledged at its current
availability. Each share of the SKUs changes (half down by 1, half up by 2)
through `change_stock`, which leaves the dirty state the ledger leaves; each
channel's plan is then timed `rounds` times over (it only reads) and its last
plan acknowledged as the channel would, so the next share starts clean. Each
backend runs in its own process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Any

from sqlalchemy import Engine

from bench.fixtures import (
    acknowledge,
    change_stock,
    database_url,
    insert_catalogue,
    insert_listings,
)
from bench.process import median, peak_rss_mb, run_child
from omnisync.core.availability import StockRules
from omnisync.core.catalog import LocationSpec, sync_locations
from omnisync.core.channels import ChannelSpec, sync_channels
from omnisync.core.db import create_all, make_engine, transaction
from omnisync.core.types import LocationKind
from omnisync.sync.jobs.stock import plan_stock_push

SKUS = 100_000
QUICK_SKUS = 5_000
POSTGRES_SKUS = 10_000
"""PostgreSQL plans a tenth of the catalogue: at 100,000 SKUs its plans alone take minutes
(available_to_sell's IN lists of 10,000 ids are slow to send and plan there), more than
this measure's share of the budget of `make bench`."""
ROUNDS = 3
SHARES = (("s_1pct", 0.01), ("s_10pct", 0.10), ("s_100pct", 1.0))
CHANNELS = (
    ChannelSpec("shop", "shopify", True, None, {}),
    ChannelSpec("amazon", "amazon", True, None, {"buffer": 1}),
    ChannelSpec("market", "sandbox", True, None, {"max_quantity": 50}),
    ChannelSpec("web", "sandbox", True, None, {"allocation_percent": 80, "zero_below": 2}),
)
"""Four channels with different stock rules, so the plan applies each channel's own."""


class Catalogue:
    """`count` SKUs with stock at one location, listed and acknowledged on every channel."""

    def __init__(self, engine: Engine, count: int, seed: int = 2) -> None:
        self.engine = engine
        self.random = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
        create_all(engine)
        with transaction(engine) as session:
            (main,) = sync_locations(
                session, [LocationSpec("main", "Main", LocationKind.WAREHOUSE)]
            )
            channels = sync_channels(session, CHANNELS)
        self.location_id = main.id or 0
        self.channel_ids = [channel.id or 0 for channel in channels]
        on_hand = {f"SKU-{n:06d}": self.random.randint(0, 200) for n in range(count)}
        ids = insert_catalogue(engine, on_hand, self.location_id)
        self.on_hand = {ids[code]: quantity for code, quantity in on_hand.items()}
        for spec, channel_id in zip(CHANNELS, self.channel_ids, strict=True):
            rules = StockRules.from_mapping(spec.stock_rules)
            shown = {code: rules.apply(quantity) for code, quantity in on_hand.items()}
            insert_listings(engine, channel_id, ids, shown.get)

    def change(self, share: float) -> int:
        """Change the stock of `share` of the SKUs; returns how many SKUs changed."""
        chosen = self.random.sample(sorted(self.on_hand), round(len(self.on_hand) * share))
        down = [sku_id for sku_id in chosen[::2] if self.on_hand[sku_id] > 0]
        going_down = set(down)
        up = [sku_id for sku_id in chosen if sku_id not in going_down]
        for sku_ids, delta in ((down, -1), (up, 2)):
            if sku_ids:
                change_stock(self.engine, sku_ids, self.location_id, delta)
                for sku_id in sku_ids:
                    self.on_hand[sku_id] += delta
        return len(chosen)

    def plan(self, rounds: int) -> tuple[list[float], list[tuple[int, int]]]:
        """Plan every channel's push `rounds` times over (a plan only reads), then
        acknowledge the last plan as the channel would, so the next share starts clean.

        Returns the seconds all channels' plans took in each round, and per channel how
        many listings it planned to push and how many it found unchanged."""
        seconds = [0.0] * rounds
        counts = []
        for channel_id in self.channel_ids:
            for index in range(rounds):
                start = time.perf_counter()
                plan = plan_stock_push(self.engine, channel_id, everything=False)
                seconds[index] += time.perf_counter() - start
            counts.append((len(plan.push), len(plan.unchanged)))
            acknowledge(
                self.engine,
                [(listing.id or 0, quantity) for listing, quantity in plan.push]
                + [(listing.id or 0, listing.last_ack_quantity or 0) for listing in plan.unchanged],
            )
        return seconds, counts


def measure(url: str, count: int, rounds: int) -> dict[str, Any]:
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        catalogue = Catalogue(engine, count)
        set_up_s = time.perf_counter() - started
        times: dict[str, list[float]] = {}
        pushed: dict[str, int] = {}
        for name, share in SHARES:
            changed = catalogue.change(share)
            times[name], counts = catalogue.plan(rounds)
            planned = sum(push + unchanged for push, unchanged in counts)
            if planned != changed * len(CHANNELS):
                raise RuntimeError(
                    f"{name}: {changed} SKUs changed on {len(CHANNELS)} channels, "
                    f"but {planned} listings were planned"
                )
            pushed[name] = sum(push for push, _ in counts)
    finally:
        engine.dispose()
    seconds = {name: median(values) for name, values in times.items()}
    return {
        "skus": count,
        "listings": count * len(CHANNELS),
        "channels": len(CHANNELS),
        **{name: round(value, 4) for name, value in seconds.items()},
        "ratio_1pct_to_100pct": round(seconds["s_1pct"] / seconds["s_100pct"], 4),
        "dirty_listings": {
            name[2:]: round(count * share) * len(CHANNELS) for name, share in SHARES
        },
        "pushed_listings": {name[2:]: value for name, value in pushed.items()},
        "set_up_s": round(set_up_s, 1),
        "wall_s": round(time.perf_counter() - started, 1),
        "rounds": rounds,
        "peak_rss_mb": peak_rss_mb(),
    }


def run(quick: bool) -> dict[str, Any]:
    count = QUICK_SKUS if quick else SKUS
    results = {"sqlite": run_child("bench.plan", "--backend", "sqlite", "--skus", str(count))}
    if os.environ.get("OMNISYNC_TEST_POSTGRES_URL"):
        smaller = str(min(count, POSTGRES_SKUS))
        results["postgres"] = run_child("bench.plan", "--backend", "postgres", "--skus", smaller)
    # The keys are SQLite's figures; PostgreSQL's sit beside them.
    return {**results["sqlite"], **results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--skus", type=int, default=SKUS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    with database_url(args.backend) as url:
        print(json.dumps(measure(url, args.skus, args.rounds)))
