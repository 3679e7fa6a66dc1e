"""b3_propagation's section of docs/benchmarks.md: from the buyer's sale to every other
channel, per channel the sale was made on, against the 5 s target; the from-commit
figure against the rate-limit floor; and, where a target is missed, what limits it.

Results of runs before b3 timed the sale itself (no `sale_to_everywhere`) are rendered
in their own, older form, so the page never mixes the two.
"""

from __future__ import annotations

from typing import Any

from bench.report_lines import paragraph, run_line, seconds
from omnisync.connectors.amazon.connector import PUBLISHED_LIMITS
from omnisync.sync.ratelimit import HEADROOM

GET_ORDER_BURST = PUBLISHED_LIMITS["getOrder"].burst
GET_ORDER_RATE = PUBLISHED_LIMITS["getOrder"].per_second
INTAKE_PATHS = {
    "amazon": (
        "an ORDER_CHANGE notification on SQS, received by the hub's long poll, then one "
        "getOrder per order"
    ),
    "sandbox": "the orders job, polled every second (half a second's wait on average)",
    "shopify": "a signed webhook, sent by the simulator as the order is placed",
}
LIMITS = {
    "amazon": "getOrder's tokens, above",
    "sandbox": "the one-second poll",
    "shopify": "the webhook's delivery",
}


def propagation_section(measure: dict[str, Any]) -> list[str]:
    if "sale_to_everywhere" not in measure:
        return _from_commit_only(measure)
    origins = measure["by_origin"]
    return [
        "## b3_propagation: from a buyer's sale on one channel to every other channel",
        "",
        run_line(measure),
        "",
        *_set_up(measure),
        "",
        *_sale_clock(measure),
        "",
        "| sale on | sales | sale to everywhere p50 ms | p95 ms | max ms "
        "| from commit p50 ms | p95 ms | intake p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_origin_row(name, row) for name, row in origins.items()),
        "",
        *_target(measure),
        "",
        *_floor(measure),
        "",
    ]


def _set_up(measure: dict[str, Any]) -> list[str]:
    calls = measure["amazon_order_calls"]
    return paragraph(
        f"{measure['sales']} single-unit sales (Poisson, {measure['sales_per_s']}/s on average,",
        f"over {measure['span_s']} s, seeded), each of a different SKU, on random channels,",
        "each channel hearing its orders as a seller would set it up: Shopify by signed",
        "webhook; Amazon by ORDER_CHANGE notifications on an SQS queue (moto's server,",
        f"started by the bench), searchOrders every {measure['amazon_backstop_s']} s as the",
        "backstop (its sustained rate, 0.0056/s) with Amazon's own two-minute settle window;",
        "the sandbox marketplace polled every second. The hub is wired as `omnisync run`",
        "wires it (scheduler, outbox watcher, order-event listener, HTTP server) on SQLite;",
        "every simulator runs at its published limits: Shopify's 1,000-point bucket",
        "restoring 100/s; Amazon at rate_scale 1 (patchListingsItem 5/s burst 5, getOrder",
        "0.5/s burst 30, searchOrders 0.0056/s burst 20); the sandbox 10 requests/s, burst",
        f"20. This run made {calls['searchOrders']} searchOrders and {calls['getOrder']}",
        f"getOrder calls; the simulator sent {calls['notifications_sent']} notifications.",
        "For each sale, by the simulators' own records: *sale to everywhere* runs from the",
        "sale on its channel to the moment the last *other* channel applied the new",
        "quantity; *from commit* from the commit of its reservation in the hub to that same",
        "moment (the figure b3 reported before); *intake* from the sale to the commit. One",
        "run; the percentiles are over its sales",
        f"({measure['sale_to_everywhere']['count']} propagated,",
        f"{measure['unpropagated']} not).",
    )


def _sale_clock(measure: dict[str, Any]) -> list[str]:
    stamps = measure["sale_stamps"]
    amazon = measure["by_origin"].get("amazon", {}).get("clock", {})
    return paragraph(
        "The sale's moment is the channel's own timestamp of the order: for Shopify",
        f"{stamps['shopify']}; for the sandbox {stamps['sandbox']}; for Amazon",
        f"{stamps['amazon']}. All simulators and the hub run on the wall clock of one",
        "process. A whole-second PurchaseDate is the start of the second the sale fell in,",
        "so an Amazon sale is taken at the later of its PurchaseDate and the start of the",
        "buyer's call, the earliest moment both allow (never flattering): here the call's",
        f"start for {amazon.get('call', 0)} Amazon sales, the PurchaseDate for",
        f"{amazon.get('stamp', 0)}. Stamps outside the buyer's call (a clock that",
        f"disagrees): {measure['stamps_off_call']}.",
    )


def _origin_row(name: str, row: dict[str, Any]) -> str:
    sale, commit, intake = row["sale_to_everywhere"], row["from_commit"], row["intake"]
    return (
        f"| {name} | {row['sales']} | {sale['p50_ms']} | {sale['p95_ms']} | {sale['max_ms']} "
        f"| {commit['p50_ms']} | {commit['p95_ms']} "
        f"| {intake['p50_ms']} | {intake['p95_ms']} | {intake['max_ms']} |"
    )


