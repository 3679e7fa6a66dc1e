"""What the engine needs to know of a configured channel (built by hub/bootstrap.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from omnisync.connectors.base import ConnectorSettings
from omnisync.sync.jobs.names import JobName


@dataclass(frozen=True)
class SyncChannel:
    name: str
    type: str
    enabled: bool
    settings: ConnectorSettings
    intervals: Mapping[JobName, timedelta] = field(default_factory=dict)
    """How often each job runs; a job left out is not scheduled."""
    lag: timedelta = timedelta(minutes=2)
    backfill: timedelta = timedelta(days=7)
    item_backoff: timedelta = timedelta(seconds=30)
    tracking_unknown_after: timedelta = timedelta(hours=24)
    """Carrier channels: how long a number may stay unknown to the carrier before an alert."""
    locations: tuple[tuple[str, str], ...] = ()
    """(code, name) of the hub locations the channel sells from, in config order."""
    account: str | None = None
    """Channels naming one account share its rate limit (queued jobs lock by it)."""
