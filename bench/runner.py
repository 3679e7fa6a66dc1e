"""The measures by name; each measure runs its work in child processes of its own."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from bench import bulk_push, ingest, oversell, plan, propagation

MEASURES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "b1_ingest": ingest.run,
    "b2_plan": plan.run,
    "b3_propagation": propagation.run,
    "b4_bulk_push": bulk_push.run,
    "b5_oversell": oversell.run,
}


def run_measures(names: list[str], *, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        results[name] = MEASURES[name](quick)
        print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    return results
