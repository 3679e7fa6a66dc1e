"""The measures by name, run in name order; each measure runs its work in child processes
of its own.

A measure sees the results of the measures run before it in the same run: b5 models
the hub's webhook and notification intake with the delays b3 has just measured, so b3
runs first (name order) whenever both are asked for.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from bench import bulk_push, console_pages, ingest, oversell, plan, propagation, queue_scale

Measure = Callable[[bool, Mapping[str, Any]], dict[str, Any]]
"""(quick, the results of this run so far) -> the measure's results."""


def alone(run: Callable[[bool], dict[str, Any]]) -> Measure:
    """A measure that needs no other measure's results."""

    def measure(quick: bool, _earlier: Mapping[str, Any]) -> dict[str, Any]:
        return run(quick)

    return measure


MEASURES: dict[str, Measure] = {
    "b1_ingest": alone(ingest.run),
    "b2_plan": alone(plan.run),
    "b3_propagation": alone(propagation.run),
    "b4_bulk_push": alone(bulk_push.run),
    "b5_oversell": oversell.run,
    "b6_console": alone(console_pages.run),
    "b7_workers": alone(queue_scale.run),
}


def run_measures(names: list[str], *, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in sorted(set(names)):
        results[name] = MEASURES[name](quick, results)
        print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    return results
