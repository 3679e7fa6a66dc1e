"""The shapes of /api/v1, for the OpenAPI document and the checks of responses.

Each mirrors a view of hub/views.py (the CLI's --json) or sync/health.py; they
allow extra keys because those shapes grow (keys are added, never renamed).
Times are ISO 8601 strings in UTC and money is a decimal string, exactly as the
views print them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from omnisync.core.types import AlertSeverity, AlertState, OrderStatus, SyncRunStatus
from omnisync.hub.cancellation import ChannelAnswer

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
    display_name: str | None = Field(
        description="The channel's name or number for the order (Shopify #1001), if it has one."
    )
    status: OrderStatus
    placed_at: Timestamp
    updated_at: Timestamp
    currency: str | None
    total: Money | None
    oversold: bool
    lines: list[OrderLineOut]
    held_at: Timestamp | None = Field(description="On hold since (nothing ships); null: not held.")
    hold_reason: str | None
    cancelled_by_hub_at: Timestamp | None = Field(
        description="When an operator cancelled it in the hub; null: not cancelled in the hub."
    )
    hub_cancel_reason: str | None


class OrderDetailOut(OrderOut):
    shipments: list[ShipmentOut]


Reason = Annotated[
    str | None,
    Field(max_length=2000, pattern=r"^[^\x00]*$", description="Why, in words; kept on the order."),
]


class CancelIn(BaseModel):
    """`omnisync orders cancel ID [--push] [--reason TEXT]` as JSON."""

    model_config = ConfigDict(extra="forbid")

    push: bool = Field(
        default=False,
        description="Also ask the channel to cancel it, where its API allows (Shopify, sandbox).",
    )
    reason: Reason = None


class HoldIn(BaseModel):
    """`omnisync orders hold ID [--reason TEXT]` as JSON."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = None


class CancelledLineOut(Shape):
    external_line_id: str
    channel_sku: str
    cancelled: int = Field(description="Units this cancellation took off the line.")
    shipped: int = Field(description="Units that had left: they stay shipped.")


class HubCancellationOut(Shape):
    already: bool = Field(description="The hub had cancelled it before: nothing changed.")
    reason: str | None
    units_cancelled: int
    units_shipped: int
    lines: list[CancelledLineOut]


class ChannelCancellationOut(Shape):
    name: str
    answer: ChannelAnswer = Field(
        description="not_asked (no push: the channel still shows it), cancelled, refused, "
        "failed, or unsupported (its API cannot: the message says where to cancel it)."
    )
    message: str


class CancellationOut(Shape):
    """`omnisync orders cancel --json`."""

    order: OrderDetailOut
    cancellation: HubCancellationOut
    channel: ChannelCancellationOut


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
    resolved_by: str | None
    resolution_note: str | None


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


class ResolveIn(BaseModel):
    """A resolve by hand as JSON: why, optionally; the resolver is "api"."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="Why it is resolved; kept with it.",
    )


class QuarantineResolveIn(ResolveIn):
    """`omnisync quarantine resolve ID --note TEXT` as JSON; the resolver is "api"."""


class QuarantineResolutionOut(Shape):
    """`omnisync quarantine retry|resolve --json`."""

    payload: QuarantineOut
    alert_resolved: bool
    orders: list[str]


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, str]


class AlertDeliveryOut(Shape):
    """What one notifier was told of the alert."""

    notifier: str
    announced_at: Timestamp | None
    reminded_at: Timestamp | None
    reminders: int
    resolved_sent_at: Timestamp | None
    failures: int
    next_attempt_at: Timestamp | None
    last_error: str | None


class AlertDetailOut(AlertOut):
    """`omnisync alerts show ID --json`."""

    deliveries: list[AlertDeliveryOut]


class AlertResolveIn(ResolveIn):
    """`omnisync alerts resolve ID --note TEXT` as JSON; the resolver is "api"."""


class AlertResolutionOut(Shape):
    """`omnisync alerts resolve --json`."""

    alert: AlertOut
    opens_again: bool | None
    outlook: str
