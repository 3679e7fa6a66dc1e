"""Normalised data that crosses between connectors and the core.

Connectors build these from channel payloads; the core never sees a channel's
own shapes. Validation here is the line where a malformed payload is caught.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from omnisync.core.types import (
    OrderStatus,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
    ShipmentStatus,
)


class NormalisedOrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_line_id: str = Field(min_length=1)
    channel_sku: str = Field(min_length=1)
    quantity: int = Field(ge=0)
    unit_price: Decimal | None = None
    title: str = ""
    quantity_shipped: int | None = Field(default=None, ge=0)
    """None: the channel did not say; taken as all of it once the order is shipped."""
    quantity_cancelled: int = Field(default=0, ge=0)
    buyer_cancel_requested: bool = False
    """The buyer asked the channel to cancel (Amazon's BuyerRequestedCancel): the seller
    decides; the hub keeps the line as it is and raises a notice."""
    buyer_cancel_reason: str | None = None

    @model_validator(mode="after")
    def _progress_within_quantity(self) -> NormalisedOrderLine:
        if (self.quantity_shipped or 0) + self.quantity_cancelled > self.quantity:
            raise ValueError("shipped plus cancelled exceeds the line quantity")
        return self


class NormalisedOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1)
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    """The channel's name or number for the order as sellers see it (Shopify `name`,
    "#1001"); operators may name the order by it. None: the channel has none."""
    status: OrderStatus
    channel_status: str = ""
    status_reason: str | None = None
    placed_at: AwareDatetime
    updated_at: AwareDatetime
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    total: Decimal | None = None
    customer: dict[str, Any] | None = None
    ship_to: dict[str, Any] | None = None
    lines: tuple[NormalisedOrderLine, ...] = ()
    ship_by: AwareDatetime | None = None
    """The latest the channel wants the order shipped (Amazon LatestShipDate, eBay
    shipByDate); None where the channel gives none."""
    buyer_ref: str | None = Field(default=None, max_length=200)
    """The channel's stable name for the buyer (eBay: the username), by which the channel
    asks for a buyer's personal data to be erased (WebhookEvents.erased_buyers)."""
    fulfilled_by_channel: bool = False
    """Channel-managed fulfilment (Amazon FBA): recorded, reserves nothing of ours."""
    raw: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _unique_line_ids(self) -> NormalisedOrder:
        ids = [line.external_line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate external_line_id in order lines")
        return self


QUARANTINED_ORDER = "order"
"""The quarantine kind of an item of a page of orders (its raw text: the item's JSON)."""
QUARANTINED_WEBHOOK = "webhook"
"""The quarantine kind of a webhook delivery's payload."""
QUARANTINED_NOTIFICATION = "notification"
"""The quarantine kind of a message of a channel's order-event queue (Amazon's
ORDER_CHANGE over SQS): its body as it came."""


QUARANTINED_RETURN = "return"
"""The quarantine kind of a return the channel's mapping could not read (its raw JSON as
the channel sent it)."""
QUARANTINED_UNMATCHED_RETURN = "unmatched_return"
"""The quarantine kind of a return read but not placed (its order is not in the hub):
its raw text is the NormalisedReturn as JSON, taken in again as it is on a retry."""


class OrderEvent(BaseModel):
    """One message of a channel's order-event queue: an order changed on the channel.

    The message stays on the queue until it is acknowledged, which the hub does only
    once what it says is committed (or quarantined): a crash in between delivers it
    again, and taking an order in twice changes nothing."""

    model_config = ConfigDict(frozen=True)

    receipt: str = Field(min_length=1)
    """What acknowledging the message needs (SQS: the receipt handle)."""
    message_id: str
    raw: str
    """The body as it came: what is quarantined when it cannot be read."""
    external_id: str | None = None
    """The order that changed; None when the message could not be read (see `error`)."""
    changed_at: AwareDatetime | None = None
    """When the order changed, as the channel says: a stored order at least this new is
    not fetched again."""
    audience: str | None = None
    """Which channel of a shared queue the message is for, as `account/part` (Amazon:
    seller id/marketplace id): an event for another part of an account the queue
    serves belongs to no channel and is left alone."""
    sent_at: AwareDatetime | None = None
    """When the queue took the message."""
    error: str | None = None
    """Why the message cannot be read; it is quarantined and acknowledged."""


class RejectedPayload(BaseModel):
    """One item of a page that could not be mapped; quarantined with its raw text."""

    model_config = ConfigDict(frozen=True)

    kind: str = QUARANTINED_ORDER
    raw: str
    reason: str
    external_id: str | None = None


class OrderPage(BaseModel):
    """One page of orders and the cursor value the page completes.

    `cursor` is the channel's own change time (ISO 8601) of the newest order of
    the page: once the page is committed, every order changed before it is in.
    """

    model_config = ConfigDict(frozen=True)

    orders: tuple[NormalisedOrder, ...] = ()
    rejected: tuple[RejectedPayload, ...] = ()
    cursor: AwareDatetime | None = None


class NormalisedReturnLine(BaseModel):
    """One line of a return as the channel reports it: units of one order line."""

    model_config = ConfigDict(frozen=True)

    external_line_id: str = Field(min_length=1)
    """The channel's id of the return line (Shopify: the ReturnLineItem gid; Amazon,
    which has none: the seller SKU within the RMA)."""
    quantity: int = Field(gt=0)
    order_external_line_id: str | None = None
    """The order line the units came from, in the channel's line ids; None when the
    channel names only the SKU (Amazon's report): the hub finds the line by it."""
    channel_sku: str | None = None
    """The SKU of the returned units as the channel has it (needed when the order line
    is not named)."""
    reason: str | None = None
    customer_note: str | None = None

    @model_validator(mode="after")
    def _names_its_order_line(self) -> NormalisedReturnLine:
        if not self.order_external_line_id and not self.channel_sku:
            raise ValueError("a return line names neither its order line nor a SKU")
        return self


class NormalisedReturn(BaseModel):
    """A return as the channel reports it, keyed by the channel's return id."""

    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1)
    order_external_id: str = Field(min_length=1)
    name: str | None = Field(default=None, max_length=200)
    status: ReturnStatus
    channel_status: str = ""
    reason: str | None = None
    customer_note: str | None = None
    requested_at: AwareDatetime
    updated_at: AwareDatetime
    """The channel's own change time of the return (a report row's date when it has no
    other): a stored return at least this new is not changed by the report."""
    tracking_number: str | None = None
    """The parcel on its way back, when the channel knows it."""
    refund_state: RefundState | None = None
    """What the channel says of the money (Amazon's resolution column); None: nothing."""
    lines: tuple[NormalisedReturnLine, ...] = ()
    raw: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _unique_line_ids(self) -> NormalisedReturn:
        ids = [line.external_line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate external_line_id in return lines")
        return self


class ReturnPage(BaseModel):
    """One page of returns and the cursor value it completes (as OrderPage)."""

    model_config = ConfigDict(frozen=True)

    returns: tuple[NormalisedReturn, ...] = ()
    rejected: tuple[RejectedPayload, ...] = ()
    cursor: AwareDatetime | None = None


class ReturnUpdateLine(BaseModel):
    """Units of one return line and what became of them, as the channel is told."""

    model_config = ConfigDict(frozen=True)

    external_line_id: str = Field(min_length=1)
    """The channel's return line id."""
    quantity: int = Field(gt=0)
    disposition: ReturnDisposition
    location: str | None = None
    """The hub location code the units were restocked at (RESTOCK only)."""
    told_before: int = Field(default=0, ge=0)
    """Units of this return line that earlier pushes told the channel of: with it, a
    channel whose call takes no idempotency key (Shopify's returnProcess) tells a retry
    of this push that went through from a new one."""


class ReturnUpdate(BaseModel):
    """What the channel is told of one of its returns (core/returns.py writes them as
    an outbox, sync/jobs/returns.py pushes them)."""

    model_config = ConfigDict(frozen=True)

    action: ReturnAction
    return_external_id: str = Field(min_length=1)
    order_external_id: str = Field(min_length=1)
    lines: tuple[ReturnUpdateLine, ...] = ()
    """PROCESS: the inspected units."""
    refund: bool = False
    """PROCESS and REFUND: refund the returned units (the channel works out the amount)."""
    reason: str | None = None
    """DECLINE: the operator's words."""
    idempotency_key: str


class ObservedQuantity(BaseModel):
    """A quantity the channel says it now holds for one listing (e.g. Shopify's
    ``inventory_levels/update``). The listing is the one whose ``channel_ids[key]``
    equals ``value``."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1)
    value: str = Field(min_length=1)
    quantity: int


class WebhookEvents(BaseModel):
    """What one verified webhook delivery carries."""

    model_config = ConfigDict(frozen=True)

    orders: tuple[NormalisedOrder, ...] = ()
    quantities: tuple[ObservedQuantity, ...] = ()
    returns: tuple[NormalisedReturn, ...] = ()
    """Returns the delivery reports (Shopify's returns/* topics), taken in as polled ones."""
    erased_buyers: tuple[str, ...] = ()
    """Buyers (their `NormalisedOrder.buyer_ref`) whose personal data the channel asks
    every app to erase (eBay's MARKETPLACE_ACCOUNT_DELETION): their orders keep their
    lines and stock, and lose name, address and the raw payload."""


class ChannelListing(BaseModel):
    """A channel's listing as the channel reports it."""

    model_config = ConfigDict(frozen=True)

    channel_sku: str | None
    """None: the channel has a listing without a SKU (reported, never guessed)."""
    channel_ids: dict[str, Any] = Field(default_factory=dict)
    quantity: int | None = None
    title: str = ""
    barcode: str | None = None
    """The product's GTIN/EAN/UPC/ISBN as the channel gives it (None: the channel has none);
    listings are linked by it (core/listing_links.py)."""
    untracked_stock: str | None = None
    """Why the channel does not count this listing's stock, in words (WooCommerce: a
    product with `manage_stock` off); None: it does. The hub stores and reports such a
    listing and pushes nothing to it; the seller turns stock management on in the
    channel to have it pushed."""
    own_key: str | None = None
    """The channel's own name for the listing (Shopify: `shopify:<variant gid>`), the one
    its order lines carry when it has no SKU. A listing without a SKU is stored under it,
    and renamed to its SKU once the channel gives it one."""

    @property
    def key(self) -> str | None:
        """What the hub stores the listing under: its SKU, else the channel's own name;
        None: the listing cannot be stored (reported only)."""
        return self.channel_sku or self.own_key


class StockUpdate(BaseModel):
    """A quantity to set on one listing."""

    model_config = ConfigDict(frozen=True)

    channel_sku: str
    quantity: int = Field(ge=0)
    channel_ids: dict[str, Any] = Field(default_factory=dict)
    last_acknowledged: int | None = None
    """What the channel last acknowledged (for compare-and-set channels)."""


class PushResult(BaseModel):
    """The outcome for one pushed item: acknowledged, or failed with the channel's words."""

    model_config = ConfigDict(frozen=True)

    key: str
    """The channel SKU of a stock update, or the order id of a fulfilment."""
    ok: bool
    quantity: int | None = None
    error: str | None = None
    retriable: bool = False
    daily_limit_reached: bool = False
    """Refused because the listing's daily revision limit is used up (eBay: 250 a day,
    revisions made elsewhere count too): held until the next day, not retried."""


class FulfilmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_line_id: str
    quantity: int = Field(gt=0)


class Fulfilment(BaseModel):
    """A shipment to report to the channel the order came from."""

    model_config = ConfigDict(frozen=True)

    order_external_id: str
    lines: tuple[FulfilmentLine, ...]
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    service: str | None = None
    notify_customer: bool = True
    idempotency_key: str


class TrackingEvent(BaseModel):
    """One scan or status change a carrier reports for a parcel."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    code: str
    """The carrier's own event code (kept as reported, for support cases)."""
    description: str = ""
    location: str | None = None
    status: ShipmentStatus = ShipmentStatus.UNKNOWN
    """The normalised status this event stands for."""


class TrackingInfo(BaseModel):
    """What a carrier knows of one tracking number, as of now.

    `found` is False when the carrier does not know the number (yet): freshly
    printed labels are often unknown for hours, so the hub decides when that
    becomes an alert.
    """

    model_config = ConfigDict(frozen=True)

    tracking_number: str
    found: bool = True
    status: ShipmentStatus = ShipmentStatus.UNKNOWN
    events: tuple[TrackingEvent, ...] = ()
    """Oldest first."""
    delivered_at: AwareDatetime | None = None
    estimated_delivery: AwareDatetime | None = None
    tracking_url: str | None = None
    message: str | None = None
    """The carrier's words when the number is unknown or in trouble."""


class Address(BaseModel):
    """A postal address as a carrier needs it on a label."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    company: str | None = None
    street1: str
    street2: str | None = None
    city: str
    state_code: str | None = None
    postal_code: str = ""
    country_code: str = Field(min_length=2, max_length=2)
    phone: str | None = None
    email: str | None = None


class Parcel(BaseModel):
    """One box: weight in kg, dimensions in cm (all three or none)."""

    model_config = ConfigDict(frozen=True)

    weight_kg: Decimal = Field(gt=0)
    length_cm: Decimal | None = Field(default=None, gt=0)
    width_cm: Decimal | None = Field(default=None, gt=0)
    height_cm: Decimal | None = Field(default=None, gt=0)


class LabelRequest(BaseModel):
    """What a carrier needs to quote or sell a label for one parcel."""

    model_config = ConfigDict(frozen=True)

    shipper: Address
    recipient: Address
    parcel: Parcel
    service: str | None = None
    """The carrier's service code as karrio names it (ups_ground, fedex_ground); None:
    quote every service (rates), or the carrier's default (a label)."""
    reference: str = ""
    """Printed on the label: the order's name."""
    label_format: str = "PDF"
    """PDF or ZPL."""


class ShippingRate(BaseModel):
    """One service a carrier quoted for a parcel."""

    model_config = ConfigDict(frozen=True)

    service: str
    price: Decimal | None = None
    currency: str | None = None
    transit_days: int | None = None


class PurchasedLabel(BaseModel):
    """A label the carrier sold: the parcel's tracking number and the document to print."""

    model_config = ConfigDict(frozen=True)

    tracking_number: str
    label: bytes
    label_format: str
    """PDF or ZPL: what `label` holds."""
    service: str | None = None
    carrier_shipment_id: str | None = None
    """The carrier's id of the shipment (what voiding the label takes), kept on the hub's
    shipment; karrio's `shipment_identifier`, else the tracking number."""
    price: Decimal | None = None
    currency: str | None = None
