"""The API's own bodies: the requests it reads and the replies only it makes.

A request body is a CLI command's options as JSON (each class names its command) and
refuses keys it does not know, so a misspelt option is a 422, never ignored. The
objects the CLI prints too (orders, stock, alerts, ...) are not here: they are the
shapes of hub/views/shapes.py, defined once for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omnisync.core.types import LinkMethod, ReturnDisposition


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


class AdjustmentIn(RequestBody):
    """`omnisync stock adjust SKU DELTA [--location L] [--reason R]` as JSON."""

    sku: str = Field(min_length=1, max_length=128)
    delta: int = Field(description="Change of on hand, e.g. 5 or -2 (not 0).")
    location: str | None = Field(
        default=None, description="Location code; omitted: the first location of hub.yaml."
    )
    reason: str = Field(default="adjustment", max_length=500)


class ResolveIn(RequestBody):
    """A resolve by hand as JSON: why, optionally; the resolver is "api"."""

    note: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[^\x00]*$",
        description="Why it is resolved; kept with it.",
    )


class QuarantineResolveIn(ResolveIn):
    """`omnisync quarantine resolve ID --note TEXT` as JSON; the resolver is "api"."""


class AlertResolveIn(ResolveIn):
    """`omnisync alerts resolve ID --note TEXT` as JSON; the resolver is "api"."""


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


def units_by_sku(lines: Iterable[ShipmentLineIn | ReturnLineIn]) -> dict[str, int]:
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
