"""Writes bench/results.json and docs/benchmarks.md from one run's results.

Each measure's section is rendered from its stored figures every time, so the text
describes what the code measures now; a section whose figures come from an older run
says so (its commit and date). b3's, b5's and b6's sections live in report_propagation.py,
report_oversell.py and report_console.py.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.queue_report import workers_section
from bench.report_console import console_section
from bench.report_lines import describe_machine, run_line
from bench.report_oversell import oversell_section
from bench.report_propagation import propagation_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def commit() -> str:
    """The short commit, with `-dirty` when tracked files differ from it (as git describe
    says it): the figures then come from code no commit holds."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        changed = _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if changed else head


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def write_results(results: dict[str, Any]) -> None:
    """Measures of this run replace their earlier figures; the others are kept, each
    with the commit, date and machine of the run that measured it."""
    here = machine()
    run = {
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": here,
    }
    earlier: dict[str, Any] = {}
    if RESULTS.exists():
        earlier = json.loads(RESULTS.read_text())
        for name, value in earlier.items():
            if _is_measure(name) and isinstance(value, dict):
                value.setdefault(
                    "run", {"commit": earlier.get("commit"), "date": earlier.get("date")}
                )
                value["run"].setdefault("machine", earlier.get("machine"))
    measured = {name: {**value, "run": run} for name, value in results.items()}
    document = {
        **{name: value for name, value in earlier.items() if _is_measure(name)},
        **measured,
        "machine": here,
        "commit": run["commit"],
        "date": run["date"],
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(document))


def _is_measure(name: str) -> bool:
    return name[:1] == "b" and name[1:2].isdigit()


def render(document: dict[str, Any]) -> str:
    m = document["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`, or `--only NAME` for one measure);",
        "each section names the commit, date and machine of the run its figures come from.",
        "",
        f"Machine of the latest run: {describe_machine(m)}.",
        "",
    ]
    if "b1_ingest" in document:
        lines += _b1_section(document["b1_ingest"])
    if "b2_plan" in document:
        lines += _b2_section(document["b2_plan"])
    if "b3_propagation" in document:
        lines += propagation_section(document["b3_propagation"])
    if "b4_bulk_push" in document:
        lines += _b4_section(document["b4_bulk_push"])
    if "b5_oversell" in document:
        lines += oversell_section(document["b5_oversell"], document.get("b3_propagation"))
    if "b6_console" in document:
        lines += console_section(document["b6_console"])
    if "b7_workers" in document:
        lines += workers_section(document["b7_workers"])
    return "\n".join(lines) + "\n"


def _rows(measure: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in measure.items() if key != "run"]


def _b4_section(measure: dict[str, Any]) -> list[str]:
    lines = [
        "## b4_bulk_push: 10,000 changed quantities pushed",
        "",
        run_line(measure),
        "",
    ]
    shopify = measure.get("shopify")
    if shopify:
        lines += [
            f"### Shopify: {shopify['quantities']:,} quantities, {shopify['calls']} calls of "
            f"`inventorySetQuantities` ({shopify['cost_per_call']} points each), bucket "
            f"{shopify['bucket']:.0f}, restore {shopify['restore_per_s']:.0f}/s",
            "",
            "The hub's stock job (dirty listings read, availability computed, pushed 250 at a",
            "time with compare-and-set, results recorded) against the Shopify simulator over",
            "HTTP. The floor is a bare client sending the same pre-built calls back to back and",
            "waiting only what the simulator's reported bucket needs; *arithmetic* is the bucket",
            "alone: cost beyond what the bucket holds at the start, over the restore rate.",
            f"Medians of {shopify['rounds']} rounds; ratio = hub / floor.",
            "",
            "| bucket at start | hub s | floor s | arithmetic s | ratio | throttled calls "
            "| failed rounds |",
            "|---|---|---|---|---|---|---|",
        ]
        for start, label in (("drained_bucket", "empty"), ("full_bucket", "full")):
            row = shopify[start]
            lines.append(
                f"| {label} | {row['s']} | {row['floor_s']} | {row['arithmetic_s']} "
                f"| {row['ratio']} | {row['throttled_calls']} | {row['failed_rounds']} |"
            )
        drained, full = shopify["drained_bucket"], shopify["full_bucket"]
        verdict = "meets" if drained["ratio"] <= 1.2 else "misses"
        lines += [
            "",
            f"Where the bucket binds (an empty bucket: {drained['arithmetic_s']} s of refill by",
            f"arithmetic) the hub takes {drained['ratio']} times the floor: it {verdict} the",
            "1.2 target. From a full bucket the arithmetic allows the whole push at",
            "once (0 s), so the floor is the simulator's own service time, and the hub takes",
            f"{full['ratio']} times it: that gap is the hub's own work per listing (reading",
            "and recording 10,000 listings in SQLite), not waiting. Throttles, when a call meets",
            "one, are waited out and retried; a failed round would be counted above.",
            f"Peak RSS of the measuring process (hub and simulator): {shopify['peak_rss_mb']} MB.",
            "",
        ]
    if measure.get("amazon"):
        lines += _b4_amazon_lines(measure["amazon"])
    return lines