def _target(measure: dict[str, Any]) -> list[str]:
    target = measure["target_ms"]
    origins = measure["by_origin"]
    missed = measure["missed"]
    met = [name for name in origins if name not in missed]
    verdict = (
        f"every channel of origin meets it ({', '.join(met)})"
        if not missed
        else f"{', '.join(missed)} {'misses' if len(missed) == 1 else 'miss'} it"
        + (f"; {', '.join(met)} {'meets' if len(met) == 1 else 'meet'} it" if met else "")
    )
    paths = "; ".join(
        f"for {name}, {INTAKE_PATHS[name]}" for name in origins if name in INTAKE_PATHS
    )
    lines = paragraph(
        f"The target is a sale-to-everywhere p95 under {seconds(target)} for every channel",
        f"of origin; this run: {verdict}. Where the time goes: the intake is, {paths}.",
        "After the commit every sale takes the same path (from commit): the outbox",
        "watcher's 0.1 s debounce, then a push per channel, Amazon one patch per SKU at 95%",
        "of its 5/s.",
    )
    if "amazon" in origins:
        lines += ["", *_get_order_budget(measure)]
    for name in missed:
        lines += ["", *_what_limits(name, origins[name], target)]
    return lines


def _get_order_budget(measure: dict[str, Any]) -> list[str]:
    amazon = measure["by_origin"]["amazon"]
    orders, span = amazon["sales"], measure["span_s"]
    rate = GET_ORDER_RATE * HEADROOM
    reads = GET_ORDER_BURST + rate * span
    budget = (
        f"Amazon's notified orders each need a getOrder: {GET_ORDER_BURST} at once, then",
        f"{GET_ORDER_RATE:g}/s, of which the hub takes {HEADROOM:.0%} (sync/ratelimit.py",
        f"HEADROOM). Over the run's {span} s that is {reads:.0f} reads for {orders} Amazon",
        f"orders ({orders / span:.2f}/s).",
    )
    if orders <= reads:
        return paragraph(*budget, "No order waited for a read.")
    backlog = orders - reads
    return paragraph(
        *budget,
        f"The last {backlog:.0f} queue for reads: the last waits about {backlog:.0f} /",
        f"{rate:g} = {backlog / rate:.1f} s (measured: intake max",
        f"{seconds(amazon['intake']['max_ms'])}), while the orders that found a token took",
        f"{amazon['intake']['p50_ms']} ms (intake p50). Sustained, the hub hears at most",
        f"{rate:g} Amazon orders a second this way. What would lift that: the ORDER_CHANGE",
        "notification's Summary names each item's SellerSKU and Quantity, enough to reserve",
        "at once, with the order read by getOrder when a token is free (a change to the",
        "hub's intake, not to the bench).",
    )


def _what_limits(name: str, row: dict[str, Any], target: float) -> list[str]:
    sale, intake, commit = row["sale_to_everywhere"], row["intake"], row["from_commit"]
    part = "the intake" if intake["p95_ms"] >= commit["p95_ms"] else "the push (from commit)"
    reason = f" ({LIMITS[name]})" if part == "the intake" and name in LIMITS else ""
    return paragraph(
        f"{name} misses by {seconds(sale['p95_ms'] - target)}: its intake p95 is",
        f"{seconds(intake['p95_ms'])} and its from-commit p95 {seconds(commit['p95_ms'])},",
        f"so {part} limits it{reason}.",
    )


def _floor(measure: dict[str, Any]) -> list[str]:
    gap = measure["p95_ms"] - measure["floor_p95_ms"]
    margin = measure["floor_margin_ms"]
    verdict = "meets it" if gap <= margin else f"misses it by {gap - margin:.0f} ms"
    throttled = measure["throttled"]
    return [
        "From the commit on, against the floor, over all sales:",
        "",
        *_hub_and_floor(measure),
        "",
        *paragraph(
            "The floor plays the same commits through each channel's published limit with",
            "no hub: every other channel wants the new quantity at the commit and takes a",
            "call as soon as its bucket holds the call's cost; a call carries everything",
            "waiting, up to the channel's batch (Shopify 250 quantities per 10-point call,",
            "the sandbox 100 per request, Amazon one SKU per patch). Calls take no time, and",
            "the floor does not push the new figure back to the channel the sale came from",
            "(the hub does): a strict lower bound. The target is a from-commit p95 within",
            f"{seconds(margin)} of the floor: this run {verdict}. What the hub adds: the",
            "watcher's debounce; each push is a run of its own (lease, run record, dirty",
            "listings read, availability computed, results recorded: SQLite transactions);",
            "Amazon's patches at 95% of its rate (sync/ratelimit.py HEADROOM), the sale's own",
            "channel included; a sale committed while a push to a channel is running waits",
            "for the next push. Calls a channel refused during the run: Shopify",
            f"{throttled['shopify']}, Amazon {throttled['amazon']}, sandbox",
            f"{throttled['sandbox']}. Peak RSS of the measuring process (hub, simulators,",
            f"SQS): {measure['peak_rss_mb']} MB.",
        ),
    ]


def _hub_and_floor(measure: dict[str, Any]) -> list[str]:
    """The from-commit table: the hub's figures over the floor's."""
    return [
        "| | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|",
        f"| hub | {measure['p50_ms']} | {measure['p95_ms']} | {measure['max_ms']} |",
        f"| floor | {measure['floor_p50_ms']} | {measure['floor_p95_ms']} "
        f"| {measure['floor_max_ms']} |",
    ]


def _from_commit_only(measure: dict[str, Any]) -> list[str]:
    """A result of the older measure: from the commit only, Amazon by getOrders polling."""
    return [
        "## b3_propagation: a sale on one channel reaching the others",
        "",
        run_line(measure),
        "",
        *paragraph(
            "An older run, from the commit of each sale's reservation to the last other",
            "channel (Amazon then polled with getOrders): run `python -m bench --only",
            "b3_propagation` for the figures from the buyer's sale.",
        ),
        "",
        *_hub_and_floor(measure),
        "",
    ]
