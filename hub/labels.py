"""Labels bought from a carrier channel for an order, and the parcel recorded with them.

`buy_label` is what `omnisync orders label`, `POST /api/v1/orders/{id}/label` and packing
(once a parcel is packed) call. It takes three steps, so that no transaction stays open
while the carrier is asked, nothing bought is lost, and no parcel is paid for twice:

1. one short transaction: the order (hub/order_lookup.py), locked and refused as `orders
   ship` refuses it (core/shipping.py `units_to_ship`: held, cancelled, nothing open,
   unbound lines), the parcel's units (:class:`ParcelScope`), the location it ships from
   and that location's address (hub.yaml `locations[].address`), and the buyer's address
   (core/addresses.py). Then the order is claimed for the purchase:
   `Order.label_requested_at` is set, and while another purchase holds it (for at most
   CLAIM_HELD_FOR) the request is refused (Conflict) with nothing bought;
2. outside any transaction, the carrier channel's connector (through the engine: its
   throttling and retries) buys the label. When the carrier certainly sold nothing (it
   refused, or could not be reached) the claim is dropped; when it may have sold a label
   the hub did not hear of (connectors/carriers/labels.py `LabelUncertain`) the claim
   stays, so that nothing is bought again before the operator looked in the carrier's
   account;
3. the label's file is written under the data folder,
   `<data_dir>/labels/<order id>-<tracking number>.pdf|.zpl`, and one transaction records
   the parcel exactly as `orders ship` does (core/shipping.py `record_shipment`:
   reservations consumed, the fulfilment queued for the order's channel, the parcel
   tracked by the carrier channel) with the label's file, its format and the carrier's
   shipment id, and drops the claim. A file that cannot be written stops nothing: the
   parcel is recorded without it, and `LabelOutcome.file_error` says so.

If the recording fails (the order changed meanwhile, the database is down), the label
stays bought: :class:`LabelNotRecorded` names its tracking number and its file, and how
to record the parcel by hand; the claim stays, so no second label is bought meanwhile.
`rates_for_order` takes step 1 without the claim and asks for quotes instead.

The parcel ships from the location its lines are reserved at (core/parcels.py), else
where the order was routed (`route`: per line, then the order's locations), else the
order's channel's first selling location. Lines at two locations take a label each: the
location, or the lines, named (:class:`ParcelScope`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, update

from omnisync.connectors.base import Capability, Connector, ConnectorError
from omnisync.connectors.carriers.labels import LabelUncertain
from omnisync.connectors.registry import connector_for
from omnisync.core.addresses import address_from_ship_to
from omnisync.core.channels import channel_by_name, selling_locations
from omnisync.core.clock import clock_of
from omnisync.core.db import transaction
from omnisync.core.dto import Address, LabelRequest, Parcel, PurchasedLabel, ShippingRate
from omnisync.core.errors import Conflict, DomainError, InvalidRequest
from omnisync.core.models import Channel, Order, OrderLine
from omnisync.core.packing import packing_state
from omnisync.core.parcels import line_locations
from omnisync.core.redaction import redact
from omnisync.core.shipping import lock_order, record_shipment, units_to_ship
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.settings import ChannelConfig, Settings
from omnisync.hub.shipping import UnknownCarrier, carrier_channel, carrier_label, lines_by_sku
from omnisync.sync.calls import Cancelled
from omnisync.sync.engine import SyncEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

LabelFormat = Literal["PDF", "ZPL"]
LABEL_FORMATS: Final[tuple[LabelFormat, ...]] = ("PDF", "ZPL")
LABELS_FOLDER: Final = "labels"
CLAIM_HELD_FOR: Final = timedelta(minutes=15)
"""How long a label purchase keeps the order claimed at most: one that never finished
(the hub stopped, the carrier's answer was lost) stops holding it then."""


class CarrierFailed(DomainError):
    """The carrier refused the request or could not be asked: nothing was bought, unless
    `uncertain` (the carrier may have sold a label the hub did not hear of)."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class LabelNotRecorded(Conflict):
    """A label was bought but its parcel could not be recorded: the message names the
    tracking number and the label's file."""

    def __init__(self, message: str, tracking_number: str, label_path: Path | None) -> None:
        super().__init__(message)
        self.tracking_number = tracking_number
        self.label_path = label_path


class LabelUnderWay(Conflict):
    """Another label purchase for the order holds its claim: nothing was bought."""


def may_ask_again(error: DomainError) -> bool:
    """Whether asking for the label again after `error` cannot buy a second one: nothing
    was sold, and no other purchase for the order is under way."""
    if isinstance(error, CarrierFailed):
        return not error.uncertain
    return not isinstance(error, LabelNotRecorded | LabelUnderWay)


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


@dataclass(frozen=True, kw_only=True)
class ParcelScope:
    """Which units of the order the parcel holds; by default every open unit."""

    skus: Mapping[str, int] | None = None
    """SKU (the channel's or the hub's) -> units, as `--line SKU:QTY` names them; a SKU on
    several lines fills them in line order (hub/shipping.py `lines_by_sku`)."""
    location: str | None = None
    """The parcel of this location: the lines reserved there (every open unit of them,
    unless `skus` names some), shipped from it."""
    packed: bool = False
    """The units scanned into the parcel packed (at `location`; core/packing.py), refused
    unless it is packed."""


@dataclass(frozen=True)
class LabelOutcome:
    order_id: int
    shipment_id: int
    carrier: str
    """The carrier channel the label was bought from."""
    service: str | None
    tracking_number: str
    label_path: str | None
    """The label's file; None: it could not be written (`file_error`)."""
    label_format: str
    price: Decimal | None
    currency: str | None
    file_error: str | None = None
    """Why the label's file could not be written (the parcel is recorded all the same)."""


@dataclass(frozen=True)
class _Parcel:
    """What step 1 found: the order, the units going, and the carrier's request."""

    order_id: int
    order_name: str
    lines: dict[str, int]
    """The channel's line id -> units in the parcel."""
    request: LabelRequest
    claimed_at: datetime | None = None
    """When this purchase claimed the order (`Order.label_requested_at`); None: rates."""

    @property
    def claim_ends(self) -> str:
        """Until when no other label is bought for the order, in words."""
        assert self.claimed_at is not None
        return f"{self.claimed_at + CLAIM_HELD_FOR:%Y-%m-%d %H:%M} UTC"


def buy_label(
    engine: SyncEngine,
    settings: Settings,
    order_ref: str,
    options: LabelOptions,
    scope: ParcelScope | None = None,
    *,
    actor: str = "cli",
) -> LabelOutcome:
    """Buy the label for the order's parcel (`scope`; None: every open unit) and record
    the parcel (see the module). Raises NotFound, InvalidRequest (UnknownCarrier: not a
    carrier channel selling labels) or Conflict (on hold; another purchase under way)
    having bought nothing; CarrierFailed when the carrier refused (`uncertain`: it may
    have sold a label all the same); LabelNotRecorded when the label was bought but its
    parcel could not be recorded."""
    carrier = _labelling_carrier(settings, options)
    with transaction(engine.database) as session:
        parcel = _parcel(session, settings, order_ref, options, scope or ParcelScope(), claim=True)
    try:
        label = _ask_carrier(engine, carrier, lambda connector: connector.buy_label(parcel.request))
    except CarrierFailed as failure:
        if not failure.uncertain:
            _drop_claim(engine, parcel)
            raise
        raise CarrierFailed(
            f"{failure}. No other label is bought for order {parcel.order_name} until "
            f"{parcel.claim_ends}",
            uncertain=True,
        ) from failure
    except UnknownCarrier:
        _drop_claim(engine, parcel)
        raise
    path, file_error = _write_label(settings, carrier, parcel, label)
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
            shipment.label_path = str(path) if path is not None else None
            shipment.label_format = label.label_format
            shipment.carrier_shipment_id = label.carrier_shipment_id
            session.add(shipment)
            session.flush()
            _release_claim(session, parcel)
            assert shipment.id is not None
            shipment_id = shipment.id
    except Exception as error:
        said = redact(f"{error}", engine.secrets)
        kept = f"file {path}" if path is not None else "its file could not be written"
        message = (
            f"order {parcel.order_name}: {carrier.name} sold label {label.tracking_number} "
            f"({kept}) but the parcel could not be recorded: {said}. Record it with "
            f"`omnisync orders ship {parcel.order_id} --carrier {carrier.name} --tracking "
            f"{label.tracking_number}`, or void the label with the carrier"
            + _void_id(label)
            + f"; no other label is bought for the order until {parcel.claim_ends}"
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
        path if path is not None else file_error,
    )
    return LabelOutcome(
        order_id=parcel.order_id,
        shipment_id=shipment_id,
        carrier=carrier.name,
        service=label.service,
        tracking_number=label.tracking_number,
        label_path=str(path) if path is not None else None,
        label_format=label.label_format,
        price=label.price,
        currency=label.currency,
        file_error=file_error,
    )


def rates_for_order(
    engine: SyncEngine,
    settings: Settings,
    order_ref: str,
    options: LabelOptions,
    scope: ParcelScope | None = None,
) -> list[ShippingRate]:
    """What the carrier would charge for the order's parcel (`scope`; None: every open
    unit), per service, cheapest first (only `options.service` when it names one);
    nothing is bought or recorded. Refused as `buy_label` refuses an order that cannot
    ship."""
    carrier = _labelling_carrier(settings, options)
    with transaction(engine.database, read_only=True) as session:
        parcel = _parcel(session, settings, order_ref, options, scope or ParcelScope(), claim=False)
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
    scope: ParcelScope,
    *,
    claim: bool,
) -> _Parcel:
    """The parcel and the carrier's request for it; with `claim`, the order locked and
    claimed for the purchase (see the module)."""
    order, _ = find_order(session, order_ref.strip())
    if claim:
        order = lock_order(session, order)
    assert order.id is not None
    name = order.display_name or order.external_id
    shipping = units_to_ship(session, order, _wanted(session, order, scope))
    if scope.location is not None and scope.skus is not None:
        _refuse_elsewhere(session, order, [line for line, _ in shipping], scope.location)
    recipient = address_from_ship_to(order.ship_to)
    if recipient is None:
        raise InvalidRequest(
            f"order {name} has no ship-to address a carrier can use (it needs a street, a "
            "city and a country)"
        )
    length, width, height = options.dimensions_cm or (None, None, None)
    request = LabelRequest(
        shipper=_ship_from(session, settings, order, [line for line, _ in shipping], scope),
        recipient=recipient,
        parcel=Parcel(
            weight_kg=options.weight_kg, length_cm=length, width_cm=width, height_cm=height
        ),
        service=options.service.strip() if options.service else None,
        reference=name,
        label_format=options.label_format,
    )
    return _Parcel(
        order_id=order.id,
        order_name=name,
        lines={line.external_line_id: units for line, units in shipping},
        request=request,
        claimed_at=_claim(session, order) if claim else None,
    )


