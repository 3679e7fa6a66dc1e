"""Order intake: the one path by which channel orders enter the hub (polling and webhooks).

`intake_orders` upserts a page of orders in the caller's transaction and is
idempotent by (channel, external_id) (invariant 2): every effect is computed as
the difference between what an order needs now and what it already holds, so
the same payload applied twice changes nothing. An older `updated_at` never
overwrites a newer one. Lines that cannot be fully reserved are kept and mark
the order oversold (invariant 7); open lines no hub SKU takes are kept unbound
and named by the `unlinked_listing` alert (core/unlinked.py).

An order an operator cancelled in the hub (core/cancellation.py) stays so whatever
the channel reports later: a line keeps the larger of its cancelled counts, and the
status is derived with the hub's cancellation among the facts, so a re-read reserves
nothing again. Holds (core/holds.py) are the hub's alone and intake never touches them.

Cut-over: units a payload reports shipped are taken from stock only if the
channel dated the payload (`updated_at`) at or after the moment the hub took the
channel over (`Channel.live_since`, see core/channels.py take_over_orders).
Earlier shipments left before the stock was counted: they are recorded on the
line, move no stock, and the reservation the order may hold is released. The
rule depends on the payload alone, so backfill pages, webhooks, repeats and
re-reads all end alike. A channel not taken over yet (None) has no history.

The work is done per page, not per order, because statements, not rows, are
what an import pays for: new orders go in with one INSERT, known ones are
locked with one SELECT, lines are bound to SKUs with one query, and their stock
is settled in memory over levels locked once (core/locked_stock.py). A page
that names the same order twice is taken in runs without repeats, in page
order, so it ends as if its orders had come one at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col

from omnisync.core.alerting import note_buyer_cancel_request
from omnisync.core.channels import selling_locations
from omnisync.core.clock import clock_of
from omnisync.core.dto import NormalisedOrder, NormalisedOrderLine
from omnisync.core.locked_stock import LockedStock, StockEffects, forget_loaded, units_needed
from omnisync.core.models import Channel, Listing, Order, OrderLine, Sku
from omnisync.core.models.tables import table_of
from omnisync.core.order_routing import (
    line_location_ids,
    route_if_unrouted,
    route_new_order,
    write_routes,
)
from omnisync.core.order_status import derive_order_status, parcel_statuses
from omnisync.core.outbox import mark_touched_dirty
from omnisync.core.reservations import (
    alert_oversold,
    reallocate_freed,
    refresh_oversold,
    settle_line,
)
from omnisync.core.routing import RouteLocation, RoutingRules
from omnisync.core.types import OrderStatus, ShipmentStatus
from omnisync.core.unlinked import note_unlinked_lines

_FULLY_SHIPPED = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED})
_orders = table_of(Order)
_lines = table_of(OrderLine)
_listings = table_of(Listing)
_skus = table_of(Sku)

_HEADER = (
    "display_name",
    "status",
    "channel_status",
    "status_reason",
    "placed_at",
    "updated_at",
    "currency",
    "total",
    "customer",
    "ship_to",
    "buyer_ref",
    "raw",
    "fulfilled_by_channel",
    "ship_by",
)
_JSON_FIELDS = frozenset({"customer", "ship_to", "raw"})
# An absent document is SQL NULL, as the ORM leaves it, not the JSON text 'null'.
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_LINE_FIELDS = (
    "channel_sku",
    "sku_id",
    "title",
    "quantity",
    "unit_price",
    "quantity_shipped",
    "quantity_cancelled",
)


@dataclass(frozen=True)
class IntakeResult:
    order_id: int
    external_id: str
    created: bool
    applied: bool
    """False when the stored order is newer than the payload (nothing was changed)."""
    short_units: int
    newer: bool = False
    """The payload is news: a new order, or newer than the stored one (an equal
    `updated_at` is applied, but it is the same change heard again)."""
    shipped_before_cut_over: int = 0
    """Units the payload newly reports shipped that left before the hub took the channel
    over: recorded on the lines, not taken from stock."""


@dataclass(slots=True)
class _OrderRow:
    """An order's stored columns, as this transaction sees and changes them."""

    id: int
    external_id: str
    status: OrderStatus
    display_name: str | None = None
    channel_status: str = ""
    status_reason: str | None = None
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    currency: str | None = None
    total: Decimal | None = None
    customer: dict[str, Any] | None = None
    ship_to: dict[str, Any] | None = None
    buyer_ref: str | None = None
    raw: dict[str, Any] | None = None
    fulfilled_by_channel: bool = False
    oversold: bool = False
    oversold_at: datetime | None = None
    cancelled_by_hub_at: datetime | None = None
    """Read, never written here: an operator's cancellation stands (core/order_status.py)."""
    personal_data_erased_at: datetime | None = None
    """Read, never written here: the buyer's data was erased at the channel's request
    (core/erasure.py); a later report of the order does not bring it back."""
    ship_by: datetime | None = None
    route: dict[str, Any] | None = None
    """Written once, when the new order is routed (core/order_routing.py)."""

    def header(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _HEADER)


