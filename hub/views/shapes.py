"""Every JSON object the hub prints or serves, each defined once, here.

`--json` prints `model_dump(mode="json")` of these models and /api/v1 returns the same
models, so the CLI, the API and the OpenAPI document at /openapi.json cannot drift
apart: what a view builds is what the document describes. The rules:

- Keys are added, never renamed or removed: scripts and API clients read them. A field's
  place in its class is its place in the output, so new fields go last.
- Times are the text of `core.clock.iso` (ISO 8601, UTC written `+00:00`) and money is
  the decimal's own text (`"19.99"`): exactly what the CLI printed before these models
  existed. They are typed as strings for that reason: pydantic would write times its
  own way (`Z`).
- Building a shape refuses keys it does not declare (a misspelt key fails at once, in
  the view that made it), yet the document describes every shape as open
  (`additionalProperties`): a client must accept the keys a later version adds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from omnisync.core.types import (
    AlertSeverity,
    AlertState,
    LinkAction,
    LinkMethod,
    MovementKind,
    OrderReturnState,
    OrderStatus,
    PickListState,
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
    RouteSource,
    ShipmentStatus,
    SplitPolicy,
    SyncRunStatus,
    UserRole,
)
from omnisync.hub.cancellation import ChannelAnswer

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Money = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]


class Shape(BaseModel):
    """A JSON object of the hub's output (see the module for its rules)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"additionalProperties": True})


def json_data(value: object) -> Any:
    """What `--json` prints and the API sends: each shape in `value` (a shape, a list of
    them, or plain JSON data holding them) as its `model_dump(mode="json")`."""
    return to_jsonable_python(value)


# Catalogue and stock (`skus list`, `stock show`, `stock history`, /api/v1/stock)


class SkuComponentOut(Shape):
    sku: str
    quantity: int


class SkuOut(Shape):
    """`omnisync skus list --json`."""

    code: str
    title: str
    barcode: str | None
    safety_stock: int
    bundle: bool
    components: list[SkuComponentOut]
    retired_at: Timestamp | None


class LocationLevelOut(Shape):
    location: str
    on_hand: int
    reserved: int
    free: int


class ChannelAvailabilityOut(Shape):
    channel: str
    available: int


class BinOut(Shape):
    """A SKU's bin at one location, and its place on the picker's walk (`sequence`: lower
    first; null: after every numbered bin)."""

    location: str
    bin: str
    sequence: int | None


class StockOut(Shape):
    """`omnisync stock show --json`: per SKU its levels (none for a bundle), its free
    total, what each channel that sells may offer, and its bins (none for a bundle)."""

    sku: str
    bundle: bool
    locations: list[LocationLevelOut]
    free_total: int
    channels: list[ChannelAvailabilityOut]
    bins: list[BinOut]


class MovementHistoryOut(Shape):
    """`omnisync stock history --json`: one movement, with the on hand it left."""

    at: Timestamp
    location: str | None
    kind: MovementKind
    delta: int
    on_hand_after: int
    reason: str
    reference: str | None


class MovementOut(Shape):
    """The movement a stock adjustment through the API wrote."""

    id: int
    at: Timestamp
    sku: str
    location: str
    kind: MovementKind
    delta: int
    reason: str
    reference: str | None


class AdjustmentOut(Shape):
    movement: MovementOut
    stock: StockOut


# Orders and their parcels (`orders ...`, /api/v1/orders)


class OrderLineOut(Shape):
    external_line_id: str = Field(description="The channel's id of the line.")
    channel_sku: str
    sku: str | None
    quantity: int
    unit_price: Money | None


class OrderReturnOut(Shape):
    """A return of the order, as the order lists it (`returns show ID` has the rest)."""

    id: int
    name: str | None
    status: ReturnStatus


class OrderOut(Shape):
    """`omnisync orders list --json`."""

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
    held_at: Timestamp | None = Field(description="On hold since (nothing ships); null: not held.")
    hold_reason: str | None
    cancelled_by_hub_at: Timestamp | None = Field(
        description="When an operator cancelled it in the hub; null: not cancelled in the hub."
    )
    hub_cancel_reason: str | None
    lines: list[OrderLineOut]
    return_state: OrderReturnState = Field(
        description="How much of the order came back over its returns not declined or "
        "cancelled: none; requested (a return is open, nothing back yet); "
        "partially_returned; returned (every shipped unit)."
    )
    returns: list[OrderReturnOut] = Field(description="The order's returns, oldest first.")


class ShipmentLineOut(Shape):
    external_line_id: str
    quantity: int