def _wanted(session: Session, order: Order, scope: ParcelScope) -> Mapping[str, int] | None:
    """The channel's line id -> units the scope names; None: every open unit."""
    if scope.packed:
        packed = packing_state(session, order, location=scope.location)
        if not packed.packed:
            where = f" at {scope.location}" if scope.location is not None else ""
            raise InvalidRequest(
                f"order {packed.order_name} is not packed{where}: no label is bought"
            )
        return packed.scanned_lines
    if scope.skus is not None:
        return lines_by_sku(session, order, scope.skus)
    if scope.location is None:
        return None
    there = packing_state(session, order, location=scope.location)
    wanted = {line.external_line_id: line.needed for line in there.lines if line.needed}
    if not wanted:
        raise InvalidRequest(
            f"order {there.order_name} has nothing to ship from {scope.location} (no open "
            "line is reserved there)"
        )
    return wanted


def _refuse_elsewhere(
    session: Session, order: Order, lines: Sequence[OrderLine], location: str
) -> None:
    """Refuse lines named for `location`'s parcel that are reserved elsewhere."""
    there = {line.order_line_id for line in packing_state(session, order, location=location).lines}
    elsewhere = sorted({line.channel_sku for line in lines if line.id not in there})
    if elsewhere:
        name = order.display_name or order.external_id
        raise InvalidRequest(
            f"order {name}: {', '.join(elsewhere)} is not reserved at {location}, so it is "
            f"not in the parcel leaving {location}"
        )