def _b1_section(measure: dict[str, Any]) -> list[str]:
    rows = dict(_rows(measure))
    lines = [
        "## b1_ingest: order intake against the storage floor",
        "",
        run_line(measure),
        "",
        "The orders job itself (`sync/jobs/orders.py`) takes pages of orders in the shapes of",
        "the recorded Shopify and Amazon fixtures (GraphQL Order nodes;",
        f"{_amazon_pages(measure)}),",
        "half the orders each, 2 to 4 lines an order, in each connector's own",
        "page size. Each page is parsed and mapped by the connector's mapping functions; the",
        "job commits pages that come back to back together, up to 100 orders (its",
        "BATCH_ORDERS), in one transaction: new orders in one INSERT, lines bound to SKUs",
        "through listings, stock reserved over levels locked once (core/locked_stock.py),",
        "listings marked dirty, the cursor advanced. The floor is the same order and line",
        "rows written with one executemany per table in the same transactions, mapping not",
        "timed. No HTTP: the channels' time is b3's and b4's subject. Every figure is the",
        "median of the rounds, each on a fresh database; ratio = real rows/s over floor",
        "rows/s (rows = orders + lines). Peak RSS is the measuring process's, generated",
        "payloads included.",
        "",
        "| backend | orders | lines | rounds | orders/s | lines/s | floor rows/s | ratio "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, row in rows.items():
        lines.append(
            f"| {backend} | {row['orders']} | {row['lines']} | {row['rounds']} "
            f"| {row['orders_per_s']} | {row['lines_per_s']} | {row['floor_rows_per_s']} "
            f"| {row['ratio']} | {row['peak_rss_mb']} |"
        )
    lines += [
        "",
        "| backend | channel | orders per page | orders/s | floor rows/s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for backend, row in rows.items():
        for channel, part in (row.get("by_channel") or {}).items():
            lines.append(
                f"| {backend} | {channel} | {part['orders_per_page']} | {part['orders_per_s']} "
                f"| {part['floor_rows_per_s']} | {part['ratio']} |"
            )
    verdicts = [
        f"{backend} {'meets' if row['ratio'] >= 0.25 else 'misses'} it at {row['ratio']:.2f}"
        for backend, row in rows.items()
    ]
    lines += [
        "",
        f"The target is at least 0.25 of the floor: {'; '.join(verdicts)}.",
        "",
        "What limits it (pyinstrument and statement timings of this measure). The real path",
        "writes about twice the floor's rows: besides the order and its lines, each line gets",
        "a reservation and its stock level an update, and each transaction marks the listings",
        "of its SKUs dirty. Per transaction it runs about fifteen statements where the floor runs",
        "two: the channel and its locations, the new orders, the SKU bindings, the lines and",
        "their ids, bundle recipes, the levels locked, their updates, the reservations, the",
        "outbox (locations, channels, listings) and the cursor. On SQLite most of the time",
        "is Python, not the database: SQLAlchemy's work per statement and per bound value",
        "(dates, money and JSON converted row by row) leads, then parsing and mapping the",
        "payloads (json, pydantic), then commits. On PostgreSQL the inserts themselves weigh",
        "more (foreign keys, indexes, a synchronous commit per transaction), on the floor",
        "too. Shopify serves 10 orders a page (the GraphQL cost limit): without the job's",
        "grouping of pages that come back to back, the work done once per transaction would",
        "count ten times as much per Shopify order as per Amazon order.",
        "",
    ]
    return lines


def _b4_amazon_lines(amazon: dict[str, Any]) -> list[str]:
    poll = amazon["feed_poll_s"]
    verdict = "meets" if amazon["ratio"] <= 1.2 else "misses"
    default = ", the default" if amazon.get("feed_poll_is_default") else ""
    return [
        f"### Amazon: {amazon['quantities']:,} quantities as one JSON_LISTINGS_FEED, "
        f"processed in {amazon['feed_delay_s']:g} s, rate_scale 1",
        "",
        "The same stock job sends one feed from the channel's `feed_threshold` (1,500) on:",
        "createFeedDocument, the upload, createFeed, getFeed every `feed_poll_seconds`",
        f"({amazon['feed_poll_s']:g} s{default}) until DONE, getFeedDocument and the",
        "report's download, then each SKU's result recorded. The floor is a bare client making",
        "the same calls with the same document pre-built, polling getFeed as often as its",
        f"limit allows for good (every {amazon['floor_poll_s']:g} s); *arithmetic* is the",
        "processing delay alone. Amazon publishes no processing time and takes minutes; the",
        "simulator's delay is shortened to fit the budget, and its own work on the document",
        f"(checking every message against Amazon's schema: {amazon['processing_s']} s here)",
        "comes on top, inside the first getFeed after the delay, for both. Each push starts",
        "from a fresh usage plan (Amazon takes five feed submissions per five minutes; a run",
        f"makes {amazon['feeds']}). Medians of {amazon['rounds']} rounds; ratio = hub / floor.",
        "",
        "| hub s | floor s | arithmetic s | ratio | hub poll wait s | floor poll wait s "
        "| hub work s | throttled calls | failed rounds |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {amazon['s']} | {amazon['floor_s']} | {amazon['arithmetic_s']} | {amazon['ratio']} "
        f"| {amazon['hub_poll_wait_s']} | {amazon['floor_poll_wait_s']} | {amazon['hub_work_s']} "
        f"| {amazon['throttled_calls']} | {amazon['failed_rounds']} |",
        "",
        f"The hub takes {amazon['ratio']} times the floor: it {verdict} the 1.2 target. Two",
        "things set them apart. The hub polls getFeed every second at first, then every",
        f"tenth of the time waited so far, up to `feed_poll_seconds` ({poll:g} s); the floor",
        f"polls every {amazon['floor_poll_s']:g} s. The hub's *poll wait* (how long after the",
        f"feed was due its status was first asked for) is {amazon['hub_poll_wait_s']} s, the",
        f"floor's {amazon['floor_poll_wait_s']} s. The rest is the hub's own work:",
        f"{amazon['hub_work_s']} s a round once both poll waits are taken out (each figure is",
        "a median of rounds, so they need not add up). A pyinstrument profile of the push puts",
        "that work in reading the dirty listings through the ORM (their JSON channel ids",
        "decoded), computing availability, building a StockUpdate per SKU, encoding the",
        "document and recording every result: per-listing work, as in the Shopify half. The",
        "simulator's check of the document is the same in both columns. (A fixed poll of",
        "`feed_poll_seconds` made the hub late by up to one interval on every feed.)",
        f"Peak RSS of the measuring process: {amazon['peak_rss_mb']} MB.",
        "",
    ]


def _b2_section(measure: dict[str, Any]) -> list[str]:
    lines = [
        "## b2_plan: the push plan follows the changes, not the catalogue",
        "",
        run_line(measure),
        "",
        f"{measure['skus']:,} SKUs listed on {measure['channels']} channels "
        f"({measure['listings']:,} listings), each channel with stock rules of its own (none,",
        "a buffer, a cap, a share), every listing acknowledged at its availability. Then 1%,",
        "10% and 100% of the SKUs change stock (half down by 1, half up by 2), through a bulk",
        "path that leaves the state the ledger leaves (`bench/fixtures.py` `change_stock`, a",
        "unit test holds it to `adjust_stock`): a movement per SKU, its level, its listings",
        "marked dirty on the channels selling from that location, in statements of 10,000",
        "rows (the ledger's one-SKU-at-a-time path would take minutes for 100,000 changes).",
        "What is timed is the plan of all channels, one after the other: what the stock job",
        "does before it calls a connector (`sync.jobs.stock.plan_stock_push`: the due dirty",
        "listings read, available to sell computed with the channel's rules, the diff against",
        "what the channel acknowledged, the push order). No HTTP. A plan only reads, so each",
        f"channel's plan is timed {measure['rounds']} times over on the same change and the "
        "median of the",
        "rounds is shown; then the listings are acknowledged as the channel would, so the",
        "next share starts clean.",
        "",
        "| backend | SKUs | SKUs changed | dirty listings | to push | plan s "
        "| µs per dirty listing | 1% / 100% | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend in ("sqlite", "postgres"):
        row = measure.get(backend)
        if not row:
            continue
        for share in ("1pct", "10pct", "100pct"):
            dirty = row["dirty_listings"][share]
            seconds = row[f"s_{share}"]
            once = (
                (row["ratio_1pct_to_100pct"], row["peak_rss_mb"]) if share == "1pct" else ("", "")
            )
            lines.append(
                f"| {backend} | {row['skus']:,} | {dirty // row['channels']:,} | {dirty:,} "
                f"| {row['pushed_listings'][share]:,} | {seconds} "
                f"| {seconds / dirty * 1e6:.0f} | {once[0]} | {once[1]} |"
            )
    worst = max(
        measure[backend]["ratio_1pct_to_100pct"]
        for backend in ("sqlite", "postgres")
        if measure.get(backend)
    )
    verdict = "meets it" if worst <= 0.05 else f"misses it by a factor of {worst / 0.05:.1f}"
    lines += [
        "",
        "The target is a 1% plan costing at most 5% of the 100% plan; this run",
        f"{verdict}: the dirty listings are found through the (channel, dirty) index and",
        "availability is asked only for their SKUs, so the plan grows with the dirty listings,",
        "not with the catalogue. What a listing costs (pyinstrument on the 100% plan):",
        "mostly loading it as an ORM object,",
        "then available to sell (three queries per 10,000 SKUs: bundle recipes, free stock,",
        "safety stock), computed once per channel; the diff and the ordering are small.",
        "Peak RSS is the measuring process, which holds one channel's plan at a time (every",
        "dirty listing as an object) as the stock job does.",
        "",
    ]
    if measure.get("postgres") and measure["postgres"]["skus"] != measure["skus"]:
        lines += [
            f"PostgreSQL plans {measure['postgres']['skus']:,} SKUs, not "
            f"{measure['skus']:,}: at the full size its",
            "plans alone take minutes, more than this measure's share of the budget. There",
            "available to sell costs most of a plan: its three queries take the SKU ids as IN",
            "lists of up to 10,000 bound parameters, which PostgreSQL is slow to receive and",
            "plan; one array parameter (`= ANY(:ids)`) is the known remedy.",
            "",
        ]
    return lines


def _amazon_pages(measure: dict[str, Any]) -> str:
    """What the Amazon pages were: runs before the move to Orders API 2026-01-01 served
    getOrders orders with their getOrderItems."""
    rows = [row for _, row in _rows(measure) if isinstance(row, dict)]
    if rows and all(row.get("amazon_orders") == "searchOrders" for row in rows):
        return "searchOrders orders with their orderItems"
    return "getOrders orders with their getOrderItems, Orders v0"