@dataclass(slots=True)
class _LineRow:
    id: int | None
    order_id: int
    external_line_id: str
    channel_sku: str
    quantity: int
    sku_id: int | None = None
    title: str = ""
    unit_price: Decimal | None = None
    quantity_shipped: int = 0
    quantity_cancelled: int = 0

    @property
    def open_quantity(self) -> int:
        """Units neither shipped nor cancelled."""
        return max(self.quantity - self.quantity_shipped - self.quantity_cancelled, 0)

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _LINE_FIELDS)


@dataclass
class _Intake:
    """One incoming order of a batch and what it does to the stored one."""

    incoming: NormalisedOrder
    order: _OrderRow
    created: bool
    applied: bool = True
    newer: bool = True
    lines: list[_LineRow] = field(default_factory=list)
    """Every line of the order after the merge, incoming or not."""
    merged: list[tuple[_LineRow, int]] = field(default_factory=list)
    """The incoming lines, each with its shipped quantity before the merge."""
    changed_lines: list[_LineRow] = field(default_factory=list)
    """Stored lines the merge changed (new lines have no id yet)."""
    header_changed: bool = False
    has_new_lines: bool = False
    stock_changed: bool = False
    short: int = 0
    shipped_before_cut_over: int = 0


def _bind(name: str) -> Any:
    return bindparam(name, type_=_JSON_OR_NULL) if name in _JSON_FIELDS else bindparam(name)


def _insert_orders(dialect_insert: Any) -> Any:
    columns = ("channel_id", "external_id", *_HEADER, "oversold", "ingested_at", "modified_at")
    return (
        dialect_insert(_orders)
        .values({name: _bind(name) for name in columns})
        .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
        .returning(_orders.c.id, _orders.c.external_id)
    )


# Built once: statements are cheap to run and dear to build, and a page runs a dozen.
_INSERT_ORDERS = {
    "postgresql": _insert_orders(postgresql.insert),
    "sqlite": _insert_orders(sqlite.insert),
}
_LOCK_ORDERS = (
    select(*[_orders.c[item.name] for item in fields(_OrderRow)])
    .where(
        _orders.c.channel_id == bindparam("channel_id"),
        _orders.c.external_id.in_(bindparam("external_ids", expanding=True)),
    )
    .order_by(_orders.c.external_id)
    .with_for_update()
)
_UPDATE_HEADERS = (
    update(_orders)
    .where(_orders.c.id == bindparam("b_id"))
    .values({**{name: _bind(name) for name in _HEADER}, "modified_at": bindparam("b_now")})
)
_READ_OVERSOLD = select(_orders.c.id, _orders.c.oversold, _orders.c.oversold_at).where(
    _orders.c.id.in_(bindparam("order_ids", expanding=True))
)
_UPDATE_OVERSOLD = (
    update(_orders)
    .where(_orders.c.id == bindparam("b_id"))
    .values(
        oversold=bindparam("b_oversold"),
        oversold_at=bindparam("b_oversold_at"),
        modified_at=bindparam("b_now"),
    )
)
_READ_LINES = (
    select(*[_lines.c[item.name] for item in fields(_LineRow)])
    .where(_lines.c.order_id.in_(bindparam("order_ids", expanding=True)))
    .order_by(_lines.c.id)
)
# Without RETURNING: psycopg pipelines an executemany, which beats one INSERT of
# hundreds of rows with RETURNING; the ids are read back in one SELECT.
_INSERT_LINES = insert(_lines)
_LINE_IDS = select(_lines.c.id, _lines.c.order_id, _lines.c.external_line_id).where(
    _lines.c.order_id.in_(bindparam("order_ids", expanding=True))
)
_UPDATE_LINES = (
    update(_lines)
    .where(_lines.c.id == bindparam("b_id"))
    .values({name: bindparam(name) for name in _LINE_FIELDS})
)
_BOUND_SKUS = select(_listings.c.channel_sku, _listings.c.sku_id).where(
    _listings.c.channel_id == bindparam("channel_id"),
    _listings.c.channel_sku.in_(bindparam("channel_skus", expanding=True)),
    _listings.c.sku_id.is_not(None),
)
_KEPT_APART = select(_listings.c.channel_sku).where(
    _listings.c.channel_id == bindparam("channel_id"),
    _listings.c.channel_sku.in_(bindparam("channel_skus", expanding=True)),
    _listings.c.sku_id.is_(None),
    _listings.c.auto_link.is_(False),
)
"""Listings an operator unlinked: their lines are not bound by code."""
_SKUS_BY_CODE = select(_skus.c.code, _skus.c.id).where(
    _skus.c.code.in_(bindparam("codes", expanding=True))
)


