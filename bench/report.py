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
    document = {
        **results,
        "machine": machine(),
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(document))


def render(document: dict[str, Any]) -> str:
    m = document["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); every figure below comes from one run",
        f"of commit `{document['commit']}` on {document['date']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['system']}.",
        "",
    ]
    if "b1_ingest" in document:
        lines += [
            "## b1_ingest: order intake against the storage floor",
            "",
            "Orders (2 to 4 lines) go through `upsert_order` (mapping lines to SKUs,",
            "reserving stock, marking listings dirty), committed in pages of 50. The floor is",
            "the same order and line rows written by a plain bulk insert per page. Each figure",
            "is the median of 3 rounds on a fresh database; ratio = real rows/s / floor rows/s.",
            "",
            "| backend | orders | orders/s | lines/s | floor rows/s | ratio | peak RSS MB |",
            "|---|---|---|---|---|---|---|",
        ]
        for backend, row in document["b1_ingest"].items():
            lines.append(
                f"| {backend} | {row['orders']} | {row['orders_per_s']} | {row['lines_per_s']} "
                f"| {row['floor_rows_per_s']} | {row['ratio']} | {row['peak_rss_mb']} |"
            )
        lines += ["", *_b1_notes(document["b1_ingest"]), ""]
    return "\n".join(lines) + "\n"


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