class TrackingEventOut(Shape):
    at: Timestamp
    code: str
    description: str
    location: str | None


class ShipmentOut(Shape):
    """A parcel of an order, with what its carrier said of it, oldest first."""

    id: int
    carrier: str
    carrier_channel: str | None
    service: str | None
    tracking_number: str
    tracking_url: str | None
    status: ShipmentStatus
    shipped_at: Timestamp
    delivered_at: Timestamp | None
    lines: list[ShipmentLineOut]
    fulfilment_push: PushState
    events: list[TrackingEventOut]
    label_path: str | None = Field(
        default=None,
        description="The label file bought for the parcel (`orders label`); null: no "
        "label bought through the hub.",
    )
    label_format: str | None = Field(default=None, description="PDF or ZPL; null: no label.")
    carrier_shipment_id: str | None = Field(
        default=None,
        description="The carrier's id of the label bought through the hub (what voiding "
        "it at the carrier takes); null: no label bought through the hub.",
    )


class RouteOut(Shape):
    """Where the order ships from and why (hub.yaml `routing:`, or `orders route`)."""

    locations: list[str] = Field(description="Location codes, in the order of the lines.")
    lines: dict[str, str] = Field(description="The channel's line id -> location code.")
    reason: str
    split: SplitPolicy = Field(description="The channel's `split:` when it was routed.")
    source: RouteSource = Field(description="auto (the rules) or operator (`orders route`).")
    at: Timestamp


class OrderDetailOut(OrderOut):
    """`omnisync orders show --json`: the `orders list` shape plus the shipments."""

    shipments: list[ShipmentOut]
    route: RouteOut | None = Field(
        default=None,
        description="Where the order ships from and why; null: not routed (nothing to "
        "reserve when it came in, or it came in before routing existed).",
    )
    packed_at: Timestamp | None = Field(
        default=None,
        description="Since when a parcel of the order (the whole order, or its lines at one "
        "location) has every open unit scanned (`omnisync pack`); null: none has (cleared "
        "once no parcel is packed, as when the packed parcel ships).",
    )


class ShippedOut(Shape):
    """`omnisync orders ship --json`: the order as shipped and the parcel recorded."""

    order: OrderDetailOut
    shipment: ShipmentOut


class LabelOut(ShipmentOut):
    """`POST /api/v1/orders/{id}/label`: the parcel recorded with the label bought for it
    (its file in `label_path`), and what the carrier quoted for it."""

    price: Money | None = Field(
        description="The carrier's quote for the service (a label bought without a "
        "service: the cheapest quoted); null when no quote was asked."
    )
    currency: str | None
    file_error: str | None = Field(
        default=None,
        description="Why the label's file could not be written under the data folder "
        "(`label_path` is then null): the parcel is recorded all the same, print its label "
        "from the carrier's account; null: the file was written.",
    )


class OrderLabelOut(Shape):
    """`omnisync orders label --json`: the order as shipped and the parcel with its label."""

    order: OrderDetailOut
    shipment: LabelOut


class RateOut(Shape):
    """`omnisync orders rates --json`, `POST /api/v1/orders/{id}/rates`: one service the
    carrier quoted for the parcel, cheapest first."""

    service: str = Field(description="karrio's name for it (ups_ground): `--service` takes it.")
    price: Money | None
    currency: str | None
    transit_days: int | None


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


# Packing (`omnisync pack`, /api/v1/orders/{id}/pack)


class PackLineOut(Shape):
    """An order line as the parcel being packed holds it."""

    external_line_id: str
    channel_sku: str
    sku: str | None = Field(description="The hub SKU; null: bound to none, it cannot be scanned.")
    title: str
    needed: int = Field(description="Open units: neither shipped nor cancelled.")
    scanned: int = Field(description="Units scanned into the parcel being packed.")
    remaining: int


class PackingOut(Shape):
    """`GET /api/v1/orders/{id}/pack`: the parcel being packed."""

    order: int = Field(description="The hub's order id.")
    order_name: str = Field(description="The channel's order name, else its order id.")
    location: str | None = Field(
        description="Only the lines reserved at this location are packed; null: every line."
    )
    packed: bool = Field(description="Every open unit of the lines scanned, none too many.")
    packed_at: Timestamp | None
    lines: list[PackLineOut]


class PackScanOut(Shape):
    """A scan accepted: `units` of `sku` counted into the parcel."""

    code: str
    sku: str
    units: int
    scanned: int = Field(description="Units of the SKU in the parcel now.")
    needed: int = Field(description="Open units of the SKU in the order.")


