"""Shipping an order the way an operator names it: the order by the hub's id, the
channel's id or its order name (hub/order_lookup.py), the carrier by its carrier channel,
the lines by SKU.

`ship_order` is what `omnisync orders ship`, the demo and
`POST /api/v1/orders/{id}/shipments` call. It works in the caller's transaction
(core/shipping.py `record_shipment` does the stock and the outbox); the
fulfilment push to the order's channel happens after commit, from the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from omnisync.connectors.base import Capability
from omnisync.connectors.registry import connector_for
from omnisync.core.channels import channel_by_name
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Order, Shipment
from omnisync.core.shipping import lines_with_sku_codes, record_shipment
from omnisync.hub.order_lookup import find_order
from omnisync.hub.settings import ChannelConfig, Settings


class UnknownCarrier(InvalidRequest):
    """The carrier named is not a carrier channel of the configuration (bad usage)."""


@dataclass(frozen=True)
class ShipRequest:
    order: str
    """The hub's order id, the channel's order id or its order name (hub/order_lookup.py)."""
    carrier: str
    """The name of a carrier channel (a channel whose type tracks parcels)."""
    tracking_number: str
    lines: Mapping[str, int] | None = None
    """SKU (the channel's or the hub's) -> units; None ships every open unit."""
    service: str | None = None
    tracking_url: str | None = None


def ship_order(session: Session, settings: Settings, request: ShipRequest) -> Shipment:
    """Record the shipment; raises NotFound or InvalidRequest (UnknownCarrier for a carrier
    that is not a carrier channel), having changed nothing."""
    carrier = carrier_channel(settings, request.carrier)
    order, _ = find_order(session, request.order.strip())
    lines = None if request.lines is None else lines_by_sku(session, order, request.lines)
    return record_shipment(
        session,
        order,
        lines,
        carrier=carrier_label(carrier),
        tracking_number=request.tracking_number,
        tracking_url=request.tracking_url,
        service=request.service,
        carrier_channel_id=channel_by_name(session, carrier.name).id,
    )


def carrier_channels(settings: Settings) -> list[ChannelConfig]:
    return [channel for channel in settings.channels if _tracks_parcels(channel)]


def carrier_channel(settings: Settings, name: str) -> ChannelConfig:
    carriers = carrier_channels(settings)
    known = ", ".join(channel.name for channel in carriers) or "none configured"
    found = next((channel for channel in settings.channels if channel.name == name), None)
    if found is None:
        raise UnknownCarrier(f"no channel {name!r} in the configuration (carriers: {known})")
    if found not in carriers:
        raise UnknownCarrier(
            f"channel {name!r} ({found.type}) is not a carrier channel (carriers: {known})"
        )
    if not found.enabled:
        raise UnknownCarrier(
            f"carrier channel {name!r} is disabled: enable it in {found.source} first"
        )
    return found


def carrier_label(channel: ChannelConfig) -> str:
    """The carrier's name as marketplaces know it (UPS, FedEx): what fulfilments say.

    A carrier connector may say it with `carrier_label(settings)`; else the channel's
    `provider` setting (ups, fedex: what marketplaces match on), else its name.
    """
    label = getattr(connector_for(channel.type), "carrier_label", None)
    if callable(label):
        return str(label(channel.settings))
    return str(getattr(channel.settings, "provider", None) or channel.name)


def _tracks_parcels(channel: ChannelConfig) -> bool:
    connector = connector_for(channel.type)
    return connector is not None and Capability.TRACKING in connector.capabilities


def lines_by_sku(session: Session, order: Order, wanted: Mapping[str, int]) -> dict[str, int]:
    """The channel's line ids and units for `wanted` (SKU -> units). A SKU on several lines
    fills them in line order; SKUs match the channel's SKU or the hub's."""
    if not wanted:
        raise InvalidRequest("name at least one line to ship")
    rows = lines_with_sku_codes(session, order.id or 0)
    shipping: dict[str, int] = {}
    for sku, units in wanted.items():
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise InvalidRequest(f"SKU {sku!r}: quantity must be a whole number of at least 1")
        matching = [line for line, code in rows if sku in (line.channel_sku, code)]
        if not matching:
            skus = sorted({line.channel_sku for line, _ in rows} | {c for _, c in rows if c})
            raise InvalidRequest(
                f"order {order.external_id} has no line with SKU {sku!r} "
                f"(its SKUs: {', '.join(skus) or 'none'})"
            )
        remaining = units
        for line in matching:
            take = min(remaining, line.open_quantity - shipping.get(line.external_line_id, 0))
            if take > 0:
                shipping[line.external_line_id] = shipping.get(line.external_line_id, 0) + take
                remaining -= take
        if remaining:
            open_units = sum(line.open_quantity for line in matching)
            raise InvalidRequest(
                f"order {order.external_id}: {units} of SKU {sku!r} to ship "
                f"but only {open_units} open"
            )
    return shipping
