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
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, true, union_all
from sqlalchemy import select as sql_select
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


def channel_job_pairs(channel_ids: Sequence[int]) -> Any:
    """Subquery (channel_id, job): every job name for each of the channels, a cross join
    on purpose, for one index seek per pair (runs are never pruned: a GROUP BY over them
    reads every run a channel ever made)."""
    # A UNION of one-row selects: SQLite takes no column names on a VALUES list.
    jobs = union_all(*(sql_select(literal(job.value).label("job")) for job in JobName)).subquery(
        "jobs"
    )
    return (
        select(col(Channel.id).label("channel_id"), jobs.c.job)
        .select_from(Channel)
        .join(jobs, true())
        .where(col(Channel.id).in_(channel_ids))
        .subquery("pairs")
    )


def _job_runs(session: Session, channel_ids: Sequence[int]) -> dict[int, dict[str, _Runs]]:
    """Per channel and job: last success, last failure and its error, failures since.

    Read as index seeks, one correlated subquery per (channel, job, status) on
    ix_sync_run_channel_job_status (channel_id, job, status, id): runs are never pruned,
    and a GROUP BY over them would read every run a channel ever made (about 14,000 a
    day at the default intervals) on every status page and console refresh."""
    result: dict[int, dict[str, _Runs]] = defaultdict(lambda: defaultdict(_Runs))
    if not channel_ids:
        return result
    pairs = channel_job_pairs(channel_ids)

    def last(status: SyncRunStatus) -> Any:
        return (
            select(func.max(SyncRun.id))
            .where(
                SyncRun.channel_id == pairs.c.channel_id,
                SyncRun.job == pairs.c.job,
                SyncRun.status == status,
            )
            .scalar_subquery()
        )

    columns: list[Any] = [pairs.c.channel_id, pairs.c.job]
    columns += [last(status) for status in COMPLETED_STATUSES]
    columns.append(last(SyncRunStatus.FAILED))
    rows = session.execute(sql_select(*columns)).all()
    last_success: dict[tuple[int, str], int] = {}
    last_failure: dict[int, tuple[int, str]] = {}
    for channel_id, job, *ids in rows:
        succeeded = [run_id for run_id in ids[:-1] if run_id is not None]
        if succeeded:
            last_success[(channel_id, job)] = max(succeeded)
        if ids[-1] is not None:
            last_failure[ids[-1]] = (channel_id, job)
    success_of = {run_id: key for key, run_id in last_success.items()}
    if last_success:
        for run_id, finished in session.exec(
            select(SyncRun.id, SyncRun.finished_at).where(
                col(SyncRun.id).in_(list(last_success.values()))
            )
        ):
            assert run_id is not None
            channel_id, job = success_of[run_id]
            result[channel_id][job].last_success = finished
    if last_failure:
        for run_id, finished, error in session.exec(
            select(SyncRun.id, SyncRun.finished_at, SyncRun.error).where(
                col(SyncRun.id).in_(list(last_failure))
            )
        ):
            assert run_id is not None
            channel_id, job = last_failure[run_id]
            result[channel_id][job].last_failure = finished
            result[channel_id][job].last_error = error
    for run_id, (channel_id, job) in last_failure.items():
        since = last_success.get((channel_id, job))
        if since is not None and since > run_id:
            continue  # succeeded after its last failure: no streak
        streak = select(func.count()).where(
            SyncRun.channel_id == channel_id,
            SyncRun.job == job,
            SyncRun.status == SyncRunStatus.FAILED,
        )
        if since is not None:
            streak = streak.where(col(SyncRun.id) > since)
        result[channel_id][job].streak = int(session.exec(streak).one())
    return result


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
