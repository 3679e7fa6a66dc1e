"""Writes bench/results.json and docs/benchmarks.md from one run's results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(results: dict[str, Any]) -> None:
    """Measures of this run replace their earlier figures; the others are kept, each
    with the commit and date of the run that measured it."""
    run = {"commit": commit(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    earlier: dict[str, Any] = {}
    if RESULTS.exists():
        earlier = json.loads(RESULTS.read_text())
        for name, value in earlier.items():
            if _is_measure(name) and isinstance(value, dict) and "run" not in value:
                value["run"] = {"commit": earlier.get("commit"), "date": earlier.get("date")}
    measured = {name: {**value, "run": run} for name, value in results.items()}
    document = {
        **{name: value for name, value in earlier.items() if _is_measure(name)},
        **measured,
        "machine": machine(),
        **run,
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
        "each section names the commit and date of the run its figures come from.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['system']}.",
        "",
    ]
    if "b1_ingest" in document:
        lines += [
            "## b1_ingest: order intake against the storage floor",
            "",
            _run_line(document["b1_ingest"]),
            "",
            "Orders (2 to 4 lines) go through `upsert_order` (mapping lines to SKUs,",
            "reserving stock, marking listings dirty), committed in pages of 50. The floor is",
            "the same order and line rows written by a plain bulk insert per page. Each figure",
            "is the median of 3 rounds on a fresh database; ratio = real rows/s / floor rows/s.",
            "",
            "| backend | orders | orders/s | lines/s | floor rows/s | ratio | peak RSS MB |",
            "|---|---|---|---|---|---|---|",
        ]
        for backend, row in _rows(document["b1_ingest"]):
            lines.append(
                f"| {backend} | {row['orders']} | {row['orders_per_s']} | {row['lines_per_s']} "
                f"| {row['floor_rows_per_s']} | {row['ratio']} | {row['peak_rss_mb']} |"
            )
        lines += ["", *_b1_notes(dict(_rows(document["b1_ingest"]))), ""]
    if "b4_bulk_push" in document:
        lines += _b4_section(document["b4_bulk_push"])
    return "\n".join(lines) + "\n"


def _rows(measure: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in measure.items() if key != "run"]


def _run_line(measure: dict[str, Any]) -> str:
    run = measure.get("run") or {}
    return f"Run of commit `{run.get('commit', '?')}` on {run.get('date', '?')}."


def _b4_section(measure: dict[str, Any]) -> list[str]:
    lines = [
        "## b4_bulk_push: 10,000 changed quantities pushed",
        "",
        _run_line(measure),
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
            "1.2 target of issue 4. From a full bucket the arithmetic allows the whole push at",
            "once (0 s), so the floor is the simulator's own service time, and the hub takes",
            f"{full['ratio']} times it: that gap is the hub's own work per listing (reading",
            "and recording 10,000 listings in SQLite), not waiting. Throttles, when a call meets",
            "one, are waited out and retried; a failed round would be counted above.",
            f"Peak RSS of the measuring process (hub and simulator): {shopify['peak_rss_mb']} MB.",
            "",
        ]
    return lines


def _b1_notes(rows: dict[str, Any]) -> list[str]:
    worst = min(row["ratio"] for row in rows.values())
    verdict = "meets it" if worst >= 0.25 else f"misses it by a factor of {0.25 / worst:.1f}"
    return [
        f"The target (issue 8) is at least 0.25 of the floor; this run {verdict}.",
        "The real path costs about 40 statements per order (SKU mapping, bundle recipes,",
        "reservation lookups and conditional updates one line at a time, the outbox); batching",
        "those per page is the known way to close the gap. The measure runs 2,000 orders, not",
        "the 20,000 that issue 8 asks for, until that batching lands.",
    ]
