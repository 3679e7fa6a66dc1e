"""Helpers for measures: child processes, peak memory, medians."""

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
