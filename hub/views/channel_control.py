"""Channels as the console's channel screens and the channel actions of /api/v1 show
them: one channel with its health (the object of GET /api/v1/channels), the last run of
each job, who paused each channel by hand, and what "sync now" started.

Reads only, a fixed handful of grouped queries however many channels and runs there
are (sync/health.py reads the health itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from omnisync.core.clock import clock_of
from omnisync.core.errors import NotFound
from omnisync.core.models import Channel, SyncRun
from omnisync.hub.views.channels import channel_list, channels_with_health
from omnisync.hub.views.operations import sync_run_view
from omnisync.hub.views.shapes import ChannelOut, Shape, SyncRunOut
from omnisync.sync.channels import SyncChannel
from omnisync.sync.health import channel_health, channel_job_pairs, scheduled_jobs

Schedules = dict[str, dict[str, timedelta]]


class ChannelSyncOut(Shape):
    """POST /api/v1/channels/{name}/sync: the jobs asked to run now."""

    channel: str
    jobs: list[str]
    """A line per scheduled job of the channel: its name when it starts within moments;
    its name and "(running now: ...)" or "(running in another process: ...)" when a run of
    it is going, and it runs again once that run ends."""


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
    """The last run of each (channel name, job), running or finished, of these channels.

    Read as index seeks, one correlated subquery per (channel, job) on
    ix_sync_run_channel_job_started (channel_id, job, ...), as sync/health.py reads the
    health: runs are never pruned, and a GROUP BY over them would read every run a
    channel ever made on every load and refresh of /channels."""
    if not channel_ids:
        return {}
    pairs = channel_job_pairs(channel_ids)
    last = (
        select(func.max(SyncRun.id))
        .where(SyncRun.channel_id == pairs.c.channel_id, SyncRun.job == pairs.c.job)
        .scalar_subquery()
    )
    rows = session.exec(
        select(SyncRun, Channel.name)
        .join(Channel, col(Channel.id) == SyncRun.channel_id)
        .where(col(SyncRun.id).in_(sql_select(last).select_from(pairs)))
    ).all()
    return {(name, run.job): sync_run_view(run, name) for run, name in rows}
