"""Each channel's health, read from the database: runs, push backlog, open alerts.

Pure reads, a fixed handful of grouped queries however many channels and jobs
there are. Used by `omnisync status`, `GET /api/v1/channels`, /metrics and the
alert rules (sync/alerts.py), so they all say the same thing.

How runs count (SyncRun.status):
- a *success* is a run that finished `succeeded` or `partial`: the channel
  answered; items it refused are retried one by one (Listing.attempts) and do
  not make the job unhealthy;
- a *failure* is a run that finished `failed`, including a run abandoned by a
  process that died (sync/runs.py closes it as failed);
- `cancelled` runs (the hub was shutting down) and runs still `running` are
  neither: they do not count as failures and do not end a failure streak.

`consecutive_failures` of a job is the number of failures after its last
success; a channel's is the largest over its jobs. Runs of one (channel, job)
never overlap (the lease), so a higher run id is a later run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from omnisync.core.models import Alert, Channel, Listing, SyncRun
from omnisync.core.types import AlertState, SyncRunStatus
from omnisync.sync.channels import SyncChannel
from omnisync.sync.jobs.names import JobName
from omnisync.sync.jobs.registry import supports_job
from omnisync.sync.runs import COMPLETED_STATUSES

JSON = dict[str, Any]


@dataclass(frozen=True)
class JobHealth:
    job: str
    last_success: datetime | None
    last_failure: datetime | None
    last_error: str | None
    """The error of the last failed run (redacted when it was recorded)."""
    consecutive_failures: int
    interval: timedelta | None
    """How often the scheduler runs the job for this channel; None: not scheduled."""


@dataclass(frozen=True)
class OpenAlert:
    id: int
    rule: str
    channel: str | None
    severity: str
    message: str
    first_seen: datetime
    last_seen: datetime
    count: int


@dataclass(frozen=True)
class ChannelHealth:
    id: int
    name: str
    type: str
    enabled: bool
    paused_reason: str | None
    configured_at: datetime
    """When the channel's config last changed (or it was added)."""
    jobs: tuple[JobHealth, ...]
    """Jobs that ran at least once or are scheduled, in JobName's order."""
    dirty_listings: int
    oldest_dirty_since: datetime | None
    open_alerts: tuple[OpenAlert, ...]
    checked_at: datetime

    @property
    def oldest_dirty_age(self) -> timedelta | None:
        if self.oldest_dirty_since is None:
            return None
        return max(self.checked_at - self.oldest_dirty_since, timedelta(0))

    @property
    def consecutive_failures(self) -> int:
        return max((job.consecutive_failures for job in self.jobs), default=0)

    def job(self, name: str) -> JobHealth | None:
        return next((job for job in self.jobs if job.job == name), None)


@dataclass(frozen=True)
class HubHealth:
    checked_at: datetime
    channels: tuple[ChannelHealth, ...]
    hub_alerts: tuple[OpenAlert, ...]
    """Open alerts that belong to no channel."""

    @property
    def open_alerts(self) -> int:
        return len(self.hub_alerts) + sum(len(channel.open_alerts) for channel in self.channels)


def scheduled_jobs(channel: SyncChannel) -> dict[str, timedelta]:
    """The jobs the scheduler runs for `channel` and their intervals (none when disabled)."""
    if not channel.enabled:
        return {}
    return {
        job: channel.intervals[job]
        for job in JobName
        if job in channel.intervals and supports_job(channel.type, job)
    }


def hub_health(
    session: Session,
    now: datetime,
    *,
    schedules: Mapping[str, Mapping[str, timedelta]] | None = None,
    names: Collection[str] | None = None,
) -> HubHealth:
    """Health of every channel row (or of `names`), and the open alerts of no channel.

    `schedules` (channel name -> job -> interval, see scheduled_jobs) adds the
    scheduled jobs that never ran and each job's interval.
    """
    alerts = _open_alerts(session)
    return HubHealth(
        checked_at=now,
        channels=tuple(channel_health(session, now, schedules=schedules, names=names)),
        hub_alerts=tuple(alerts.get(None, ())),
    )


def channel_health(
    session: Session,
    now: datetime,
    *,
    schedules: Mapping[str, Mapping[str, timedelta]] | None = None,
    names: Collection[str] | None = None,
) -> list[ChannelHealth]:
    """Health of every channel row (or of `names`), by channel name."""
    query = select(Channel).order_by(col(Channel.name))
    if names is not None:
        query = query.where(col(Channel.name).in_(list(names)))
    channels = [channel for channel in session.exec(query) if channel.id is not None]
    ids = [channel.id for channel in channels if channel.id is not None]
    runs = _job_runs(session, ids)
    dirty = _dirty_listings(session, ids)
    alerts = _open_alerts(session)
    result = []
    for channel in channels:
        assert channel.id is not None
        schedule = (schedules or {}).get(channel.name, {})
        jobs = sorted(set(runs.get(channel.id, {})) | set(schedule), key=_job_order)
        count, oldest = dirty.get(channel.id, (0, None))
        result.append(
            ChannelHealth(
                id=channel.id,
                name=channel.name,
                type=channel.type,
                enabled=channel.enabled,
                paused_reason=channel.paused_reason,
                configured_at=channel.updated_at,
                jobs=tuple(
                    _job_health(job, runs.get(channel.id, {}).get(job), schedule.get(job))
                    for job in jobs
                ),
                dirty_listings=count,
                oldest_dirty_since=oldest,
                open_alerts=tuple(alerts.get(channel.name, ())),
                checked_at=now,
            )
        )
    return result