def intake_orders(
    session: Session, channel: Channel, orders: Sequence[NormalisedOrder]
) -> list[IntakeResult]:
    """Upsert `orders` (a page) in the caller's transaction; one result per order, in order."""
    assert channel.id is not None
    session.flush()  # ORM changes pending in the session go first
    allowed = selling_locations(session, channel)
    results: list[IntakeResult] = []
    effects = StockEffects()
    for run in _runs_without_repeats(orders):
        results.extend(_intake_run(session, channel, allowed, run, effects))
    mark_touched_dirty(session, effects.touched)
    forget_loaded(session, (Order, OrderLine))  # written behind the session's back
    return results


def upsert_order(session: Session, channel: Channel, incoming: NormalisedOrder) -> IntakeResult:
    """One order (a webhook, a test): a page of one."""
    return intake_orders(session, channel, [incoming])[0]


def _runs_without_repeats(orders: Sequence[NormalisedOrder]) -> Iterator[list[NormalisedOrder]]:
    run: list[NormalisedOrder] = []
    seen: set[str] = set()
    for order in orders:
        if order.external_id in seen:
            yield run
            run, seen = [], set()
        run.append(order)
        seen.add(order.external_id)
    if run:
        yield run


def _intake_run(
    session: Session,
    channel: Channel,
    allowed: list[RouteLocation],
    run: list[NormalisedOrder],
    effects: StockEffects,
) -> list[IntakeResult]:
    """Orders with distinct ids: the order rows are locked first (new ones by their
    insert, known ones by one SELECT, both in external id order), then stock."""
    assert channel.id is not None
    now = clock_of(session).now()
    entries = [_as_new(incoming) for incoming in run]
    inserted = _insert_new_orders(session, channel.id, [entry.order for entry in entries], now)
    known: list[_Intake] = []
    for entry in entries:
        if entry.order.external_id in inserted:
            entry.order.id = inserted[entry.order.external_id]
            for line in entry.lines:
                line.order_id = entry.order.id
        else:
            known.append(entry)
    _merge_known(session, channel.id, known)
    applied = [entry for entry in entries if entry.applied]
    _set_history_aside(channel.live_since, applied)
    _bind_skus(session, channel.id, applied)
    _insert_lines(session, [entry for entry in applied if entry.created])
    first = 0
    while first < len(applied):
        first = _settle_stock(session, channel, allowed, applied, first, effects, now)
    for entry in applied:
        _note_cancel_requests(session, channel.id, entry)
        _note_unlinked_lines(session, channel.id, entry)
    return [
        IntakeResult(
            entry.order.id,
            entry.order.external_id,
            created=entry.created,
            applied=entry.applied,
            short_units=entry.short if entry.applied else 0,
            shipped_before_cut_over=entry.shipped_before_cut_over if entry.applied else 0,
            newer=entry.newer,
        )
        for entry in entries
    ]


