"""What the hub records about its own work: cursors, runs, alerts, quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, json_column, text_column, utc_column
from omnisync.core.resolution import RESOLVER_LENGTH
from omnisync.core.types import AlertSeverity, AlertState, SyncRunStatus


class SyncCursor(SQLModel, table=True):
    """How far a channel's stream has been read; moves with the data it covers."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("channel_id", "stream", name="uq_sync_cursor_stream"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    stream: str = Field(max_length=50)
    value: str = Field(max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_run_channel_job_started", "channel_id", "job", "started_at"),
        # Channel health reads the last run of each status per (channel, job).
        Index("ix_sync_run_channel_job_status", "channel_id", "job", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    job: str = Field(max_length=50)
    status: SyncRunStatus = Field(
        default=SyncRunStatus.RUNNING, sa_column=enum_column(SyncRunStatus)
    )
    started_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    counts: dict[str, int] | None = Field(default=None, sa_column=json_column())
    error: str | None = Field(default=None, sa_column=text_column())


class Alert(SQLModel, table=True):
    """One row per (rule, channel) episode: opened once, counted, then resolved (by the
    hub once its condition clears, or by an operator: core/alerting.py)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alert_rule_channel_state", "rule", "channel_id", "state"),
        # At most one open alert per (rule, channel), even under concurrent writers.
        Index(
            "uq_alert_open_rule_channel",
            "rule",
            text("coalesce(channel_id, 0)"),
            unique=True,
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=50)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    severity: AlertSeverity = Field(
        default=AlertSeverity.WARNING, sa_column=enum_column(AlertSeverity)
    )
    state: AlertState = Field(default=AlertState.OPEN, sa_column=enum_column(AlertState))
    message: str = Field(default="", sa_column=text_column(nullable=False))
    details: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    first_seen: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_seen: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    count: int = 1
    notified_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=RESOLVER_LENGTH)
    """Who resolved it by hand: an operator's name, or "api"; None when the hub did."""
    resolution_note: str | None = Field(default=None, sa_column=text_column(nullable=True))


class AlertDelivery(SQLModel, table=True):
    """What one notifier was told of one alert, so that a restart neither repeats nor
    forgets a notification.

    The row exists from the first time the dispatcher saw the alert open.
    `announced_at`: the opening was delivered; `reminded_at`: the last reminder;
    `resolved_sent_at`: the resolution was delivered (the row is then done).
    `failures` and `next_attempt_at` pace retries of a failing notifier;
    `version` changes on every update, so that two hubs never both send one message.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "notifier", name="uq_alert_delivery_notifier"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id")
    notifier: str = Field(max_length=64)
    announced_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminders: int = 0
    resolved_sent_at: datetime | None = Field(
        default=None, sa_column=utc_column(nullable=True, index=True)
    )
    failures: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=text_column())
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class QuarantinedPayload(SQLModel, table=True):
    """A payload we could not map, kept verbatim so nothing is lost (invariant 7)."""

    __tablename__ = "quarantined_payloads"

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id", index=True)
    kind: str = Field(max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    reason: str = Field(sa_column=text_column(nullable=False))
    raw: str = Field(sa_column=text_column(nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=RESOLVER_LENGTH)
    """Who retried or dismissed it: an operator's name, or "api"."""
    resolution_note: str | None = Field(default=None, sa_column=text_column(nullable=True))


class SyncLease(SQLModel, table=True):
    """Who runs (channel, job) now; a holder that dies lets its lease expire (invariant 8)."""

    __tablename__ = "sync_leases"
    __table_args__ = (UniqueConstraint("channel_id", "job", name="uq_sync_lease_channel_job"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    job: str = Field(max_length=50)
    holder: str = Field(max_length=200)
    acquired_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())


class JobSchedule(SQLModel, table=True):
    """When (channel, job) runs next under runner `procrastinate`: the job kind's periodic
    tick defers the channels whose `next_run_at` has come; a run the channel refused (429,
    5xx) waits until `next_attempt_at`, `failures` in a row lengthening the wait."""

    __tablename__ = "job_schedules"
    __table_args__ = (
        UniqueConstraint("channel_id", "job", name="uq_job_schedule_channel_job"),
        Index("ix_job_schedule_job_next_run", "job", "next_run_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    job: str = Field(max_length=50)
    next_run_at: datetime = Field(sa_column=utc_column())
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    failures: int = 0
    last_deferred_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WebhookReceipt(SQLModel, table=True):
    """A webhook delivery already taken in: a channel's redelivery of it changes nothing."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (
        UniqueConstraint("channel_id", "delivery_id", name="uq_webhook_receipt_delivery"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    delivery_id: str = Field(max_length=200)
    topic: str = Field(default="", max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class OrderEventIntake(SQLModel, table=True):
    """A channel's order-event queue (Amazon ORDER_CHANGE over SQS): what it brought,
    and the order changes polling took in that it had not brought (a broken
    subscription shows as those)."""

    __tablename__ = "order_event_intake"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    events_taken: int = 0
    """Events taken in (orders committed, or found already up to date)."""
    last_event_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """When the hub last took an event in."""
    unheard: int = 0
    """Order changes polling took in that no event had brought, since the last event."""
    last_unheard_order: str | None = Field(default=None, max_length=200)
    last_unheard_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """When polling last took in such a change."""
