"""The API's own bodies: the requests it reads and the replies only it makes.

A request body is a CLI command's options as JSON (each class names its command) and
refuses keys it does not know, so a misspelt option is a 422, never ignored. The
objects the CLI prints too (orders, stock, alerts, ...) are not here: they are the
shapes of hub/views/shapes.py, defined once for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omnisync.core.types import LinkMethod, ReturnDisposition
from omnisync.hub.labels import LabelOptions, ParcelScope


class ErrorOut(BaseModel):
    """Every error: `{"error": "..."}`, with configured secret values masked."""

    error: str


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, str]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


Reason = Annotated[
    str | None,
    Field(max_length=2000, pattern=r"^[^\x00]*$", description="Why, in words; kept on the order."),
]


class CancelIn(RequestBody):
    """`omnisync orders cancel ID [--push] [--reason TEXT]` as JSON."""

    push: bool = Field(
        default=False,
        description="Also ask the channel to cancel it, where its API allows (Shopify, sandbox).",
    )
    reason: Reason = None


class HoldIn(RequestBody):
    """`omnisync orders hold ID [--reason TEXT]` as JSON."""

    reason: Reason = None


class RouteIn(RequestBody):
    """`omnisync orders route ID --location L` as JSON."""

    location: str = Field(min_length=1, description="The code of the location to ship from.")


class ShipmentLineIn(RequestBody):
    sku: str = Field(min_length=1, description="The channel's SKU or the hub's.")
    quantity: int = Field(ge=1)


class ShipmentIn(RequestBody):
    carrier: str = Field(min_length=1, description="The name of a carrier channel.")
    tracking_number: str = Field(min_length=1, max_length=200)
    lines: list[ShipmentLineIn] | None = Field(
        default=None, description="What is in the parcel; omitted: every open unit."
    )
    service: str | None = Field(default=None, max_length=100)
    tracking_url: str | None = None


PositiveSize = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]


class ParcelIn(RequestBody):
    """The parcel a label or a quote is for: its carrier channel, weight and size."""

    carrier: str = Field(
        min_length=1, max_length=100, description="A carrier channel that sells labels."
    )
    weight_kg: PositiveSize = Field(description="The parcel's weight in kg.")
    dimensions_cm: tuple[PositiveSize, PositiveSize, PositiveSize] | None = Field(
        default=None, description="Length, width and height in cm."
    )

    def options(self) -> LabelOptions:
        """The parcel as hub/labels.py takes it."""
        return LabelOptions(
            carrier=self.carrier, weight_kg=self.weight_kg, dimensions_cm=self.dimensions_cm
        )


class PackLabelIn(ParcelIn):
    """The label `POST /orders/{order_id}/pack` buys once the parcel is packed, for the
    units scanned: `omnisync pack --carrier C [--service S] --weight W [--dimensions
    LxWxH] [--format PDF|ZPL]` as JSON."""

    service: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The service as the rates name it (ups_ground); omitted: the cheapest.",
    )
    label_format: Literal["PDF", "ZPL"] = "PDF"

    def options(self) -> LabelOptions:
        return replace(super().options(), service=self.service, label_format=self.label_format)


class ParcelLinesIn(RequestBody):
    """Which units of the order the parcel holds (`--line SKU:QTY ...`, `--location L`)."""

    lines: list[ShipmentLineIn] | None = Field(
        default=None,
        min_length=1,
        description="The units in the parcel, by SKU; omitted: every open unit (at `location`).",
    )
    location: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The parcel of a split order at this location: the lines reserved there, "
        "shipped from it; omitted: where the lines are reserved.",
    )

    def scope(self) -> ParcelScope:
        """The units as hub/labels.py takes them."""
        skus = None if self.lines is None else units_by_sku(self.lines)
        return ParcelScope(skus=skus, location=self.location)


class RatesIn(ParcelIn, ParcelLinesIn):
    """`omnisync orders rates ID --carrier C --weight W [--dimensions LxWxH] [--line
    SKU:QTY ...] [--location L]` as JSON."""


class LabelIn(PackLabelIn, ParcelLinesIn):
    """`omnisync orders label ID --carrier C [--service S] --weight W [--dimensions LxWxH]
    [--format PDF|ZPL] [--line SKU:QTY ...] [--location L]` as JSON."""


class PackIn(RequestBody):
    """`omnisync pack ORDER --scan CODE ... [--location L]` as JSON."""

    scans: list[Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]] = Field(
        default_factory=list,
        max_length=1000,
        description="Barcodes scanned (a SKU's, its code, or a packaging's), in order.",
    )
    location: str | None = Field(
        default=None,
        max_length=100,
        description="Pack only the lines reserved at this location; omitted: every line.",
    )
    label: PackLabelIn | None = Field(
        default=None,
        description="Once the parcel is packed (by these scans, or before them), buy this "
        "label for the units scanned; omitted: no label.",
    )


class AdjustmentIn(RequestBody):
    """`omnisync stock adjust SKU DELTA [--location L] [--reason R]` as JSON."""

    sku: str = Field(min_length=1, max_length=128)
    delta: int = Field(description="Change of on hand, e.g. 5 or -2 (not 0).")
    location: str | None = Field(
        default=None, description="Location code; omitted: the first location of hub.yaml."
    )
    reason: str = Field(default="adjustment", max_length=500)


class ResolveIn(RequestBody):
    """A resolve by hand as JSON: why, optionally; the resolver is the caller's name (`api`
    for hub.yaml's token)."""

    note: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="Why it is resolved; kept with it.",
    )


