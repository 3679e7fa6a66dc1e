"""b4_bulk_push (Amazon): 10,000 changed quantities pushed through the real stock job to
the Amazon simulator at Amazon's published limits (rate_scale 1), next to the floor.

From the channel's `feed_threshold` (1,500, Amazon's own advice) the connector sends
one JSON_LISTINGS_FEED: createFeedDocument and the upload of the document,
createFeed, getFeed every `feed_poll_seconds` until the feed is DONE, then
getFeedDocument and the download of the processing report, whose per-message
results are recorded. The simulator takes FEED_DELAY_S to process a feed: Amazon
publishes no figure and takes minutes; the delay is shortened to fit the budget.

The floor is a bare HTTP client making the same minimum calls, with the same
document pre-built, against the same simulator: it polls getFeed at the rate
getFeed's limit sustains (2/s), so it sees the result at most half a second late.
*arithmetic* is the feed delay alone, which no client can shorten.

Amazon takes five JSON_LISTINGS_FEED submissions per five minutes, and a round is
a feed for the hub and one for the bare client: every push starts from a fresh usage
plan (the simulator's buckets refilled, its submission window emptied), as the
Shopify half starts each push from the same bucket level. The hub's own limiter
keeps its state across rounds; three rounds stay within its bursts.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx

from bench.fixtures import change_stock, insert_catalogue, insert_listings, timed_stock_run
from bench.process import median, peak_rss_mb
from omnisync.connectors.amazon.feeds import (
    CONTENT_TYPE,
    FEED_TYPE,
    FINAL_STATUSES,
    FeedMessage,
    feed_documents,
)
from omnisync.connectors.amazon.mapping import listing_from_item
from omnisync.core.catalog import location_by_code
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.dto import StockUpdate
from omnisync.core.types import MovementKind
from omnisync.hub.bootstrap import bootstrap, engine_channels
from omnisync.hub.demo.amazon import signed_in_channel, token_credentials
from omnisync.sandbox.amazon import AmazonSimulator
from omnisync.sandbox.clock import parse_iso
from omnisync.sync.engine import SyncEngine

FEED_DELAY_S: Final = 10.0
ROUNDS: Final = 3
GET_FEED_PER_S: Final = 2.0
"""getFeed's published rate: the floor client polls this often."""
CHANNEL_CODE: Final = "DEFAULT"
TOKEN_VARIABLE: Final = "BENCH_AMAZON_TOKEN"  # noqa: S105 (a variable's name)
FEEDS: Final = "/feeds/2021-06-30"


class AmazonFixture:
    """A hub on SQLite with `count` SKUs bound to as many listings of an Amazon simulator."""

    def __init__(self, count: int, feed_delay: float, poll_seconds: float | None) -> None:
        token = secrets.token_hex(16)
        self.amazon = AmazonSimulator(
            token_credentials(token),
            rate_scale=1.0,
            feed_delay=feed_delay,
        )
        self.feed_delay = feed_delay
        self.amazon.start()
        items = self.amazon.set_listings(
            [{"sku": f"SKU-{i:05d}", "quantity": 0} for i in range(count)]
        )
        channel_ids = {
            str(item["sku"]): listing_from_item(
                item, self.amazon.marketplace_id, CHANNEL_CODE
            ).channel_ids
            for item in items
        }
        folder = Path(tempfile.mkdtemp(prefix="omnisync-bench-push-amazon-"))
        self.folder = folder
        os.environ[TOKEN_VARIABLE] = token
        config = _write_config(folder, self.amazon, poll_seconds)
        self.hub = bootstrap(config, database_url=f"sqlite:///{folder / 'hub.db'}", create=True)
        with transaction(self.hub.engine, read_only=True) as session:
            self.main_id = location_by_code(session, "main").id or 0
            channel_id = channel_by_name(session, "amz").id or 0
        self.sku_ids = insert_catalogue(
            self.hub.engine, dict.fromkeys(channel_ids, 0), self.main_id
        )
        insert_listings(
            self.hub.engine,
            channel_id,
            self.sku_ids,
            acknowledged=lambda code: 0,
            channel_ids=lambda code: dict(channel_ids[code]),
        )
        self.channel_ids = channel_ids
        self.on_hand = 0
        self.sync = SyncEngine(
            self.hub.engine, engine_channels(self.hub.settings), secrets=self.hub.settings.secrets
        )
        self.poll_seconds = self.sync.channels["amz"].settings.feed_poll_seconds  # type: ignore[attr-defined]

    def warm_up(self) -> None:
        """The access token and the connection, before anything is timed."""
        problems = self.sync.connector("amz").check()
        if problems:
            raise RuntimeError(f"b4 amazon set-up: {problems}")

    def receive_one_each(self) -> None:
        change_stock(
            self.hub.engine, list(self.sku_ids.values()), self.main_id, 1, MovementKind.RECEIPT
        )
        self.on_hand += 1

    def fresh_usage_plan(self) -> None:
        self.amazon.limits.refill()

    def hub_push(self) -> dict[str, Any]:
        return timed_stock_run(self.sync, "amz")

    def holds_on_hand(self) -> bool:
        return set(self.amazon.quantities().values()) == {self.on_hand}

    def bare_push(self) -> tuple[float, float]:
        """The minimum calls for the same quantities, polling getFeed at its sustained rate;
        (seconds in all, seconds of the getFeed call during which the simulator processed
        the feed)."""
        messages = [
            FeedMessage(
                index,
                StockUpdate(channel_sku=code, quantity=self.on_hand, channel_ids=ids),
                str(ids.get("productType") or "PRODUCT"),
            )
            for index, (code, ids) in enumerate(self.channel_ids.items())
        ]
        [document] = feed_documents(self.amazon.seller_id, messages, CHANNEL_CODE)
        base = self.amazon.endpoint + FEEDS
        headers = {"x-amz-access-token": self.amazon.access_token()}
        with httpx.Client(timeout=60, headers=headers) as client:
            start = time.perf_counter()
            created = _answer(client.post(f"{base}/documents", json={"contentType": CONTENT_TYPE}))
            uploaded = client.put(
                str(created["url"]), content=document.body, headers={"content-type": CONTENT_TYPE}
            )
            uploaded.raise_for_status()
            feed_id = _answer(
                client.post(
                    f"{base}/feeds",
                    json={
                        "feedType": FEED_TYPE,
                        "marketplaceIds": [self.amazon.marketplace_id],
                        "inputFeedDocumentId": created["feedDocumentId"],
                    },
                )
            )["feedId"]
            while True:
                asked = time.perf_counter()
                feed = _answer(client.get(f"{base}/feeds/{feed_id}"))
                if feed["processingStatus"] in FINAL_STATUSES:
                    processing = time.perf_counter() - asked
                    break
                time.sleep(max(0.0, asked + 1 / GET_FEED_PER_S - time.perf_counter()))
            result = _answer(client.get(f"{base}/documents/{feed['resultFeedDocumentId']}"))
            report = client.get(str(result["url"])).json()
            elapsed = time.perf_counter() - start
        accepted = report.get("summary", {}).get("messagesAccepted")
        if feed["processingStatus"] != "DONE" or accepted != len(messages):
            raise RuntimeError(f"b4 amazon floor: feed {feed_id} {feed['processingStatus']}")
        return elapsed, processing

    def poll_waits(self) -> list[float]:
        """Per feed, in submission order: how long after it was due (created + delay) a
        getFeed first asked for it (the simulator processes a feed at that call)."""
        waits = []
        for feed in self.amazon.feeds():
            created = parse_iso(feed["createdTime"]).timestamp()
            ended = parse_iso(feed["processingEndTime"]).timestamp()
            waits.append(ended - created - self.feed_delay)
        return waits

    def close(self) -> None:
        self.sync.close()
        self.hub.engine.dispose()
        self.amazon.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"b4 amazon floor: {response.status_code} {response.text[:200]}")
    return dict(response.json())


