"""Phrases every section of docs/benchmarks.md uses."""

from __future__ import annotations

import textwrap
from typing import Any

WIDTH = 88


def run_line(measure: dict[str, Any]) -> str:
    run = measure.get("run") or {}
    where = run.get("machine")
    on = f" ({where['cpu']}, {where['cores']} cores)" if where else ""
    return f"Run of commit `{run.get('commit', '?')}` on {run.get('date', '?')}{on}."


def describe_machine(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, {machine['system']}"
    )


def units(count: int) -> str:
    if count == 0:
        return "no unit"
    return f"{count} unit" if count == 1 else f"{count} units"


def seconds(ms: float) -> str:
    """Milliseconds as seconds for prose: 4213.0 -> "4.2 s"."""
    return f"{ms / 1000:.1f} s"


def paragraph(*parts: str) -> list[str]:
    """The parts joined by spaces, wrapped at WIDTH: a paragraph of the page's source that
    reads as well as it renders."""
    return textwrap.wrap(
        " ".join(part.strip() for part in parts if part.strip()),
        width=WIDTH,
        break_long_words=False,
        break_on_hyphens=False,
    )