class PackRefusalOut(Shape):
    """A scan refused: nothing was counted."""

    code: str
    message: str


class PackOut(PackingOut):
    """`omnisync pack --json` and `POST /api/v1/orders/{id}/pack`: the parcel after the
    scans, which were accepted and which refused."""

    accepted: list[PackScanOut] = Field(description="The scans counted, in order.")
    refused: list[PackRefusalOut] = Field(description="The scans refused, in order.")
    label: LabelOut | None = Field(
        default=None,
        description="The label bought once the parcel was packed (a label was asked for), "
        "with the parcel recorded for the units scanned; null: none bought.",
    )
    label_error: str | None = Field(
        default=None,
        description="Why the label asked for was not bought (the scans stand); null: no error.",
    )


# Returns (`omnisync returns ...`, /api/v1/returns, `omnisync report returns`)


class ReturnInspectionOut(Shape):
    """Units of a return line inspected together, and what became of them."""

    at: Timestamp
    disposition: ReturnDisposition
    quantity: int
    location: str | None = Field(
        description="The location restocked units went to; null for the other dispositions."
    )
    by: str | None = Field(description="Who recorded it.")


class ReturnLineOut(Shape):
    """Units of one order line in a return, and what the inspection found of them."""

    id: int
    external_line_id: str = Field(
        description="The channel's id of the return line; in a return made in the hub, "
        "the order line's."
    )
    order_line: str = Field(description="The `external_line_id` of the order line.")
    channel_sku: str
    sku: str | None
    requested: int
    restocked: int
    damaged: int
    missing: int
    not_returned: int
    left: int = Field(description="Units not inspected yet.")
    reason: str | None
    customer_note: str | None
    inspections: list[ReturnInspectionOut]


class ReturnPushOut(Shape):
    """What the channel is (or was) told of the return, from the outbox."""

    id: int
    action: ReturnAction
    refund: bool = Field(description="The channel is asked to refund with it.")
    reason: str | None
    state: PushState
    attempts: int = Field(description="Attempts the channel refused.")
    error: str | None = Field(description="The channel's words when it last refused it.")
    created_at: Timestamp
    pushed_at: Timestamp | None
    next_attempt_at: Timestamp | None


class ReturnOut(Shape):
    """`omnisync returns list --json`."""

    id: int
    name: str | None
    channel: str
    external_id: str | None = Field(
        description="The channel's id of the return; null for a return made in the hub."
    )
    order_id: int
    order_external_id: str
    order_name: str | None
    status: ReturnStatus
    channel_status: str
    reason: str | None
    customer_note: str | None
    tracking_number: str | None
    units_requested: int
    units_restocked: int
    units_damaged: int
    units_missing: int
    units_not_returned: int
    refund_state: RefundState
    refund_note: str | None = Field(
        description="Where the refund is issued when the hub cannot issue it (Amazon: "
        "Seller Central), and who recorded it as refunded."
    )
    refund_error: str | None = Field(description="The channel's words on a failed refund.")
    requested_at: Timestamp
    status_changed_at: Timestamp
    received_at: Timestamp | None
    closed_at: Timestamp | None
    updated_at: Timestamp
    created_by: str | None = Field(description="Who made it in the hub; null: the channel's.")


class ReturnDetailOut(ReturnOut):
    """`omnisync returns show ID --json`: with its lines and their inspections, what the
    channel is told, and the order it belongs to."""

    lines: list[ReturnLineOut]
    pushes: list[ReturnPushOut]
    order: OrderOut


class ReturnRateOut(Shape):
    """Figures of `omnisync report returns` for one channel and SKU, one channel (`sku`
    null) or every channel (both null)."""

    channel: str | None
    sku: str | None = Field(
        description="The hub SKU; null in a SKU row: order lines bound to no hub SKU."
    )
    orders_shipped: int
    units_shipped: int
    units_returned: int = Field(description="Units asked back (returns not declined or cancelled).")
    units_received: int = Field(description="Units that came back: restocked and damaged.")
    units_restocked: int
    units_damaged: int
    return_rate: float | None = Field(
        description="units_returned / units_shipped (0 to 1, four decimals); null: none shipped."
    )


class ReturnsReportOut(Shape):
    """`omnisync report returns --json`: the orders placed in the period, their units
    shipped and what of them was asked back and came back."""

    since: Timestamp
    until: Timestamp
    rate_of: str = Field(description="What the return rate is of, in words.")
    total: ReturnRateOut
    channels: list[ReturnRateOut]
    skus: list[ReturnRateOut]


# Channels and their health (`channels list`, `status`, /api/v1/channels, /api/v1/status)


