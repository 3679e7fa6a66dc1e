"""What the console's channel screens show, read once per request: every channel's (or
one channel's) health as `omnisync status --json` gives it (sync/health.py), who paused
it by hand, the last run of each job, and the open alerts; configured secret values
masked, as the API masks them.

The shapes come from hub/views as plain JSON data (dicts), with a few words added for
people: the channel's state, its last success and last error over its jobs, and
durations written out (`3m 20s`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.core.redaction import redact_data
from omnisync.hub.api.dependencies import ApiContext
from omnisync.hub.views.channel_control import latest_runs, paused_by, schedules_of
from omnisync.hub.views.channels import status_view
from omnisync.hub.views.shapes import json_data
from omnisync.sync.health import describe_duration, hub_health

JSON = dict[str, Any]


@dataclass
class ChannelBoard:
    channels: list[JSON]
    alerts: list[JSON]
    """Every open alert shown (all channels' and the hub's own), oldest first."""
    checked_at: str
    failing: int = 0
    paused: int = 0
    backlog: int = 0
    names: list[str] = field(default_factory=list)


def channel_board(
    session: Session, context: ApiContext, names: Collection[str] | None = None
) -> ChannelBoard:
    """Every channel row's health (or that of `names`), with the open alerts: all of
    them for every channel, only theirs for `names`."""
    health = hub_health(
        session,
        clock_of(session).now(),
        schedules=schedules_of(context.sync.channels),
        names=names,
    )
    secrets = context.secrets()
    status: JSON = redact_data(json_data(status_view(health)), secrets)
    runs = latest_runs(session, [channel.id for channel in health.channels])
    last_runs: dict[tuple[str, str], JSON] = {
        key: redact_data(json_data(run), secrets) for key, run in runs.items()
    }
    by_hand = paused_by(session)
    channels = [_channel(row, by_hand.get(row["name"]), last_runs) for row in status["channels"]]
    alerts = [alert for row in channels for alert in row["open_alerts"]]
    if names is None:
        alerts += status["alerts"]
    alerts.sort(key=lambda alert: (alert["first_seen"], alert["id"]))
    return ChannelBoard(
        channels=channels,
        alerts=alerts,
        checked_at=status["checked_at"],
        failing=sum(1 for row in channels if row["state"] == "failing"),
        paused=sum(1 for row in channels if row["paused_reason"]),
        backlog=sum(int(row["dirty_listings"]) for row in channels),
        names=[row["name"] for row in channels],
    )


def _channel(row: JSON, by_hand: str | None, last_runs: dict[tuple[str, str], JSON]) -> JSON:
    jobs = [
        {
            "job": job,
            **figures,
            "every": _duration(figures["interval_seconds"]),
            "last_run": last_runs.get((row["name"], job)),
        }
        for job, figures in row["jobs"].items()
    ]
    successes = [job["last_success"] for job in jobs if job["last_success"]]
    failed = sorted(
        (job for job in jobs if job["last_failure"]), key=lambda job: job["last_failure"]
    )
    latest_failure = failed[-1] if failed else None
    return {
        **row,
        "jobs": jobs,
        "paused_by": by_hand,
        "state": _state(row),
        "last_success": max(successes) if successes else None,
        "last_error": latest_failure["last_error"] if latest_failure else None,
        "last_error_at": latest_failure["last_failure"] if latest_failure else None,
        "last_error_job": latest_failure["job"] if latest_failure else None,
        "oldest_dirty_age": _duration(row["oldest_dirty_age_seconds"]),
    }


def _state(row: JSON) -> str:
    """`paused`, `disabled`, `failing` (a job failed its last runs) or `ok`."""
    if row["paused_reason"]:
        return "paused"
    if not row["enabled"]:
        return "disabled"
    if row["consecutive_failures"]:
        return "failing"
    return "ok"


def _duration(seconds: float | None) -> str | None:
    return describe_duration(timedelta(seconds=seconds)) if seconds is not None else None