_JOB_ORDER: dict[str, int] = {job.value: index for index, job in enumerate(JobName)}


def _job_order(job: str) -> tuple[int, str]:
    return (_JOB_ORDER.get(job, len(_JOB_ORDER)), job)


@dataclass
class _Runs:
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    streak: int = 0


def _job_health(job: str, runs: _Runs | None, interval: timedelta | None) -> JobHealth:
    runs = runs or _Runs()
    return JobHealth(
        job=job,
        last_success=runs.last_success,
        last_failure=runs.last_failure,
        last_error=runs.last_error,
        consecutive_failures=runs.streak,
        interval=interval,
    )


def _job_runs(session: Session, channel_ids: Sequence[int]) -> dict[int, dict[str, _Runs]]:
    """Per channel and job: last success, last failure and its error, failures since."""
    result: dict[int, dict[str, _Runs]] = defaultdict(lambda: defaultdict(_Runs))
    if not channel_ids:
        return result
    last_success = _last_run(channel_ids, COMPLETED_STATUSES)
    last_failure = _last_run(channel_ids, (SyncRunStatus.FAILED,))
    for channel_id, job, finished in session.exec(
        select(SyncRun.channel_id, SyncRun.job, SyncRun.finished_at).join(
            last_success, col(SyncRun.id) == last_success.c.run_id
        )
    ):
        assert channel_id is not None
        result[channel_id][job].last_success = finished
    for channel_id, job, finished, error in session.exec(
        select(SyncRun.channel_id, SyncRun.job, SyncRun.finished_at, SyncRun.error).join(
            last_failure, col(SyncRun.id) == last_failure.c.run_id
        )
    ):
        assert channel_id is not None
        result[channel_id][job].last_failure = finished
        result[channel_id][job].last_error = error
    streaks = (
        select(SyncRun.channel_id, SyncRun.job, func.count())
        .outerjoin(
            last_success,
            and_(
                col(SyncRun.channel_id) == last_success.c.channel_id,
                col(SyncRun.job) == last_success.c.job,
            ),
        )
        .where(
            col(SyncRun.channel_id).in_(channel_ids),
            col(SyncRun.status) == SyncRunStatus.FAILED,
            or_(last_success.c.run_id.is_(None), col(SyncRun.id) > last_success.c.run_id),
        )
        .group_by(col(SyncRun.channel_id), col(SyncRun.job))
    )
    for channel_id, job, count in session.exec(streaks):
        assert channel_id is not None
        result[channel_id][job].streak = int(count)
    return result


def _last_run(channel_ids: Sequence[int], statuses: Iterable[SyncRunStatus]) -> Any:
    """Subquery: the id of the last run per (channel, job) with one of `statuses`."""
    return (
        select(
            col(SyncRun.channel_id).label("channel_id"),
            col(SyncRun.job).label("job"),
            func.max(SyncRun.id).label("run_id"),
        )
        .where(col(SyncRun.channel_id).in_(channel_ids), col(SyncRun.status).in_(list(statuses)))
        .group_by(col(SyncRun.channel_id), col(SyncRun.job))
        .subquery()
    )


def _dirty_listings(
    session: Session, channel_ids: Sequence[int]
) -> dict[int, tuple[int, datetime | None]]:
    if not channel_ids:
        return {}
    rows = session.exec(
        select(Listing.channel_id, func.count(), func.min(Listing.dirty_since))
        .where(col(Listing.channel_id).in_(channel_ids), col(Listing.dirty))
        .group_by(col(Listing.channel_id))
    )
    return {channel_id: (int(count), oldest) for channel_id, count, oldest in rows}


def _open_alerts(session: Session) -> dict[str | None, list[OpenAlert]]:
    """Open alerts by channel name (None: alerts of no channel), oldest first."""
    rows = session.exec(
        select(Alert, Channel.name)
        .outerjoin(Channel, col(Channel.id) == Alert.channel_id)
        .where(Alert.state == AlertState.OPEN)
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    result: dict[str | None, list[OpenAlert]] = defaultdict(list)
    for alert, name in rows:
        assert alert.id is not None
        result[name].append(
            OpenAlert(
                id=alert.id,
                rule=alert.rule,
                channel=name,
                severity=alert.severity.value,
                message=alert.message,
                first_seen=alert.first_seen,
                last_seen=alert.last_seen,
                count=alert.count,
            )
        )
    return result


def seconds(value: timedelta | None) -> float | None:
    return round(value.total_seconds(), 3) if value is not None else None


def describe_duration(value: timedelta) -> str:
    """`45s`, `3m 20s`, `2h 5m`, `3d 4h`: the two largest units, for people."""
    total = int(max(value.total_seconds(), 0))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size or (unit == "s" and not parts):
            parts.append(f"{total // size}{unit}")
            total %= size
    return " ".join(parts[:2])