def _write_config(folder: Path, amazon: AmazonSimulator, poll_seconds: float | None) -> Path:
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    (folder / "hub.yaml").write_text(
        "http: {enabled: false}\nlocations:\n  - {code: main, name: Main warehouse}\n"
    )
    poll = "" if poll_seconds is None else f"feed_poll_seconds: {poll_seconds}\n"
    channel = signed_in_channel(amazon, f"${{{TOKEN_VARIABLE}}}") + "timeout_seconds: 60\n"
    (folder / "channels" / "amz.yaml").write_text(channel + poll)
    return folder


def measure(
    count: int, rounds: int, feed_delay: float, poll_seconds: float | None
) -> dict[str, Any]:
    fixture = AmazonFixture(count, feed_delay, poll_seconds)
    hub_s: list[float] = []
    floor_s: list[float] = []
    processing_s: list[float] = []
    failures = 0
    try:
        fixture.warm_up()
        for _ in range(rounds):
            fixture.receive_one_each()
            fixture.fresh_usage_plan()
            run = fixture.hub_push()
            complete = run["acknowledged"] == count and not run["failed"]
            if not complete or run["status"] != "succeeded" or not fixture.holds_on_hand():
                failures += 1
            hub_s.append(run["s"])
            fixture.fresh_usage_plan()
            elapsed, processing = fixture.bare_push()
            floor_s.append(elapsed)
            processing_s.append(processing)
        waits = fixture.poll_waits()
        throttled = int(fixture.amazon.traffic()["responses_429"])
    finally:
        fixture.close()
    hub, floor = median(hub_s), median(floor_s)
    hub_waits, floor_waits = waits[0::2], waits[1::2]
    # Per round: the hub's time beyond the floor's once each side's poll wait is out.
    work = [
        (hub_r - hub_w) - (floor_r - floor_w)
        for hub_r, hub_w, floor_r, floor_w in zip(
            hub_s, hub_waits, floor_s, floor_waits, strict=True
        )
    ]
    return {
        "quantities": count,
        "feeds": len(waits),
        "feed_delay_s": feed_delay,
        "feed_poll_s": fixture.poll_seconds,
        "feed_poll_is_default": poll_seconds is None,
        "floor_poll_s": 1 / GET_FEED_PER_S,
        "rounds": rounds,
        "s": round(hub, 3),
        "floor_s": round(floor, 3),
        "arithmetic_s": feed_delay,
        "ratio": round(hub / floor, 3),
        "hub_poll_wait_s": round(median(hub_waits), 3),
        "floor_poll_wait_s": round(median(floor_waits), 3),
        "hub_work_s": round(median(work), 3),
        "processing_s": round(median(processing_s), 3),
        "hub_rounds_s": [round(value, 3) for value in hub_s],
        "floor_rounds_s": [round(value, 3) for value in floor_s],
        "failed_rounds": failures,
        "throttled_calls": throttled,
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quantities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--feed-delay", type=float, default=FEED_DELAY_S)
    parser.add_argument("--poll", type=float, default=None, help="feed_poll_seconds")
    args = parser.parse_args()
    print(json.dumps(measure(args.quantities, args.rounds, args.feed_delay, args.poll)))