class QuarantineResolveIn(ResolveIn):
    """`omnisync quarantine resolve ID --note TEXT` as JSON; the resolver is the caller."""


class AlertResolveIn(ResolveIn):
    """`omnisync alerts resolve ID --note TEXT` as JSON; the resolver is the caller."""


class LinkIn(RequestBody):
    """`omnisync listings link CHANNEL LISTING SKU` as JSON: the SKU; the rest is the path."""

    sku: str = Field(
        min_length=1, max_length=128, pattern=r"^[^\x00]*$", description="The hub SKU's code."
    )


class AutoLinkIn(RequestBody):
    """`omnisync listings auto-link --channel C [--by sku,barcode]` as JSON."""

    channel: str = Field(min_length=1, max_length=100, description="The channel's name.")
    by: list[Literal[LinkMethod.SKU, LinkMethod.BARCODE]] = Field(
        default=[LinkMethod.SKU, LinkMethod.BARCODE],
        min_length=1,
        description="The rules to link by: `sku` (the channel SKU is a hub SKU's code), "
        "then `barcode` (one hub SKU and one listing of the channel have it).",
    )


class ReturnLineIn(RequestBody):
    sku: str = Field(min_length=1, max_length=200, description="The channel's SKU or the hub's.")
    quantity: int = Field(ge=1, le=1_000_000)


def units_by_sku(lines: Iterable[ShipmentLineIn | ReturnLineIn | ShortIn]) -> dict[str, int]:
    """A body's lines as SKU -> units, a SKU named twice added up (as `--line SKU:QTY`)."""
    units: dict[str, int] = {}
    for line in lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


class ReturnIn(RequestBody):
    """`omnisync returns create ORDER --line SKU:QTY ... --reason R [--note N]` as JSON."""

    order: str = Field(
        min_length=1, max_length=400, description="The order as GET /orders/{order_id} names it."
    )
    lines: list[ReturnLineIn] = Field(min_length=1, description="Units coming back.")
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")
    note: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="The buyer's words, if any.",
    )


class DeclineIn(RequestBody):
    """`omnisync returns decline ID --reason R` as JSON."""

    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="Why, in words (the channel is told).",
    )


class ReceiptIn(ReturnLineIn):
    disposition: ReturnDisposition
    location: str | None = Field(
        default=None,
        max_length=100,
        description="Where restocked units go (restock only); omitted: where they shipped from.",
    )


class ReceiveIn(RequestBody):
    """`omnisync returns receive ID --line SKU:QTY:DISPOSITION ... [--refund]` as JSON,
    with the location per line."""

    lines: list[ReceiptIn] = Field(min_length=1)
    refund: bool = Field(
        default=False, description="Refund with the receipt (one call to a channel that refunds)."
    )


NoNul = r"^[^\x00]*$"


class BinIn(RequestBody):
    """`omnisync stock bins import` of one row as JSON: the SKU and location are the path."""

    bin: str = Field(min_length=1, max_length=64, pattern=NoNul)
    sequence: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000_000,
        description="Its place on the picker's walk (lower first); omitted: after every "
        "numbered bin.",
    )


class PackagingBarcodeIn(RequestBody):
    """`omnisync skus barcodes add SKU BARCODE --quantity N [--name NAME]` as JSON."""

    barcode: str = Field(min_length=1, max_length=64, pattern=NoNul)
    quantity: int = Field(ge=1, le=1_000_000, description="Units of the SKU a scan counts.")
    name: str = Field(default="", max_length=100, pattern=NoNul)


class PickListIn(RequestBody):
    """`omnisync pick create --location L [--channel C] [--max-orders N]` as JSON."""

    location: str = Field(min_length=1, max_length=64, pattern=NoNul)
    channel: str | None = Field(
        default=None, max_length=100, pattern=NoNul, description="Only this channel's orders."
    )
    max_orders: int | None = Field(default=None, ge=1, le=10_000)


class ShortIn(RequestBody):
    sku: str = Field(min_length=1, max_length=128, pattern=NoNul)
    quantity: int = Field(ge=1, le=1_000_000, description="Units not found on the shelf.")


class PickConfirmIn(RequestBody):
    """`omnisync pick confirm ID [--short SKU:QTY ...]` as JSON."""

    shorts: list[ShortIn] = Field(default=[], description="Units not found on the shelf.")
