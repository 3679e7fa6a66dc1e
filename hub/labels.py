"""Labels bought from a carrier channel for an order, and the parcel recorded with them.

`buy_label` is what `omnisync orders label`, `POST /api/v1/orders/{id}/label` and packing
(once an order is packed) call. It takes three steps, so that no transaction stays open
while the carrier is asked and nothing bought is lost:

1. one short read: the order (hub/order_lookup.py), refused as `orders ship` refuses it
   (core/shipping.py `units_to_ship`: held, cancelled, nothing open, unbound lines), the
   location it ships from and that location's address (hub.yaml `locations[].address`),
   and the buyer's address (core/addresses.py);
2. outside any transaction, the carrier channel's connector (through the engine: its
   throttling and retries) buys the label; its file is written under the data folder,
   `<data_dir>/labels/<order id>-<tracking number>.pdf|.zpl`;
3. one transaction records the parcel exactly as `orders ship` does (core/shipping.py
   `record_shipment`: reservations consumed, the fulfilment queued for the order's
   channel, the parcel tracked by the carrier channel) with the label's file and format.

If step 3 fails (the order changed meanwhile, the database is down), the label stays
bought: :class:`LabelNotRecorded` names its tracking number and its file, and how to
record the parcel by hand. `rates_for_order` takes step 1 and asks for quotes instead.

The ship-from location is where the lines shipped hold their reservations; else where
the order was routed (`route`: per line, then the order's locations); else the order's
channel's first selling location. Lines at two locations take two labels (`lines`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, TypeVar

from sqlmodel import Session, col, select

from omnisync.connectors.base import Capability, Connector, ConnectorError
from omnisync.connectors.registry import connector_for
from omnisync.core.addresses import address_from_ship_to
from omnisync.core.channels import channel_by_name, selling_locations
from omnisync.core.db import transaction
from omnisync.core.dto import Address, LabelRequest, Parcel, PurchasedLabel, ShippingRate
from omnisync.core.errors import Conflict, DomainError, InvalidRequest
from omnisync.core.models import Channel, Location, Order, OrderLine, Reservation
from omnisync.core.redaction import redact
from omnisync.core.shipping import record_shipment, units_to_ship
from omnisync.core.types import ReservationState
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.settings import ChannelConfig, Settings
from omnisync.hub.shipping import UnknownCarrier, carrier_channel, carrier_label
from omnisync.sync.calls import Cancelled
from omnisync.sync.engine import SyncEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

LabelFormat = Literal["PDF", "ZPL"]
LABEL_FORMATS: Final[tuple[LabelFormat, ...]] = ("PDF", "ZPL")
LABELS_FOLDER: Final = "labels"


class CarrierFailed(DomainError):
    """The carrier refused the request or could not be asked: nothing was bought (unless
    the message says a label may have been)."""


class LabelNotRecorded(Conflict):
    """A label was bought but its parcel could not be recorded: the message names the
    tracking number and the label's file."""

    def __init__(self, message: str, tracking_number: str, label_path: Path | None) -> None:
        super().__init__(message)
        self.tracking_number = tracking_number
        self.label_path = label_path


@dataclass(frozen=True, kw_only=True)
class LabelOptions:
    """What the label is for: the parcel and how the carrier is to carry it."""

    carrier: str
    """The name of a carrier channel whose carrier sells labels."""
    service: str | None = None
    """karrio's name for the service (ups_ground, fedex_ground); None: the cheapest
    quoted (for rates: every service)."""
    weight_kg: Decimal
    dimensions_cm: tuple[Decimal, Decimal, Decimal] | None = None
    """Length, width and height."""
    label_format: LabelFormat = "PDF"


@dataclass(frozen=True)
class LabelOutcome:
    order_id: int
    shipment_id: int
    carrier: str
    """The carrier channel the label was bought from."""
    service: str | None
    tracking_number: str
    label_path: str
    label_format: str
    price: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class _Parcel:
    """What step 1 found: the order, the units going, and the carrier's request."""

    order_id: int
    order_name: str
    lines: dict[str, int]
    """The channel's line id -> units in the parcel."""
    request: LabelRequest