def _set_history_aside(live_since: datetime | None, entries: list[_Intake]) -> None:
    """Units a payload dated before the cut-over reports shipped count as shipped before
    the merge: no stock leaves for them, and settling releases what they held."""
    if live_since is None:
        return
    for entry in entries:
        if entry.incoming.updated_at >= live_since:
            continue
        entry.shipped_before_cut_over = sum(
            line.quantity_shipped - shipped_before for line, shipped_before in entry.merged
        )
        entry.merged = [(line, line.quantity_shipped) for line, _ in entry.merged]


def _settle_stock(
    session: Session,
    channel: Channel,
    allowed: list[RouteLocation],
    applied: list[_Intake],
    first: int,
    effects: StockEffects,
    now: datetime,
) -> int:
    """Settle the stock of applied[first:] in page order, over levels locked once, until
    an order frees stock; returns where the next pass starts.

    Freed stock goes to lines already waiting, oldest order first, before a later order
    of the page may take it, and a known order's changes are stored only when its turn
    comes, so that re-allocation sees it as it was: as if the page's orders had come one
    at a time.
    """
    assert channel.id is not None
    rest = applied[first:]
    stock = LockedStock.lock(
        session,
        {line.sku_id for entry in rest for line in entry.lines if line.sku_id is not None},
        [line.id for entry in rest if not entry.created for line in entry.lines if line.id],
    )
    if first:
        _read_oversold(session, [entry for entry in rest if not entry.created])
    done: list[_Intake] = []
    location_ids = [location.id for location in allowed]
    rules = RoutingRules.from_mapping(channel.routing)
    routes: dict[int, dict[str, Any]] = {}
    for entry in rest:
        if entry.has_new_lines and not entry.created:
            _insert_lines(session, [entry])
        before = stock.changes
        route = entry.order.route
        if entry.created:
            route = route_new_order(
                stock, entry.order, entry.lines, allowed, entry.order.ship_to, rules, now
            )
            if route is not None:
                routes[entry.order.id] = entry.order.route = route
        reference = f"{channel.name}:{entry.order.external_id}"
        # By SKU, then line: the lock order of shipping (core/shipping.py).
        for line, shipped_before in sorted(
            entry.merged, key=lambda pair: (pair[0].sku_id or 0, pair[0].id or 0)
        ):
            newly_shipped = line.quantity_shipped - shipped_before
            stock.consume_shipped(
                entry.order,
                line,
                newly_shipped,
                location_ids,
                reference=reference,
                channel_id=channel.id,
            )
            stock.settle(
                entry.order, line, line_location_ids(route, line.external_line_id, allowed)
            )
        entry.stock_changed = stock.changes != before
        entry.short = stock.shortage(entry.order, entry.lines)
        done.append(entry)
        if stock.effects.freed:
            break
    processed = len(done)
    _write_known(session, [entry for entry in done if not entry.created], now)
    pass_effects = stock.write(session)
    write_routes(session, routes, now)
    if not pass_effects.freed:
        _write_oversold(session, channel.id, done, now)
    else:
        freeing = done.pop()
        _write_oversold(session, channel.id, done, now)
        pass_effects.merge(reallocate_freed(session, pass_effects))
        _recount_after_reallocation(session, [freeing] if freeing.short else [])
        _write_oversold(session, channel.id, [freeing], now)
    effects.merge(pass_effects)
    return first + processed


def _as_new(incoming: NormalisedOrder) -> _Intake:
    """The order as it is stored if it is new (most are): header and lines merged into
    nothing."""
    entry = _Intake(
        incoming, _OrderRow(id=0, external_id=incoming.external_id, status=incoming.status), True
    )
    _merge(entry, [])
    return entry