class ChannelSummaryOut(Shape):
    """`omnisync channels list --json`: a channel's configuration and its listings."""

    name: str
    type: str
    enabled: bool
    locations: list[str] | None
    listings: int
    unbound_listings: int
    dirty_listings: int
    paused_reason: str | None


class ListingOut(Shape):
    """`omnisync listings list --json`, GET /api/v1/listings: one listing and its link."""

    id: int
    channel: str
    listing: str
    """The key the hub stores it under: its channel SKU, else the channel's own name."""
    channel_sku: str | None
    """None: the listing has no SKU on the channel."""
    channel_ids: dict[str, Any]
    title: str
    barcode: str | None
    sku: str | None
    """The hub SKU it is linked to; None: unlinked."""
    link_method: LinkMethod | None
    linked_at: Timestamp | None
    unlinked_since: Timestamp | None
    auto_link: bool
    """False: an operator unlinked it; only an operator links it again."""
    channel_quantity: int | None
    """What the channel showed at the last listings read."""
    channel_quantity_seen_at: Timestamp | None
    last_pushed_quantity: int | None
    dirty: bool
    last_push_error: str | None
    """The channel's words when it last refused this listing's quantity."""
    push_note: str | None
    """What the listing's pushes go through, in words: coalesced or held near the
    channel's daily revision limit (eBay); None when they go as usual."""
    push_held_until: Timestamp | None
    """When a held push may go; None when nothing is held."""
    untracked_stock: str | None
    """Why the channel does not count this listing's stock (WooCommerce: manage_stock
    off), so the hub pushes nothing to it; None when it does."""


class LinkChangeOut(Shape):
    """What `listings link|unlink`, a links CSV or PUT/DELETE /api/v1/listings/... did."""

    channel: str
    listing: str
    sku: str | None
    changed: bool
    method: LinkMethod | None
    lines: int
    """Order lines bound (link) or unbound (unlink)."""
    units: int
    """Open units those lines now take (link), or units freed (unlink)."""
    message: str


class AutoLinkOut(Shape):
    channel: str
    linked: list[LinkChangeOut]
    not_linked: list[str]


class LinkEventOut(Shape):
    """`omnisync listings history --json`: one change of a link."""

    id: int
    at: Timestamp
    channel: str
    listing: str
    action: LinkAction
    sku: str
    method: LinkMethod | None
    actor: str
    note: str | None


class ImportedListingOut(Shape):
    listing: str
    sku: str
    method: LinkMethod
    created: bool
    title: str
    barcode: str | None


class CountedSkuOut(Shape):
    sku: str
    quantity: int
    location: str


class ListingsReadOut(Shape):
    """The listings run `catalog import` starts with (kept with --dry-run too)."""

    fetched: int
    """Listings the channel reported."""
    linked_by_sku: int
    """Listings that run linked itself, their channel SKU being a hub SKU's code."""


class CatalogImportOut(Shape):
    """`omnisync catalog import --json`."""

    channel: str
    dry_run: bool
    created: int
    """Hub SKUs made from listings."""
    linked: list[ImportedListingOut]
    counted: list[CountedSkuOut]
    skipped: list[str]
    listings_read: ListingsReadOut


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


class ChannelHealthOut(Shape):
    """A channel of `omnisync status --json`: its jobs, its push backlog, its open alerts.
    `consecutive_failures` is the largest over the jobs."""

    name: str
    type: str
    enabled: bool
    paused_reason: str | None
    jobs: dict[str, JobHealthOut]
    consecutive_failures: int
    dirty_listings: int
    oldest_dirty_since: Timestamp | None
    oldest_dirty_age_seconds: float | None
    open_alerts: list[OpenAlertOut]


class ChannelOut(ChannelSummaryOut):
    """`channels list --json` and the channel of `status --json`, in one object."""

    jobs: dict[str, JobHealthOut]
    consecutive_failures: int
    oldest_dirty_since: Timestamp | None
    oldest_dirty_age_seconds: float | None
    open_alerts: list[OpenAlertOut]


class QueueCountsOut(Shape):
    """One queue (a marketplace type, or the ticks' `omnisync_ticks`) of runner
    `procrastinate`."""

    waiting: int
    """Tasks due now and not started."""
    scheduled: int
    """Tasks waiting for a later time (a retry after a refusal)."""
    running: int
    oldest_waiting_seconds: float
    """How long the oldest task due has waited (0: none waits)."""


