"""What `skus import`, `stock import` and `listings import` check of a CSV file as a whole,
before any row is written: rows that say the same thing twice, the order bundles need,
numbers, and the fields a links row cannot do without.

Problems are returned as lines `FILE:LINE: message`, every one of them, so that one run
names everything to fix; the commands then import all rows or none.
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from omnisync.core.errors import InvalidRequest
from omnisync.core.listing_links import LinkRow

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class SkuRow:
    """One row of a SKU file, read."""

    line: int
    code: str
    title: str | None = None
    barcode: str | None = None
    safety_stock: int | None = None
    components: dict[str, int] | None = None
    """A bundle's recipe (component code -> quantity); None for a plain SKU."""


def whole_number_at_least_zero(name: str, text: str) -> int | None:
    """`text` as a count that cannot be negative (a safety stock); None when empty."""
    text = text.strip()
    if not text:
        return None
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidRequest(f"{name} {text!r} is not a whole number")
    if digits != text:
        raise InvalidRequest(f"{name} {text!r} must not be negative")
    return int(digits)


def repeated_keys(keyed_lines: Iterable[tuple[int, Key]]) -> list[tuple[int, int, Key]]:
    """(first line, repeating line, key) for each line whose key an earlier line has."""
    first_line: dict[Key, int] = {}
    repeats = []
    for line, key in keyed_lines:
        if key in first_line:
            repeats.append((first_line[key], line, key))
        else:
            first_line[key] = line
    return repeats


def sku_import_order(rows: Sequence[SkuRow], source: str) -> tuple[list[SkuRow], list[str]]:
    """The rows in the order they can be saved in (plain SKUs first, then bundles, each
    in file order), and the problems that no order can fix: a code on two rows, and
    bundles inside bundles (a bundle's components must be plain SKUs), cycles included."""
    problems = [
        f"{source}:{line}: SKU {code!r} is already on line {first}: one row per SKU"
        for first, line, code in repeated_keys((row.line, row.code) for row in rows)
    ]
    bundles = {row.code: row for row in rows if row.components is not None}
    problems.extend(_nested_bundles(bundles, source))
    plain = [row for row in rows if row.components is None]
    return [*plain, *bundles.values()], problems


def _nested_bundles(bundles: dict[str, SkuRow], source: str) -> list[str]:
    problems = []
    cycles_told: set[frozenset[str]] = set()
    for bundle in bundles.values():
        for component in bundle.components or {}:
            if component not in bundles:
                continue
            cycle = _path_back(bundles, component, bundle.code)
            if cycle is None:
                problems.append(
                    f"{source}:{bundle.line}: bundle {bundle.code!r} contains {component!r}, "
                    f"a bundle itself (line {bundles[component].line}): "
                    "a bundle's components must be plain SKUs"
                )
            elif frozenset(cycle) not in cycles_told:
                cycles_told.add(frozenset(cycle))
                problems.append(_cycle_problem(bundles, [bundle.code, *cycle], source))
    return problems


def _path_back(bundles: dict[str, SkuRow], start: str, goal: str) -> list[str] | None:
    """Codes from `start` to `goal` along bundle -> component, if the file has such a path."""
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop()
        if path[-1] == goal:
            return path
        for component in bundles[path[-1]].components or {}:
            if component in bundles and component not in seen:
                seen.add(component)
                paths.append([*path, component])
    return None


def _cycle_problem(bundles: dict[str, SkuRow], cycle: list[str], source: str) -> str:
    """`cycle` goes from a bundle back to itself: A, B, A."""
    first = bundles[cycle[0]]
    if len(cycle) == 2:
        return f"{source}:{first.line}: bundle {first.code!r} contains itself"
    steps = " -> ".join(f"{code!r} (line {bundles[code].line})" for code in cycle)
    return f"{source}:{first.line}: bundles contain each other in a cycle: {steps}"


LINK_COLUMNS = ("channel", "listing", "sku")
"""The header a links file (`listings import`) must have; other columns are ignored."""


def missing_link_columns(fieldnames: Sequence[str] | None) -> list[str]:
    """The columns of LINK_COLUMNS the header lacks (all of them for an empty file)."""
    present = {name.strip() for name in fieldnames or ()}
    return [name for name in LINK_COLUMNS if name not in present]


def read_link_rows(reader: csv.DictReader[str], source: str) -> tuple[list[LinkRow], list[str]]:
    """Every row of a links file whose three fields are filled, and a problem
    `FILE:LINE: ...` for each row that leaves one empty. LINE is the file's line (blank
    lines counted), where the row ends."""
    rows: list[LinkRow] = []
    problems: list[str] = []
    for row in reader:
        where = f"{source}:{reader.line_num}"
        fields = {name.strip(): (value or "").strip() for name, value in row.items() if name}
        empty = [name for name in LINK_COLUMNS if not fields.get(name)]
        if empty:
            verb = "is" if len(empty) == 1 else "are"
            problems.append(f"{where}: {' and '.join(empty)} {verb} empty")
            continue
        rows.append(LinkRow(fields["channel"], fields["listing"], fields["sku"], where))
    return rows, problems
