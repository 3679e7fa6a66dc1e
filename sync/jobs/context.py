"""What a running job gets: the database, its channel, the connector, counters, stop signals."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from omnisync.connectors.base import Connector
from omnisync.core.clock import Clock, engine_clock
from omnisync.core.unlinked import UNLINKED_AFTER
from omnisync.sync.calls import Cancelled
from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.counts import RunCount


class PushObserver(Protocol):
    def __call__(
        self,
        channel: str,
        channel_sku: str,
        quantity: int,
        dirty_since: datetime | None,
        acknowledged_at: datetime,
    ) -> None: ...


class LeaseLost(Exception):
    """Another process took the job's lease over; stop before writing anything more."""


@dataclass
class JobContext:
    engine: Engine
    channel_id: int
    channel: SyncChannel
    connector: Connector
    stop: threading.Event
    lease_lost: threading.Event
    counts: Counter[RunCount] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    """What the run reports besides counts (unknown SKUs, listings without SKU)."""
    progress: Callable[[JobContext], None] | None = None
    """Called at every checkpoint (a terminal shows a progress line with it)."""
    on_push: PushObserver | None = None
    """Told of every acknowledged stock push (the demo and benchmarks measure lag with it)."""
    clock: Clock | None = None
    """The sync engine's clock; None: the database engine's (see `now`)."""
    unlinked_after: timedelta = UNLINKED_AFTER
    """How long a listing may stay unlinked before the unlinked_listings alert names it."""

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = engine_clock(self.engine)

    def now(self) -> datetime:
        """The current time, from the clock the job was given."""
        assert self.clock is not None
        return self.clock.now()

    @property
    def name(self) -> str:
        return self.channel.name

    def checkpoint(self) -> None:
        """Between pages and batches: stop cleanly if asked to or if the lease is gone."""
        if self.lease_lost.is_set():
            raise LeaseLost(f"{self.name}: the lease was lost")
        if self.stop.is_set():
            raise Cancelled(f"{self.name}: stopping")
        if self.progress is not None:
            self.progress(self)