def _merge(
    entry: _Intake, stored_lines: list[_LineRow], parcels: Sequence[ShipmentStatus] = ()
) -> None:
    order, incoming = entry.order, entry.incoming
    header_before, recorded = order.header(), order.status
    _apply_header(order, incoming)
    existing = {line.external_line_id: line for line in stored_lines}
    entry.merged, entry.changed_lines = [], []
    entry.has_new_lines = False
    for item in incoming.lines:
        line = existing.get(item.external_line_id)
        before = line.values() if line is not None else None
        merged, shipped_before = _merge_line(order, line, item)
        entry.merged.append((merged, shipped_before))
        if line is None:
            entry.has_new_lines = True
        elif before != merged.values():
            entry.changed_lines.append(merged)
        existing[item.external_line_id] = merged
    entry.lines = list(existing.values())
    order.status = derive_order_status(
        incoming.status,
        entry.lines,
        parcels,
        recorded=recorded,
        cancelled_by_hub=order.cancelled_by_hub_at is not None,
    )
    entry.header_changed = order.header() != header_before


def _insert_new_orders(
    session: Session, channel_id: int, orders: list[_OrderRow], now: datetime
) -> dict[str, int]:
    """Insert the orders not stored yet; returns their ids by external id."""
    rows = [
        {
            "channel_id": channel_id,
            "external_id": order.external_id,
            **{name: getattr(order, name) for name in _HEADER},
            "oversold": False,
            "ingested_at": now,
            "modified_at": now,
        }
        for order in sorted(orders, key=lambda order: order.external_id)
    ]
    statement = _INSERT_ORDERS[session.get_bind().dialect.name]
    return {external_id: order_id for order_id, external_id in session.execute(statement, rows)}


def _merge_known(session: Session, channel_id: int, known: list[_Intake]) -> None:
    """Lock the stored orders among `known`, drop stale payloads, merge the others."""
    if not known:
        return
    external_ids = [entry.order.external_id for entry in known]
    stored = {
        row.external_id: _OrderRow(*row)
        for row in session.execute(
            _LOCK_ORDERS, {"channel_id": channel_id, "external_ids": external_ids}
        )
    }
    for entry in known:
        entry.created = False
        entry.order = stored[entry.order.external_id]
        assert entry.order.updated_at is not None
        entry.applied = entry.incoming.updated_at >= entry.order.updated_at
        entry.newer = entry.incoming.updated_at > entry.order.updated_at
        entry.header_changed, entry.changed_lines = False, []
    applied = [entry for entry in known if entry.applied]
    lines: dict[int, list[_LineRow]] = {entry.order.id: [] for entry in applied}
    if applied:
        for row in session.execute(_READ_LINES, {"order_ids": sorted(lines)}):
            lines[row.order_id].append(_LineRow(*row))
    parcels = parcel_statuses(session, lines)
    for entry in applied:
        _merge(entry, lines[entry.order.id], parcels.get(entry.order.id, ()))


def _apply_header(order: _OrderRow, incoming: NormalisedOrder) -> None:
    order.status = incoming.status  # the channel's word; _merge derives the order's status
    order.display_name = incoming.display_name or order.display_name
    order.channel_status = incoming.channel_status
    order.status_reason = incoming.status_reason
    order.placed_at = incoming.placed_at
    order.updated_at = incoming.updated_at
    order.fulfilled_by_channel = incoming.fulfilled_by_channel
    order.ship_by = incoming.ship_by or order.ship_by
    # Channels omit some fields early (Amazon: no prices while pending): keep what we had.
    order.currency = incoming.currency or order.currency
    order.total = incoming.total if incoming.total is not None else order.total
    if order.personal_data_erased_at is not None:
        return  # name, address, buyer and the raw payload stay erased
    order.customer = incoming.customer or order.customer
    order.ship_to = incoming.ship_to or order.ship_to
    order.buyer_ref = incoming.buyer_ref or order.buyer_ref
    order.raw = incoming.raw if incoming.raw is not None else order.raw


def _merge_line(
    order: _OrderRow, line: _LineRow | None, item: NormalisedOrderLine
) -> tuple[_LineRow, int]:
    """Update or create the line; returns it with its shipped quantity before the update."""
    if line is None:
        line = _LineRow(
            id=None,
            order_id=order.id,
            external_line_id=item.external_line_id,
            channel_sku=item.channel_sku,
            quantity=item.quantity,
        )
    shipped_before = line.quantity_shipped
    line.channel_sku = item.channel_sku
    line.title = item.title or line.title
    line.quantity = item.quantity
    if item.unit_price is not None:
        line.unit_price = item.unit_price
    # A unit that left is never cancelled after: Shopify counts refunded units (a return)
    # out of a line's current quantity, which reads as cancelled units.
    cancellable = max(line.quantity - shipped_before, 0)
    line.quantity_cancelled = max(
        line.quantity_cancelled, min(item.quantity_cancelled, cancellable)
    )
    reported = item.quantity_shipped
    if reported is None:
        fully = order.status in _FULLY_SHIPPED
        reported = item.quantity - line.quantity_cancelled if fully else 0
    line.quantity_shipped = min(
        max(line.quantity_shipped, reported), line.quantity - line.quantity_cancelled
    )
    return line, shipped_before


