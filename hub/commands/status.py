"""`omnisync status`: how every channel is doing and which alerts are open.

Exits 1 while any alert is open, 0 otherwise, and 3 when the database cannot be
reached (nothing was checked), so cron jobs and Nagios-style checks can run it as
is. Only reads the database. Under runner `procrastinate` it shows the queue too: the
workers alive, each queue's waiting/scheduled/running tasks, the oldest wait, the
stalled tasks (JSON: `queue`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import typer
from rich.table import Table
from rich.text import Text

from omnisync.core.clock import clock_of
from omnisync.core.redaction import redact, redact_data
from omnisync.hub.bootstrap import sync_channel
from omnisync.hub.commands.common import EXIT_FAILED, JsonOption, console, hub_session, print_json
from omnisync.hub.views import status_view
from omnisync.hub.views.channels import hub_queue
from omnisync.hub.views.shapes import json_data
from omnisync.sync.health import (
    ChannelHealth,
    HubHealth,
    OpenAlert,
    describe_duration,
    hub_health,
    scheduled_jobs,
)
from omnisync.sync.queue.state import QueueState


def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Channels' health and open alerts; exits 1 while any alert is open, 3 when the
    database cannot be reached."""
    with hub_session(ctx, read_only=True) as (hub, session):
        schedules = {
            channel.name: scheduled_jobs(sync_channel(channel, hub.settings))
            for channel in hub.settings.channels
        }
        health = hub_health(session, clock_of(session).now(), schedules=schedules)
        queue = hub_queue(session, hub.settings)
        secrets = hub.settings.secrets
    if json_output:
        # Errors were masked when recorded; mask again with today's secrets.
        print_json(redact_data(json_data(status_view(health, queue)), secrets))
    else:
        _print_tables(health, secrets)
        if queue is not None:
            _print_queue(queue)
    if health.open_alerts:
        raise typer.Exit(EXIT_FAILED)


def _print_tables(health: HubHealth, secrets: frozenset[str]) -> None:
    now = health.checked_at
    channels = Table("channel", "type", "state", "failures in a row", "dirty", "oldest dirty")
    jobs = Table("channel", "job", "every", "last success", "last failure", "failures", "error")
    for channel in health.channels:
        age = channel.oldest_dirty_age
        channels.add_row(
            channel.name,
            channel.type,
            _state(channel),
            str(channel.consecutive_failures),
            str(channel.dirty_listings),
            describe_duration(age) if age is not None else "",
        )
        for job in channel.jobs:
            jobs.add_row(
                channel.name,
                job.job,
                describe_duration(job.interval) if job.interval else "",
                _ago(job.last_success, now),
                _ago(job.last_failure, now),
                str(job.consecutive_failures),
                Text(redact(job.last_error or "", secrets)),  # no markup: channel's words
            )
    alerts = [alert for channel in health.channels for alert in channel.open_alerts]
    alerts += health.hub_alerts
    if not health.channels:
        console.print("no channels", markup=False, highlight=False)
    else:
        console.print(channels)
        console.print(jobs)
    if alerts:
        console.print(_alert_table(alerts, now, secrets))
    console.print(
        f"{len(alerts)} open alert(s)" if alerts else "no open alerts",
        markup=False,
        highlight=False,
    )


def _print_queue(queue: QueueState) -> None:
    table = Table("queue", "waiting", "scheduled", "running", "oldest waiting")
    for name, counts in sorted(queue.queues.items()):
        oldest = counts.oldest_waiting_seconds
        table.add_row(
            name,
            str(counts.waiting),
            str(counts.scheduled),
            str(counts.running),
            describe_duration(timedelta(seconds=oldest)) if counts.waiting else "",
        )
    if queue.queues:
        console.print(table)
    console.print(
        f"workers alive: {queue.workers_alive}, silent: {queue.workers_stalled}; "
        f"stalled tasks: {queue.stalled_jobs}"
        + ("" if queue.queues else "; no task waiting or running"),
        markup=False,
        highlight=False,
    )


def _alert_table(alerts: list[OpenAlert], now: datetime, secrets: frozenset[str]) -> Table:
    table = Table("channel", "rule", "severity", "since", "count", "message")
    for alert in alerts:
        table.add_row(
            alert.channel or "",
            alert.rule,
            alert.severity,
            _ago(alert.first_seen, now),
            str(alert.count),
            Text(redact(alert.message, secrets)),
        )
    return table


def _state(channel: ChannelHealth) -> str:
    if not channel.enabled:
        return "disabled"
    return "paused" if channel.paused_reason else "enabled"


def _ago(moment: datetime | None, now: datetime) -> str:
    return f"{describe_duration(now - moment)} ago" if moment is not None else ""