def buy_label(
    engine: SyncEngine,
    settings: Settings,
    order_ref: str,
    options: LabelOptions,
    *,
    lines: Mapping[str, int] | None = None,
    actor: str = "cli",
) -> LabelOutcome:
    """Buy the label for the order's parcel (`lines`: the channel's line id -> units;
    None: every open unit) and record the parcel (see the module). Raises NotFound,
    InvalidRequest (UnknownCarrier: not a carrier channel selling labels) or Conflict
    having bought nothing; CarrierFailed when the carrier refused; LabelNotRecorded when
    the label was bought but its parcel could not be recorded."""
    carrier = _labelling_carrier(settings, options)
    with transaction(engine.database, read_only=True) as session:
        parcel = _parcel(session, settings, order_ref, options, lines)
    label = _ask_carrier(engine, carrier, lambda connector: connector.buy_label(parcel.request))
    path = _write_label(settings, parcel, label)
    try:
        with transaction(engine.database) as session:
            order, _ = find_order(session, f"{HUB_ID_PREFIX}{parcel.order_id}")
            shipment = record_shipment(
                session,
                order,
                parcel.lines,
                carrier=carrier_label(carrier),
                tracking_number=label.tracking_number,
                service=label.service,
                carrier_channel_id=channel_by_name(session, carrier.name).id,
            )
            shipment.label_path = str(path)
            shipment.label_format = label.label_format
            session.add(shipment)
            session.flush()
            assert shipment.id is not None
            shipment_id = shipment.id
    except Exception as error:
        said = redact(f"{error}", engine.secrets)
        message = (
            f"order {parcel.order_name}: {carrier.name} sold label {label.tracking_number} "
            f"(file {path}) but the parcel could not be recorded: {said}. Record it with "
            f"`omnisync orders ship {parcel.order_id} --carrier {carrier.name} --tracking "
            f"{label.tracking_number}`, or void the label with the carrier"
        )
        log.warning("%s", message)
        raise LabelNotRecorded(message, label.tracking_number, path) from error
    log.info(
        "label %s bought from %s for order %s (%s) by %s: %s",
        label.tracking_number,
        carrier.name,
        parcel.order_id,
        parcel.order_name,
        actor,
        path,
    )
    return LabelOutcome(
        order_id=parcel.order_id,
        shipment_id=shipment_id,
        carrier=carrier.name,
        service=label.service,
        tracking_number=label.tracking_number,
        label_path=str(path),
        label_format=label.label_format,
        price=label.price,
        currency=label.currency,
    )


def rates_for_order(
    engine: SyncEngine,
    settings: Settings,
    order_ref: str,
    options: LabelOptions,
    *,
    lines: Mapping[str, int] | None = None,
) -> list[ShippingRate]:
    """What the carrier would charge for the order's parcel, per service, cheapest first
    (only `options.service` when it names one); nothing is bought or recorded. Refused
    as `buy_label` refuses an order that cannot ship."""
    carrier = _labelling_carrier(settings, options)
    with transaction(engine.database, read_only=True) as session:
        parcel = _parcel(session, settings, order_ref, options, lines)
    return _ask_carrier(engine, carrier, lambda connector: connector.rates(parcel.request))


# step 1 ----------------------------------------------------------------------------------


def _labelling_carrier(settings: Settings, options: LabelOptions) -> ChannelConfig:
    """The carrier channel, checked before anything is read; refuses options that cannot
    make a parcel."""
    if options.weight_kg <= 0:
        raise InvalidRequest("the parcel's weight must be more than 0 kg")
    if options.dimensions_cm is not None and any(side <= 0 for side in options.dimensions_cm):
        raise InvalidRequest("the parcel's dimensions must each be more than 0 cm")
    if options.label_format not in LABEL_FORMATS:
        raise InvalidRequest(
            f"label format {options.label_format!r} is not one of {', '.join(LABEL_FORMATS)}"
        )
    carrier = carrier_channel(settings, options.carrier.strip())
    connector = connector_for(carrier.type)
    if connector is None or Capability.LABELS not in connector.capabilities:
        raise UnknownCarrier(f"carrier channel {carrier.name!r} ({carrier.type}) sells no labels")
    return carrier