def _bind_skus(session: Session, channel_id: int, entries: list[_Intake]) -> None:
    """Give lines without a SKU the one their channel SKU names, if any is known yet."""
    wanted = {line.channel_sku for entry in entries for line, _ in entry.merged if not line.sku_id}
    if not wanted:
        return
    found = channel_sku_bindings(session, channel_id, wanted)
    for entry in entries:
        for line, _ in entry.merged:
            if line.sku_id is None and line.channel_sku in found:
                line.sku_id = found[line.channel_sku]
                if line.id is not None and line not in entry.changed_lines:
                    entry.changed_lines.append(line)


def channel_sku_bindings(
    session: Session, channel_id: int, channel_skus: Iterable[str]
) -> dict[str, int]:
    """The hub SKU behind each channel SKU: its listing's link, else a SKU with that code
    (unless an operator unlinked the listing of that channel SKU)."""
    wanted = sorted(set(channel_skus))
    found: dict[str, int] = {}
    if not wanted:
        return found
    bound = session.execute(_BOUND_SKUS, {"channel_id": channel_id, "channel_skus": wanted})
    found.update((channel_sku, sku_id) for channel_sku, sku_id in bound)
    rest = [code for code in wanted if code not in found]
    if rest:
        kept_apart = set(
            session.scalars(_KEPT_APART, {"channel_id": channel_id, "channel_skus": rest})
        )
        rest = [code for code in rest if code not in kept_apart]
    if rest:
        by_code = session.execute(_SKUS_BY_CODE, {"codes": rest})
        found.update((code, sku_id) for code, sku_id in by_code)
    return found


def _insert_lines(session: Session, entries: list[_Intake]) -> None:
    """Insert the entries' new lines; their ids come back."""
    new = [line for entry in entries for line, _ in entry.merged if line.id is None]
    if not new:
        return
    rows = [
        {
            "order_id": line.order_id,
            "external_line_id": line.external_line_id,
            **{name: getattr(line, name) for name in _LINE_FIELDS},
        }
        for line in new
    ]
    session.execute(_INSERT_LINES, rows)
    order_ids = sorted({line.order_id for line in new})
    ids = {
        (order_id, external_line_id): line_id
        for line_id, order_id, external_line_id in session.execute(
            _LINE_IDS, {"order_ids": order_ids}
        )
    }
    for line in new:
        line.id = ids[(line.order_id, line.external_line_id)]


def _write_known(session: Session, entries: list[_Intake], now: datetime) -> None:
    """Store what changed in known orders: their header and their changed lines."""
    lines = [
        {"b_id": line.id, **{name: getattr(line, name) for name in _LINE_FIELDS}}
        for entry in entries
        for line in entry.changed_lines
    ]
    if lines:
        session.execute(_UPDATE_LINES, lines)
    headers = [
        {
            "b_id": entry.order.id,
            "b_now": now,
            **{name: getattr(entry.order, name) for name in _HEADER},
        }
        for entry in entries
        if entry.header_changed or entry.changed_lines or entry.has_new_lines
    ]
    if headers:
        session.execute(_UPDATE_HEADERS, headers)


def _recount_after_reallocation(session: Session, short: list[_Intake]) -> None:
    """Stock freed in this run went to waiting lines, maybe some of these: count again,
    and take the oversold flag as the re-allocation left it."""
    if not short:
        return
    recount = LockedStock.lock(
        session,
        {line.sku_id for entry in short for line in entry.lines if line.sku_id is not None},
        [line.id for entry in short for line in entry.lines if line.id is not None],
        levels=False,
    )
    for entry in short:
        entry.short = recount.shortage(entry.order, entry.lines)
    _read_oversold(session, short)