def _claim(session: Session, order: Order) -> datetime:
    """Claim the locked order for a label purchase (`Order.label_requested_at`), refused
    (Conflict) while another purchase holds it; when it was claimed."""
    now = clock_of(session).now()
    since = order.label_requested_at
    if since is not None and now - since < CLAIM_HELD_FOR:
        until = since + CLAIM_HELD_FOR
        raise LabelUnderWay(
            f"order {order.display_name or order.external_id}: a label for it has been under "
            f"way since {since:%Y-%m-%d %H:%M:%S} UTC (being bought, or bought without the "
            "hub hearing the carrier's answer): look in the carrier's account and at "
            f"`omnisync orders show {order.id}` before buying another; no other label is "
            f"bought for it until {until:%Y-%m-%d %H:%M} UTC"
        )
    order.label_requested_at = now
    session.add(order)
    session.flush()
    return now


def _release_claim(session: Session, parcel: _Parcel) -> None:
    """Drop the purchase's claim on the order, unless another purchase holds it by now."""
    session.execute(
        update(Order)
        .where(
            col(Order.id) == parcel.order_id,
            col(Order.label_requested_at) == parcel.claimed_at,
        )
        .values(label_requested_at=None)
    )


def _drop_claim(engine: SyncEngine, parcel: _Parcel) -> None:
    """After the carrier certainly sold nothing: the claim dropped in a transaction of its
    own. If that fails, the claim lapses after CLAIM_HELD_FOR."""
    try:
        with transaction(engine.database) as session:
            _release_claim(session, parcel)
    except SQLAlchemyError as error:
        said = redact(f"{error}", engine.secrets)
        log.warning("order %s: its label claim stays until it lapses: %s", parcel.order_id, said)


