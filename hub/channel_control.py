"""Pausing, resuming and syncing a channel by hand, alike from the console, /api/v1 and
`omnisync channels pause|resume`: each in the caller's transaction, recorded in
user_actions with who did it (core/users.py record_action).

A pause by hand lasts until a resume by hand (core/channels.py); "sync now" runs each of
the channel's scheduled jobs once, at once (or once its run going now ends), through the
scheduler of the process serving, so it needs one (`omnisync run`, `omnisync demo`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from omnisync.core.channels import (
    REASON_LENGTH,
    channel_by_name,
    pause_channel_by_hand,
    resume_channel,
)
from omnisync.core.errors import Conflict
from omnisync.core.models import Channel
from omnisync.core.users import Actor, record_action

NO_SCHEDULER = (
    "no scheduler runs in this process: sync now needs the hub process that "
    "`omnisync run` starts, serving the console and the API beside its jobs"
)
RunNow = Callable[[str], list[str]]


def pause(session: Session, actor: Actor, name: str, reason: str | None) -> Channel:
    """Pause the channel by hand (again, with new words, if it is paused already)."""
    channel = channel_by_name(session, name)
    words = " ".join((reason or "").split())[:REASON_LENGTH] or None
    pause_channel_by_hand(session, channel, actor.name, words)
    record_action(session, actor, "channel.pause", name, {"reason": words})
    return channel


def resume(session: Session, actor: Actor, name: str) -> Channel:
    """Resume a paused channel, whoever paused it (the hub itself, or someone by hand);
    Conflict for a channel that is not paused."""
    channel = channel_by_name(session, name)
    was = channel.paused_reason
    if was is None:
        raise Conflict(f"channel {name} is not paused")
    resume_channel(session, channel)
    record_action(session, actor, "channel.resume", name, {"was": was})
    return channel


def sync_now(session: Session, actor: Actor, name: str, run_now: RunNow | None) -> list[str]:
    """Run the channel's scheduled jobs once now; returns a line per job (Scheduler.run_now:
    its name, and what it waits for when a run of it is going). Conflict without a
    scheduler in this process, or for a disabled or paused channel; NotFound for an
    unknown one."""
    channel_by_name(session, name)
    if run_now is None:
        raise Conflict(NO_SCHEDULER)
    jobs = run_now(name)
    record_action(session, actor, "channel.sync", name, {"jobs": jobs})
    return jobs
