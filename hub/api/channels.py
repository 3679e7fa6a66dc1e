"""/api/v1/channels and /api/v1/status: every channel's listings and health, and the
open alerts, as `omnisync channels list` and `omnisync status` print them; and, for
admins only, pausing, resuming and syncing a channel by hand (hub/channel_control.py),
each recorded with who did it.

Health is read from the database (sync/health.py), with the schedule of the running
engine's channels, so every process on one database answers the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from omnisync.core.clock import clock_of
from omnisync.hub import channel_control
from omnisync.hub.api.dependencies import (
    AdminOnly,
    Clean,
    Config,
    Context,
    CurrentActor,
    Hub,
    Reading,
    Writing,
)
from omnisync.hub.api.messages import ErrorOut, RequestBody
from omnisync.hub.views import channel_list, channels_with_health, status_view
from omnisync.hub.views.channel_control import ChannelSyncOut, channel_view, schedules_of
from omnisync.hub.views.channels import hub_queue
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
def hub_status(session: Reading, sync: Hub, clean: Clean, settings: Config) -> Any:
    """`omnisync status --json`: every channel's health and the open alerts (and the
    queue, under runner `procrastinate`)."""
    health = hub_health(session, clock_of(session).now(), schedules=_schedules(sync))
    return clean(status_view(health, hub_queue(session, settings)))


ChannelName = Annotated[str, Path(max_length=100, description="The channel's name.")]
_ADMIN_ROUTE: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "The caller is not an admin."},
    404: {"model": ErrorOut, "description": "No channel of that name."},
}


class PauseIn(RequestBody):
    """`omnisync channels pause NAME [--reason TEXT]` as JSON."""

    reason: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^[^\x00]*$",
        description="Why, in words: the channel shows `paused by NAME: REASON`.",
    )


@router.post(
    "/channels/{name}/pause",
    response_model=ChannelOut,
    dependencies=[AdminOnly],
    responses=_ADMIN_ROUTE,
)
def pause_channel(
    name: ChannelName,
    session: Writing,
    sync: Hub,
    clean: Clean,
    actor: CurrentActor,
    body: PauseIn | None = None,
) -> Any:
    """Pause the channel by hand (admins): none of its jobs runs, and nothing lifts the
    pause (not a changed config, not a run that succeeds) until someone resumes it."""
    channel_control.pause(session, actor, name, body.reason if body is not None else None)
    return clean(channel_view(session, name, schedules_of(sync.channels)))


@router.post(
    "/channels/{name}/resume",
    response_model=ChannelOut,
    dependencies=[AdminOnly],
    responses={
        **_ADMIN_ROUTE,
        409: {"model": ErrorOut, "description": "The channel is not paused."},
    },
)
def resume_channel(
    name: ChannelName, session: Writing, sync: Hub, clean: Clean, actor: CurrentActor
) -> Any:
    """Resume a paused channel (admins), whether paused by hand or by the hub itself
    (credentials refused: the jobs try again)."""
    channel_control.resume(session, actor, name)
    return clean(channel_view(session, name, schedules_of(sync.channels)))


@router.post(
    "/channels/{name}/sync",
    response_model=ChannelSyncOut,
    dependencies=[AdminOnly],
    responses={
        **_ADMIN_ROUTE,
        409: {
            "model": ErrorOut,
            "description": "No scheduler runs in this process, or the channel is disabled "
            "or paused.",
        },
    },
)
def sync_channel(name: ChannelName, session: Writing, context: Context, actor: CurrentActor) -> Any:
    """Sync now (admins): every scheduled job of the channel runs once within moments
    (one running already runs again once that run ends: the answer says which), and its
    push backlog is looked at at once. Needs the scheduler of `omnisync run`."""
    jobs = channel_control.sync_now(session, actor, name, context.run_now)
    return ChannelSyncOut(channel=name, jobs=jobs)
