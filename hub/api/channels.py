"""/api/v1/channels and /api/v1/status: every channel's listings and health, and the
open alerts, as `omnisync channels list` and `omnisync status` print them.

Health is read from the database (sync/health.py), with the schedule of the running
engine's channels, so every process on one database answers the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from omnisync.core.clock import clock_of
from omnisync.hub.api.dependencies import Clean, Hub, Reading
from omnisync.hub.views import channel_list, channels_with_health, status_view
from omnisync.hub.views.shapes import ChannelOut, StatusOut
from omnisync.sync.engine import SyncEngine
from omnisync.sync.health import channel_health, hub_health, scheduled_jobs

router = APIRouter(tags=["channels"])


def _schedules(sync: SyncEngine) -> dict[str, dict[str, timedelta]]:
    return {name: scheduled_jobs(channel) for name, channel in sync.channels.items()}


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(session: Reading, sync: Hub, clean: Clean) -> Any:
    """Every channel with its listings (`channels list --json`) and its health (the
    channel objects of `omnisync status --json`)."""
    health = channel_health(session, clock_of(session).now(), schedules=_schedules(sync))
    return clean(channels_with_health(channel_list(session), health))


@router.get("/status", response_model=StatusOut)
def hub_status(session: Reading, sync: Hub, clean: Clean) -> Any:
    """`omnisync status --json`: every channel's health and the open alerts."""
    return clean(
        status_view(hub_health(session, clock_of(session).now(), schedules=_schedules(sync)))
    )