class QueueStatusOut(Shape):
    """The queue of runner `procrastinate` in `omnisync status --json`."""

    workers_alive: int
    """Workers whose heartbeat is within hub.yaml workers.stalled_after."""
    workers_stalled: int
    """Worker rows silent for longer (dead, or not yet pruned)."""
    stalled_jobs: int
    """Tasks running on a silent worker (the sweep fails and re-defers them)."""
    oldest_waiting_seconds: float
    """The largest of the queues' oldest_waiting_seconds."""
    queues: dict[str, QueueCountsOut]
    """Only queues with a task waiting, scheduled or running."""
    tick_age_seconds: dict[str, float | None]
    """Per job kind: seconds since its periodic tick was last deferred (null: never)."""


class StatusOut(Shape):
    """`omnisync status --json`: `open_alerts` counts the channels' ones too; `alerts`
    are the open alerts of no channel; `queue` is there under runner `procrastinate`
    only."""

    checked_at: Timestamp
    open_alerts: int
    channels: list[ChannelHealthOut]
    alerts: list[OpenAlertOut]
    queue: QueueStatusOut | None = Field(default=None, exclude_if=lambda value: value is None)


# Runs, alerts and quarantined payloads (`sync`, `alerts`, `quarantine`, /api/v1)


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
    """`omnisync alerts list --json`."""

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


class AlertDeliveryOut(Shape):
    """What one notifier was told of the alert (sync/notify/dispatcher.py)."""

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


class AlertResolutionOut(Shape):
    """`omnisync alerts resolve --json`: whether the rule opens it again (null: only the
    running hub's evaluation can tell) and that in words."""

    alert: AlertOut
    opens_again: bool | None
    outlook: str


class QuarantineOut(Shape):
    """`omnisync quarantine list --json`: a payload without its body."""

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
    """`omnisync quarantine show ID --json`: with the raw body, as received."""

    raw: str


class QuarantineResolutionOut(Shape):
    """`omnisync quarantine retry|resolve --json`."""

    payload: QuarantineOut
    alert_resolved: bool
    orders: list[str]


# Bins, packaging barcodes and pick lists (`stock bins`, `skus barcodes`, `pick`, /api/v1)


class SkuBinOut(Shape):
    """`omnisync stock bins list --json`: one SKU's bin at one location."""

    sku: str
    location: str
    bin: str
    sequence: int | None
    updated_at: Timestamp


class PackagingBarcodeOut(Shape):
    """`omnisync skus barcodes list SKU --json`: a barcode that counts `quantity` units of
    the SKU when scanned (a case of 6)."""

    sku: str
    barcode: str
    quantity: int
    name: str
    created_at: Timestamp


class PickOrderOut(Shape):
    """One order's part of a row of the walk."""

    order_id: int
    order: str = Field(description="The order's name or number, else the channel's id.")
    channel: str
    units: int
    short: int = Field(description="Units of these not found on the shelf.")


class PickRowOut(Shape):
    """One stop of the walk: what to take of one SKU from one bin, split per order."""

    sequence: int | None
    bin: str | None
    sku: str
    title: str
    units: int
    short: int
    orders: list[PickOrderOut]


class PickListOut(Shape):
    """`omnisync pick list --json`: a pick list and its totals."""

    id: int
    location: str
    channel: str | None = Field(description="Only this channel's orders; null: every channel.")
    state: PickListState
    created_at: Timestamp
    created_by: str
    picked_at: Timestamp | None
    cancelled_at: Timestamp | None
    orders: int
    units: int
    short: int
    note: str | None = Field(description="What confirming it did (units short, orders oversold).")


class PickListDetailOut(PickListOut):
    """`omnisync pick show ID --json`: the list with its walk, in walking order (picking
    sequence, null last; then bin, null last; then SKU)."""

    rows: list[PickRowOut]


class PickCreatedOut(Shape):
    """`omnisync pick create --json`: the list made (null: nothing to pick) and the orders
    left out because they are oversold (they cannot ship whole)."""

    pick_list: PickListDetailOut | None
    oversold_skipped: int
    message: str


# Users and what they changed (`omnisync users list`, `users actions`)


class UserOut(Shape):
    """`omnisync users list --json`: a user of the console and the API (never a password
    or a token)."""

    name: str
    role: UserRole
    created_at: Timestamp
    disabled_at: Timestamp | None
    api_tokens: int = Field(description="Live API tokens of the user.")


class UserActionOut(Shape):
    """`omnisync users actions --json`: one change made through the console or the API."""

    id: int
    at: Timestamp
    user: str
    via: str = Field(description="console, api or cli.")
    action: str
    target: str
    detail: dict[str, Any] | None
