"""Helpers for measures: child processes, peak memory, medians and percentiles."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
from typing import Any


def run_child(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m module args` and return the JSON object it prints last."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], share: float) -> float:
    """The value at `share` of the sorted values (the nearest rank; 0.0 for none), as the
    demo's report takes it, so the figures compare."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]