def _ship_from(
    session: Session,
    settings: Settings,
    order: Order,
    lines: Sequence[OrderLine],
    scope: ParcelScope,
) -> Address:
    """The address of the location the lines ship from (see the module)."""
    codes = [scope.location] if scope.location is not None else _ships_from(session, order, lines)
    name = order.display_name or order.external_id
    if not codes:
        raise InvalidRequest(f"order {name}: no location to ship it from")
    if len(codes) > 1:
        raise InvalidRequest(
            f"order {name}: its lines ship from {' and '.join(codes)}; buy one label per "
            f"location, naming it (`--location {codes[0]}`; the API's `location`) or the "
            "lines there (`--line SKU:QTY`; the API's `lines`)"
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


def _ships_from(session: Session, order: Order, lines: Sequence[OrderLine]) -> list[str]:
    """The codes of the locations the lines are reserved at (core/parcels.py), else where
    the order was routed, else the channel's first selling location."""
    reserved = line_locations(session, [line.id for line in lines if line.id is not None])
    codes = sorted({code for held in reserved.values() for code in held})
    if codes:
        return codes
    routed = _routed_to(order, lines)
    if routed:
        return routed
    channel = session.get(Channel, order.channel_id)
    selling = selling_locations(session, channel) if channel is not None else []
    return [selling[0].code] if selling else []


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


# steps 2 and 3 ---------------------------------------------------------------------------


def _ask_carrier(engine: SyncEngine, carrier: ChannelConfig, ask: Callable[[Connector], T]) -> T:
    """`ask(connector)` with the carrier channel's connector; its failure in words."""
    if carrier.name not in engine.channels:
        raise UnknownCarrier(f"carrier channel {carrier.name!r} is not loaded in this hub yet")
    try:
        with engine.borrowed(carrier.name) as connector:
            return ask(connector)
    except (ConnectorError, Cancelled) as error:
        said = redact(f"{type(error).__name__}: {error}", engine.secrets)
        raise CarrierFailed(
            f"carrier channel {carrier.name}: {said}", uncertain=isinstance(error, LabelUncertain)
        ) from error


def _write_label(
    settings: Settings, carrier: ChannelConfig, parcel: _Parcel, label: PurchasedLabel
) -> tuple[Path | None, str | None]:
    """The label's file, written whole or not at all (a temporary file renamed); when it
    cannot be written, None and why, in words for the operator."""
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
        why = (
            f"order {parcel.order_name}: label {label.tracking_number} was bought and its "
            f"parcel is recorded, but the label's file could not be written to {path} "
            f"({error.strerror or error}): print the label from {carrier.name}'s account"
        )
        log.warning("%s", why)
        return None, why
    return path, None


def _void_id(label: PurchasedLabel) -> str:
    """`(carrier shipment id X)`: what voiding the label at the carrier takes."""
    if not label.carrier_shipment_id or label.carrier_shipment_id == label.tracking_number:
        return ""
    return f" (its shipment id {label.carrier_shipment_id})"