def _parcel(
    session: Session,
    settings: Settings,
    order_ref: str,
    options: LabelOptions,
    lines: Mapping[str, int] | None,
) -> _Parcel:
    order, _ = find_order(session, order_ref.strip())
    assert order.id is not None
    name = order.display_name or order.external_id
    shipping = units_to_ship(session, order, lines)
    recipient = address_from_ship_to(order.ship_to)
    if recipient is None:
        raise InvalidRequest(
            f"order {name} has no ship-to address a carrier can use (it needs a street, a "
            "city and a country)"
        )
    length, width, height = options.dimensions_cm or (None, None, None)
    request = LabelRequest(
        shipper=_ship_from(session, settings, order, [line for line, _ in shipping]),
        recipient=recipient,
        parcel=Parcel(
            weight_kg=options.weight_kg, length_cm=length, width_cm=width, height_cm=height
        ),
        service=options.service.strip() if options.service else None,
        reference=name,
        label_format=options.label_format,
        idempotency_key=f"order-{order.id}-"
        + "-".join(f"{line.external_line_id}x{units}" for line, units in shipping),
    )
    return _Parcel(
        order_id=order.id,
        order_name=name,
        lines={line.external_line_id: units for line, units in shipping},
        request=request,
    )


def _ship_from(
    session: Session, settings: Settings, order: Order, lines: Sequence[OrderLine]
) -> Address:
    """The address of the location the lines ship from (see the module)."""
    codes = _reserved_at(session, lines) or _routed_to(order, lines)
    if not codes:
        channel = session.get(Channel, order.channel_id)
        selling = selling_locations(session, channel) if channel is not None else []
        codes = [selling[0].code] if selling else []
    name = order.display_name or order.external_id
    if not codes:
        raise InvalidRequest(f"order {name}: no location to ship it from")
    if len(codes) > 1:
        raise InvalidRequest(
            f"order {name}: its lines ship from {' and '.join(codes)}; buy one label per "
            "location, each for the lines there"
        )
    (code,) = codes
    for index, location in enumerate(settings.hub.locations):
        if location.code == code:
            if location.address is None:
                raise InvalidRequest(
                    f"location {code!r} has no address to ship from: set "
                    f"locations.{index}.address in hub.yaml"
                )
            return location.address
    raise InvalidRequest(f"location {code!r} is not in hub.yaml's locations")


def _reserved_at(session: Session, lines: Sequence[OrderLine]) -> list[str]:
    """The codes of the locations holding the lines' active reservations, in id order."""
    rows = session.exec(
        select(Location.code)
        .join(Reservation, col(Reservation.location_id) == Location.id)
        .where(col(Reservation.order_line_id).in_([line.id for line in lines]))
        .where(Reservation.state == ReservationState.ACTIVE)
        .where(col(Reservation.quantity) > 0)
        .distinct()
    ).all()
    return sorted(rows)


def _routed_to(order: Order, lines: Sequence[OrderLine]) -> list[str]:
    """Where the order was routed: its lines' locations, else the order's."""
    route = order.route or {}
    by_line = route.get("lines")
    if isinstance(by_line, dict):
        codes = {by_line.get(line.external_line_id) for line in lines}
        if codes and None not in codes:
            return sorted(str(code) for code in codes)
    routed = route.get("locations")
    return [str(code) for code in dict.fromkeys(routed)] if isinstance(routed, list) else []


# step 2 ----------------------------------------------------------------------------------


def _ask_carrier(engine: SyncEngine, carrier: ChannelConfig, ask: Callable[[Connector], T]) -> T:
    """`ask(connector)` with the carrier channel's connector; its failure in words."""
    if carrier.name not in engine.channels:
        raise UnknownCarrier(f"carrier channel {carrier.name!r} is not loaded in this hub yet")
    try:
        with engine.borrowed(carrier.name) as connector:
            return ask(connector)
    except (ConnectorError, Cancelled) as error:
        said = redact(f"{type(error).__name__}: {error}", engine.secrets)
        raise CarrierFailed(f"carrier channel {carrier.name}: {said}") from error


def _write_label(settings: Settings, parcel: _Parcel, label: PurchasedLabel) -> Path:
    """The label's file, written whole or not at all (a temporary file renamed)."""
    folder = (settings.data_dir / LABELS_FOLDER).resolve()
    number = re.sub(r"[^A-Za-z0-9_-]", "_", label.tracking_number)
    suffix = "zpl" if label.label_format == "ZPL" else "pdf"
    path = folder / f"{parcel.order_id}-{number}.{suffix}"
    partial = path.with_name(f".{path.name}.partial")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(label.label)
        os.replace(partial, path)
    except OSError as error:
        raise LabelNotRecorded(
            f"order {parcel.order_name}: label {label.tracking_number} was bought but its "
            f"file could not be written to {path} ({error}); nothing was recorded: print it "
            "from the carrier's site and record the parcel with `omnisync orders ship`",
            label.tracking_number,
            None,
        ) from error
    return path
