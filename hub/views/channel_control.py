"""Channels as the console's channel screens and the channel actions of /api/v1 show
them: one channel with its health (the object of GET /api/v1/channels), the last run of
each job, who paused each channel by hand, and what "sync now" started.

Reads only, a fixed handful of grouped queries however many channels and runs there
are (sync/health.py reads the health itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlmodel import Session, col, func, select

from omnisync.core.clock import clock_of
from omnisync.core.errors import NotFound
from omnisync.core.models import Channel, SyncRun
from omnisync.hub.views.channels import channel_list, channels_with_health
from omnisync.hub.views.operations import sync_run_view
from omnisync.hub.views.shapes import ChannelOut, Shape, SyncRunOut
from omnisync.sync.channels import SyncChannel
from omnisync.sync.health import channel_health, scheduled_jobs

Schedules = dict[str, dict[str, timedelta]]


class ChannelSyncOut(Shape):
    """POST /api/v1/channels/{name}/sync: the jobs made due now."""

    channel: str
    jobs: list[str]
    """The channel's scheduled jobs, each started within moments."""


def schedules_of(channels: Mapping[str, SyncChannel]) -> Schedules:
    """The jobs the scheduler runs per channel, and their intervals (sync/health.py)."""
    return {name: scheduled_jobs(channel) for name, channel in channels.items()}


def channel_view(session: Session, name: str, schedules: Schedules) -> ChannelOut:
    """One channel as GET /api/v1/channels lists it; NotFound for an unknown name."""
    summaries = [row for row in channel_list(session) if row.name == name]
    if not summaries:
        raise NotFound(f"unknown channel {name!r}")
    health = channel_health(session, clock_of(session).now(), schedules=schedules, names=[name])
    (channel,) = channels_with_health(summaries, health)
    return channel


def paused_by(session: Session) -> dict[str, str]:
    """Who paused each channel paused by hand, by channel name."""
    rows = session.exec(
        select(Channel.name, Channel.paused_by).where(col(Channel.paused_by).is_not(None))
    ).all()
    return {name: by for name, by in rows if by is not None}


def latest_runs(session: Session, channel_ids: list[int]) -> dict[tuple[str, str], SyncRunOut]:
    """The last run of each (channel name, job), running or finished, of these channels."""
    if not channel_ids:
        return {}
    last = (
        select(func.max(SyncRun.id))
        .where(col(SyncRun.channel_id).in_(channel_ids))
        .group_by(col(SyncRun.channel_id), col(SyncRun.job))
    )
    rows = session.exec(
        select(SyncRun, Channel.name)
        .join(Channel, col(Channel.id) == SyncRun.channel_id)
        .where(col(SyncRun.id).in_(last))
    ).all()
    return {(name, run.job): sync_run_view(run, name) for run, name in rows}
