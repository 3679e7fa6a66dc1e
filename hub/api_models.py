"""The shapes of /api/v1, for the OpenAPI document and the checks of responses.

Each mirrors a view of hub/views.py (the CLI's --json) or sync/health.py; they
allow extra keys because those shapes grow (keys are added, never renamed).
Times are ISO 8601 strings in UTC and money is a decimal string, exactly as the
views print them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from core.types import AlertSeverity, AlertState, OrderStatus, SyncRunStatus

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Money = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]


class Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(BaseModel):
    error: str


class OrderLineOut(Shape):
    channel_sku: str
    sku: str | None
    quantity: int
    unit_price: Money | None


class ShipmentOut(Shape):
    id: int
    carrier: str
    tracking_number: str
    status: str
    lines: list[dict[str, Any]]


class OrderOut(Shape):
    id: int
    channel: str
    external_id: str
    status: OrderStatus
    placed_at: Timestamp
    updated_at: Timestamp
    currency: str | None
    total: Money | None
    oversold: bool
    lines: list[OrderLineOut]


class OrderDetailOut(OrderOut):
    shipments: list[ShipmentOut]


class ShipmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, description="The channel's SKU or the hub's.")
    quantity: int = Field(ge=1)


class ShipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: str = Field(min_length=1, description="The name of a carrier channel.")
    tracking_number: str = Field(min_length=1, max_length=200)
    lines: list[ShipmentLineIn] | None = Field(
        default=None, description="What is in the parcel; omitted: every open unit."
    )
    service: str | None = Field(default=None, max_length=100)
    tracking_url: str | None = None


class LocationLevelOut(Shape):
    location: str
    on_hand: int
    reserved: int
    free: int


class ChannelAvailabilityOut(Shape):
    channel: str
    available: int


class StockOut(Shape):
    sku: str
    bundle: bool
    locations: list[LocationLevelOut]
    free_total: int
    channels: list[ChannelAvailabilityOut]


class AdjustmentIn(BaseModel):
    """`omnisync stock adjust SKU DELTA [--location L] [--reason R]` as JSON."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=128)
    delta: int = Field(description="Change of on hand, e.g. 5 or -2 (not 0).")
    location: str | None = Field(
        default=None, description="Location code; omitted: the first location of hub.yaml."
    )
    reason: str = Field(default="adjustment", max_length=500)


class MovementOut(Shape):
    id: int
    at: Timestamp
    sku: str
    location: str
    kind: str
    delta: int
    reason: str
    reference: str | None


class AdjustmentOut(Shape):
    movement: MovementOut
    stock: StockOut


class JobHealthOut(Shape):
    last_success: Timestamp | None
    last_failure: Timestamp | None
    last_error: str | None
    consecutive_failures: int
    interval_seconds: float | None


class OpenAlertOut(Shape):
    id: int
    rule: str
    channel: str | None
    severity: AlertSeverity
    message: str
    first_seen: Timestamp
    last_seen: Timestamp
    count: int


class ChannelOut(Shape):
    """`channels list --json` and the channel of `status --json`, in one object."""

    name: str
    type: str
    enabled: bool
    locations: list[str] | None
    listings: int
    unbound_listings: int
    dirty_listings: int
    paused_reason: str | None
    jobs: dict[str, JobHealthOut]
    consecutive_failures: int
    oldest_dirty_since: Timestamp | None
    oldest_dirty_age_seconds: float | None
    open_alerts: list[OpenAlertOut]


class StatusOut(Shape):
    """`omnisync status --json`."""

    checked_at: Timestamp
    open_alerts: int
    channels: list[dict[str, Any]]
    alerts: list[OpenAlertOut]


class SyncRunOut(Shape):
    id: int
    channel: str | None
    job: str
    status: SyncRunStatus
    started_at: Timestamp
    finished_at: Timestamp | None
    duration_seconds: float | None
    counts: dict[str, int]
    error: str | None


class AlertOut(Shape):
    id: int
    rule: str
    channel: str | None
    severity: AlertSeverity
    state: AlertState
    message: str
    details: dict[str, Any]
    first_seen: Timestamp
    last_seen: Timestamp
    count: int
    notified_at: Timestamp | None
    resolved_at: Timestamp | None


class QuarantineOut(Shape):
    id: int
    channel: str | None
    kind: str
    external_id: str | None
    reason: str
    received_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolution_note: str | None
    raw_length: int


class QuarantineDetailOut(QuarantineOut):
    raw: str


class QuarantineResolveIn(BaseModel):
    """`omnisync quarantine resolve ID --note TEXT` as JSON; the resolver is "api"."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="Why it is dismissed; kept on the payload.",
    )


class QuarantineResolutionOut(Shape):
    """`omnisync quarantine retry|resolve --json`."""

    payload: QuarantineOut
    alert_resolved: bool
    orders: list[str]


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, str]
