"""An incremental read of a stream: where it starts, which items it takes, where its
cursor moves. Pure (no database, no clock): sync/cursors.py stores the value and
sync/jobs/orders.py drives a read with it. dlt's `Incremental` is the model.

The rules, and why:
- The read starts `lag` before the committed cursor: channels show late updates
  whose time is already behind the cursor, and a read from the cursor itself
  would miss them. A stream with no cursor yet starts `backfill` before now.
- The start is closed (>=): an item exactly at the start value is read again
  rather than risk losing one that shares its time with the last item taken.
- So items come back, all those of the lag window and the boundary. Taking one
  again is harmless (the intake is idempotent, invariant 2), but within one read
  an item is taken once, by key: its identity and the version (time) it carries.
  dlt keeps only the keys at the start value; this keeps every key of the read,
  because a channel may also serve an item twice across its own pages (an order
  that changed while it was paged through), and a read is bounded by its pages.
- The cursor moves to the highest value the committed pages complete, and never
  back; it moves in the transaction that commits those pages, so it never passes
  an item that is not stored (invariant 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class Incremental:
    start: datetime
    """Where the read starts, inclusive."""
    committed: datetime | None
    """The stored cursor the read began from (None: the stream's first read)."""
    _taken: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @classmethod
    def from_cursor(
        cls, committed: datetime | None, *, lag: timedelta, backfill: timedelta, now: datetime
    ) -> Incremental:
        start = committed - lag if committed is not None else now - backfill
        return cls(start=start, committed=committed)

    def take(self, identity: str, version: datetime) -> bool:
        """True the first time this read meets `identity` at `version`; False for a repeat.

        The version is compared as its ISO text, as stored: two spellings of one instant
        in different offsets count as different versions (the intake orders them)."""
        key = (identity, version.isoformat())
        if key in self._taken:
            return False
        self._taken.add(key)
        return True

    @staticmethod
    def end_of(values: Iterable[datetime | None]) -> datetime | None:
        """Where committing pages that complete `values` moves the cursor: the highest of
        them. None when no page completes a value (the cursor stays where it is)."""
        return max((value for value in values if value is not None), default=None)


def moves_forward(stored: datetime | None, value: datetime) -> bool:
    """Whether the cursor, now at `stored`, moves to `value`: only forward, never back."""
    return stored is None or stored < value