def _read_oversold(session: Session, entries: list[_Intake]) -> None:
    """Take the stored oversold flags of the entries' orders (a re-allocation sets them)."""
    if not entries:
        return
    flags = {
        order_id: (oversold, oversold_at)
        for order_id, oversold, oversold_at in session.execute(
            _READ_OVERSOLD, {"order_ids": [entry.order.id for entry in entries]}
        )
    }
    for entry in entries:
        entry.order.oversold, entry.order.oversold_at = flags[entry.order.id]


def _write_oversold(
    session: Session, channel_id: int, entries: list[_Intake], now: datetime
) -> None:
    """Set each order's oversold flag; a newly oversold order raises an alert. Orders
    whose stock moved but were not written yet get their modified time."""
    rows = []
    for entry in entries:
        order = entry.order
        oversold = entry.short > 0
        if oversold and not order.oversold:
            order.oversold_at = order.oversold_at or now
            alert_oversold(session, channel_id, order.id, order.external_id, entry.short)
        written = (
            entry.created or entry.header_changed or entry.changed_lines or entry.has_new_lines
        )
        if oversold != order.oversold or (entry.stock_changed and not written):
            order.oversold = oversold
            rows.append(
                {
                    "b_id": order.id,
                    "b_oversold": oversold,
                    "b_oversold_at": order.oversold_at,
                    "b_now": now,
                }
            )
    if rows:
        session.execute(_UPDATE_OVERSOLD, rows)


def _note_cancel_requests(session: Session, channel_id: int, entry: _Intake) -> None:
    """Lines the buyer asked to cancel stay as they are (the seller decides); while the
    order still holds our stock, the operator is told (Amazon handles its own FBA orders)."""
    order = entry.order
    requested = [line for line in entry.incoming.lines if line.buyer_cancel_requested]
    if requested and order.status.holds_stock and not order.fulfilled_by_channel:
        reasons = {line.buyer_cancel_reason or "" for line in requested} - {""}
        note_buyer_cancel_request(session, channel_id, order.external_id, sorted(reasons))


def _note_unlinked_lines(session: Session, channel_id: int, entry: _Intake) -> None:
    """Open lines of an order that holds stock, bound to no hub SKU, reserve nothing:
    the operator is told (channel-fulfilled orders need none of our stock)."""
    order = entry.order
    if order.fulfilled_by_channel or not order.status.holds_stock:
        return
    unbound = [
        line.channel_sku for line in entry.lines if line.sku_id is None and line.open_quantity
    ]
    if unbound:
        note_unlinked_lines(session, channel_id, order.external_id, unbound)


@dataclass(frozen=True)
class MappedLines:
    """What binding waiting lines did: lines bound, and the open units they now want."""

    lines: int = 0
    units: int = 0


def map_unmapped_lines(
    session: Session, channel: Channel, channel_skus: Collection[str], sku_id: int
) -> MappedLines:
    """Give lines that arrived before their SKU was known (under any of `channel_skus`)
    their SKU, and reserve for them, oldest order first (stock short for all goes to the
    first, the rest are oversold)."""
    rows = session.execute(
        select(OrderLine, Order)
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(
            col(Order.channel_id) == channel.id,
            col(OrderLine.channel_sku).in_(sorted(set(channel_skus))),
            col(OrderLine.sku_id).is_(None),
        )
        .order_by(col(Order.placed_at), col(Order.id), col(OrderLine.id))
        .with_for_update(of=Order)
    ).all()
    if not rows:
        return MappedLines()
    allowed = selling_locations(session, channel)
    rules = RoutingRules.from_mapping(channel.routing)
    effects = StockEffects()
    units = 0
    for line, order in rows:
        line.sku_id = sku_id
        units += units_needed(order, line)
        session.add(line)
        session.flush()
        route_if_unrouted(session, order, allowed, rules)
        where = line_location_ids(order.route, line.external_line_id, allowed)
        effects.merge(settle_line(session, order, line, where))
        refresh_oversold(session, order)
    effects.merge(reallocate_freed(session, effects))
    mark_touched_dirty(session, effects.touched)
    return MappedLines(len(rows), units)
