"""b6_console's section of docs/benchmarks.md, rendered from its stored figures."""

from __future__ import annotations

from typing import Any

from bench.report_lines import paragraph, run_line

SLOW_MS = 300.0
"""The issue's limit: every console page under 300 ms on SQLite at 100,000 SKUs."""
SECTION_TITLE = "## b6_console: Console pages on a {skus:,}-SKU catalogue"


def console_section(measure: dict[str, Any]) -> list[str]:
    skus = int(measure.get("skus", 0))
    pages: list[dict[str, Any]] = list(measure.get("pages") or [])
    rows = measure.get("rows") or {}
    lines = [
        SECTION_TITLE.format(skus=skus),
        "",
        run_line(measure),
        f"Python {measure.get('python', '?')}, SQLite {measure.get('sqlite', '?')}, "
        f"{measure.get('cores', '?')} cores{_load(measure.get('load'))}.",
        "",
        *paragraph(
            "Every GET page of the console's routers (hub/web/pages), found in the app's",
            "routes, its path filled with real ids and codes, plus the query variants that",
            "matter (searches by title word, by a rare title word and by barcode, low stock,",
            "oversold and ready orders, unlinked listings, 90 days of reports), the second",
            'page of every list that has one (its `rel="next"` link), the live fragments the',
            "pages refresh (`data-refresh`, asked for with `X-Omnisync-Fragment: 1`), and the",
            "filtered lists the pages' counts link to (late orders, returns waiting, other",
            "report periods...).",
            "The hub is built as `omnisync run` builds it, without its scheduler, on a",
            "migrated SQLite file (no ANALYZE: the hub runs none), and served by its own",
            "uvicorn runner; an httpx client signed in as an admin asks over loopback, one",
            "request at a time, so a time is what a browser waits for the HTML, not for its",
            f"assets. Each page: {measure.get('warmup', 1)} warm-up request, then up to",
            f"{measure.get('rounds', '?')} timed rounds (fewer when a page spends its",
            f"{measure.get('page_budget_s', '?')} s budget); *queries* counts the SQL",
            "statements of the last request and *SQL ms* the time they took in all, their",
            "rows' fetching included (the rest is Python: the handler, the templates, the",
            "HTTP server).",
        ),
        "",
        *paragraph(
            f"The catalogue: {skus:,} SKUs with stock at 2 locations and a bin each,",
            f"{rows.get('listings', 0):,} listings on 3 channels (every SKU on two, the",
            f"unlinked ones on the third), {rows.get('orders', 0):,} orders over 90 days",
            f"({rows.get('order_lines', 0):,} lines, some oversold),",
            f"{rows.get('shipments', 0):,} shipments, {rows.get('returns', 0):,} returns,",
            f"{rows.get('pick_lists', 0):,} pick lists, {rows.get('sync_runs', 0):,} sync runs",
            "(a week of every job at its default interval),",
            f"{rows.get('alerts', 0):,} alerts, {rows.get('stock_movements', 0):,} stock",
            f"movements (bench/console_data.py; written in {measure.get('set_up_s', '?')} s).",
        ),
        "",
        "| page | status | rounds | p50 ms | p95 ms | max ms | queries | SQL ms | KB "
        f"| under {SLOW_MS:g} ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for page in pages:
        verdict = "**SLOW**" if is_slow(page) else ("yes" if page.get("status") == 200 else "")
        status = page.get("status")
        shown_status = status if status == 200 else f"**{status}**"
        lines.append(
            f"| {_code(page['page'])} | {shown_status} | {page.get('rounds', 0)} "
            f"| {page.get('p50_ms', '')} | {page.get('p95_ms', '')} | {page.get('max_ms', '')} "
            f"| {page.get('queries', '')} | {page.get('sql_ms', '')} | {page.get('kb', '')} "
            f"| {verdict} |"
        )
    lines.append("")
    slow = [page for page in pages if is_slow(page)]
    failed = [page for page in pages if page.get("status") != 200]
    lines += _verdict(pages, slow, failed, measure)
    for page in slow:
        lines += _slow_page(page)
    return lines


def is_slow(page: dict[str, Any]) -> bool:
    return float(page.get("p95_ms") or 0) > SLOW_MS


def _verdict(
    pages: list[dict[str, Any]],
    slow: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    measure: dict[str, Any],
) -> list[str]:
    if not pages:
        return ["No console page was found to measure.", ""]
    slow_names = ", ".join(_code(page["page"]) for page in slow)
    failed_names = ", ".join(f"{_code(page['page'])} {page.get('status')}" for page in failed)
    lines = paragraph(
        f"{len(pages)} pages measured;",
        f"{len(slow)} over {SLOW_MS:g} ms at p95 ({slow_names});"
        if slow
        else f"every one under {SLOW_MS:g} ms at p95;",
        f"{len(failed)} failed (not 200: {failed_names})." if failed else "none failed.",
    )
    skipped = measure.get("not_measured") or []
    if skipped:
        names = ", ".join(_code(label) for label in skipped)
        lines += ["", *paragraph("Not measured (the run's time budget ran out):", f"{names}.")]
    absent = measure.get("absent_variants") or []
    if absent:
        names = ", ".join(_code(label) for label in absent)
        lines += ["", *paragraph("Query variants whose page does not exist yet:", f"{names}.")]
    return [*lines, ""]


def _load(load: list[float] | None) -> str:
    """The machine's 1-minute load average as the run started and ended: other work on
    the machine slows every page alike."""
    if not load:
        return ""
    return f"; load average {load[0]:g} at the start, {load[-1]:g} at the end"


def _code(text: str) -> str:
    return f"`{text}`"


def _slow_page(page: dict[str, Any]) -> list[str]:
    lines = [f"### {_code(page['page'])}: {page.get('p95_ms')} ms at p95", ""]
    heaviest = page.get("slowest") or []
    if not heaviest:
        return [*lines, "No SQL statement of the page took a noticeable share of it.", ""]
    lines += paragraph(
        f"Its SQL took {page.get('sql_ms')} ms in {page.get('queries')} statements (the last",
        "request); the heaviest, with SQLite's EXPLAIN QUERY PLAN:",
    )
    for statement in heaviest:
        lines += ["", f"{statement['ms']} ms:", "", "```sql", statement["sql"], "```", ""]
        if statement.get("plan"):
            lines += ["```", *statement["plan"], "```"]
    return [*lines, ""]
