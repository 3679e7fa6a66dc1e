"""What a seller feels of a sale, per channel it was made on: from the sale on the channel
to the moment every other channel holds the new quantity (b3_propagation).

The sale's moment is the channel's own timestamp of the order. Every simulator of b3
runs on the wall clock of one process, so their stamps, the buyer's call times and the
hub's commit times are on one clock. A stamp in whole seconds (Amazon's PurchaseDate)
is the start of the second the sale fell in: the sale lies in [stamp, stamp + 1) and
within the buyer's call, so its moment is taken as the later of the stamp and the
call's start, the earliest moment both allow (a sale timed early makes the figures
longer, never flattering). A stamp with a fraction is taken as it is, and checked to
lie within the buyer's call; one that does not is counted.

Three figures per sale: *intake* (the sale to the commit of its reservation in the
hub), *from commit* (that commit to the last other channel applying the new quantity,
the measure b3 has always reported) and *sale to everywhere* (the two together).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bench.process import percentile

STAMP: Final = "stamp"
CALL: Final = "call"
SLACK_S: Final = 0.002
"""How far outside the buyer's call a stamp may lie before it is counted as off: the
moments are read a few instructions apart."""


@dataclass(frozen=True)
class SaleRecord:
    sku: str
    channel: str
    called_at: float
    """Epoch seconds when the buyer's call to the channel started."""
    answered_at: float
    """Epoch seconds when the channel answered with the order."""
    stamp: float
    """The channel's own timestamp of the order, epoch seconds."""
    whole_seconds: bool
    """The stamp is truncated to the second (Amazon's PurchaseDate)."""


def sale_moment(record: SaleRecord) -> tuple[float, str]:
    """When the sale happened, and which clock said so (STAMP or CALL)."""
    if record.whole_seconds and record.called_at > record.stamp:
        return record.called_at, CALL
    return record.stamp, STAMP


def stamp_off_call(record: SaleRecord) -> bool:
    """A stamp that cannot be right: outside the buyer's call (a whole-second stamp may
    lie up to a second before it)."""
    earliest = record.called_at - (1.0 if record.whole_seconds else 0.0) - SLACK_S
    return not earliest <= record.stamp <= record.answered_at + SLACK_S


@dataclass(frozen=True)
class SaleTiming:
    """One sale that reached every other channel: epoch seconds of each step."""

    channel: str
    sold_at: float
    committed_at: float
    everywhere_at: float
    clock: str
    """STAMP or CALL: what `sold_at` came from."""


def summary(values_ms: Sequence[float]) -> dict[str, Any]:
    data = list(values_ms)
    return {
        "p50_ms": round(percentile(data, 0.5), 1),
        "p95_ms": round(percentile(data, 0.95), 1),
        "max_ms": round(max(data, default=0.0), 1),
        "count": len(data),
    }


def origin_summaries(timings: Sequence[SaleTiming]) -> dict[str, dict[str, Any]]:
    """Per channel the sales were made on: the three figures, and the clocks used."""
    grouped: dict[str, list[SaleTiming]] = defaultdict(list)
    for timing in timings:
        grouped[timing.channel].append(timing)
    return {name: _origin(grouped[name]) for name in sorted(grouped)}


def _origin(timings: Sequence[SaleTiming]) -> dict[str, Any]:
    return {
        "sales": len(timings),
        "sale_to_everywhere": summary([(t.everywhere_at - t.sold_at) * 1000 for t in timings]),
        "from_commit": summary([(t.everywhere_at - t.committed_at) * 1000 for t in timings]),
        "intake": summary([(t.committed_at - t.sold_at) * 1000 for t in timings]),
        "clock": dict(sorted(Counter(t.clock for t in timings).items())),
    }


def missed_origins(by_origin: dict[str, dict[str, Any]], target_ms: float) -> list[str]:
    """The channels whose sale-to-everywhere p95 is not under `target_ms`."""
    return [
        name
        for name, row in by_origin.items()
        if not row["sale_to_everywhere"]["p95_ms"] < target_ms
    ]
