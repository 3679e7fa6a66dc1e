"""Returns as the operator drives them: create, approve, decline, receive, refund, close.

Each works in the caller's transaction on a locked return. Receiving is the one that
moves stock: every unit inspected as sellable goes back on the shelf as a
return_restock movement at the chosen location (core/ledger.py restock_return), in
the same transaction as the inspection (invariant 1), and the listings selling it are
marked dirty so every channel sees the unit within seconds (invariant 6); waiting
oversold lines get it first. Damaged, missing and kept units are recorded with no
stock change. No order line ever takes back more units than it shipped.

The refund is a step of its own (`refund_state`): a receipt never waits on money.
It rides with the receipt when the operator asks for it there (one call to the
channel: Shopify's returnProcess), or goes alone later (`refund_return`). A channel
that takes no refund from the hub (Amazon, for merchant-fulfilled orders) keeps its
refund state in the hub, and the return's `refund_note` says where the seller
refunds. What the channel is told waits in the outbox (core/return_state.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from omnisync.core.catalog import location_by_code
from omnisync.core.channels import selling_location_ids
from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.ledger import restock_return
from omnisync.core.models import (
    Channel,
    Location,
    Order,
    OrderLine,
    Reservation,
    Return,
    ReturnInspection,
    ReturnLine,
    Sku,
)
from omnisync.core.reservations import stocked_parts
from omnisync.core.return_state import (
    ChannelReturns,
    queue_push,
    receipt_status,
    refresh_order_return_state,
    set_status,
)
from omnisync.core.shipping import lock_order
from omnisync.core.types import (
    RefundState,
    ReservationState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)

_MAX_ROW_ID = 2**63 - 1
"""The largest id a row can have: a longer number (or `²`, a digit to str.isdigit) is
no hub id, and asking the database for it would fail rather than find nothing."""
_RECEIVABLE = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.PARTIALLY_RECEIVED,
    }
)


@dataclass(frozen=True)
class Receipt:
    """Units of a return inspected together: `line` names the return line by its hub
    SKU code, channel SKU or line id."""

    line: str
    quantity: int
    disposition: ReturnDisposition
    location: str | None = None
    """The location code a restock goes to; None: where the units shipped from."""


def lock_return(session: Session, ret: Return) -> Return:
    """The return's row, locked and current."""
    locked = session.exec(
        select(Return)
        .where(Return.id == ret.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if locked is None:
        raise NotFound(f"return {ret.id} does not exist")
    return locked


def return_lines(session: Session, ret: Return) -> list[ReturnLine]:
    return list(
        session.exec(
            select(ReturnLine)
            .where(ReturnLine.return_id == ret.id)
            .order_by(col(ReturnLine.id))
            .execution_options(populate_existing=True)
        )
    )


def find_return(session: Session, ref: str) -> Return:
    """A return by its hub id, its name or the channel's id of it."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit() and int(ref) <= _MAX_ROW_ID:
        found = session.get(Return, int(ref))
        if found is not None:
            return found
    matches = session.exec(
        select(Return).where((Return.name == ref) | (Return.external_id == ref)).limit(2)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidRequest(f"{ref!r} names several returns: use the hub's return id")
    raise NotFound(f"no return {ref!r}")


def create_return(
    session: Session,
    order: Order,
    units: Mapping[str, int],
    channel: ChannelReturns,
    *,
    reason: str,
    customer_note: str | None = None,
    by: str | None = None,
) -> Return:
    """A return made in the hub (a channel with no returns API): `units` maps a SKU (the
    hub's code or the channel's) to the units coming back. It starts approved: the
    operator who made it agreed to it."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("a return needs a reason")
    if not units:
        raise InvalidRequest("name at least one line to return (SKU:QTY)")
    order = lock_order(session, order)
    order_lines = list(
        session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))
        )
    )
    codes = _sku_codes(session, order_lines)
    taking: list[tuple[OrderLine, int]] = []
    for sku, quantity in units.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidRequest(f"{sku}: quantity must be a whole number of at least 1")
        taking += _spread(session, order, order_lines, codes, sku, quantity)
    now = clock_of(session).now()
    ret = Return(
        order_id=order.id or 0,
        channel_id=order.channel_id,
        status=ReturnStatus.APPROVED,
        reason=reason,
        customer_note=customer_note,
        requested_at=now,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
        created_by=by,
        refund_note=None if channel.refunds else channel.refund_hint or None,
    )
    session.add(ret)
    session.flush()
    for line, take in taking:
        session.add(
            ReturnLine(
                return_id=ret.id or 0,
                order_line_id=line.id or 0,
                external_line_id=line.external_line_id,
                channel_sku=line.channel_sku,
                quantity=take,
                reason=reason,
            )
        )
    session.flush()
    ret.name = f"{order.display_name or order.external_id}-R{_count_returns(session, order)}"
    session.add(ret)
    refresh_order_return_state(session, order)
    session.flush()
    return ret


def approve_return(
    session: Session, ret: Return, channel: ChannelReturns, *, by: str | None = None
) -> Return:
    """Agree to a requested return; the channel is told (Shopify: returnApproveRequest)."""
    ret = _requested(session, ret, "approved")
    set_status(ret, ReturnStatus.APPROVED, clock_of(session).now())
    queue_push(session, ret, channel, ReturnAction.APPROVE)
    session.add(ret)
    session.flush()
    return ret


def decline_return(
    session: Session,
    ret: Return,
    channel: ChannelReturns,
    *,
    reason: str,
    by: str | None = None,
) -> Return:
    """Refuse a requested return; the channel is told with the operator's words."""
    ret = _requested(session, ret, "declined")
    set_status(ret, ReturnStatus.DECLINED, clock_of(session).now())
    queue_push(session, ret, channel, ReturnAction.DECLINE, reason=reason.strip() or None)
    session.add(ret)
    _refresh_order(session, ret)
    session.flush()
    return ret


def receive_return(
    session: Session,
    ret: Return,
    receipts: Sequence[Receipt],
    channel: ChannelReturns,
    *,
    refund: bool = False,
    by: str | None = None,
) -> list[ReturnInspection]:
    """Record what came back and what became of each unit (see the module's words).

    Raises InvalidRequest, having changed nothing, for a line the return does not have,
    more units than are left to inspect on it, or more units received back than its
    order line shipped; Conflict when the return is not receivable."""
    if not receipts:
        raise InvalidRequest("name at least one line received (SKU:QTY:DISPOSITION)")
    ret = lock_return(session, ret)
    if ret.status not in _RECEIVABLE:
        raise Conflict(f"return {_name(ret)} is {ret.status.value}: nothing more is received")
    order = lock_order(session, _order(session, ret))
    lines = return_lines(session, ret)
    order_lines = {
        line.id: line
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id))
    }
    codes = _sku_codes(session, list(order_lines.values()))
    now = clock_of(session).now()
    if ret.status == ReturnStatus.REQUESTED:
        # Received before anyone approved it: agreeing to it is implied, and the channel
        # (which processes only approved returns) hears of it first.
        queue_push(session, ret, channel, ReturnAction.APPROVE)
    inspections: list[ReturnInspection] = []
    told: list[dict[str, object]] = []
    for receipt in receipts:
        if isinstance(receipt.quantity, bool) or receipt.quantity < 1:
            raise InvalidRequest(f"{receipt.line}: quantity must be at least 1")
        for line, units in _receivable(lines, order_lines, codes, receipt):
            order_line = order_lines[line.order_line_id]
            location = _restock_location(session, order, order_line, receipt)
            if receipt.disposition.received:
                _check_within_shipped(session, order_line, units)
            if receipt.disposition == ReturnDisposition.RESTOCK:
                assert location is not None
                _restock(session, ret, order_line, location, units)
            _count(line, receipt.disposition, units)
            session.add(line)
            session.flush()
            inspection = ReturnInspection(
                return_line_id=line.id or 0,
                disposition=receipt.disposition,
                quantity=units,
                location_id=location.id if location is not None else None,
                at=now,
                by=by,
            )
            session.add(inspection)
            inspections.append(inspection)
            told.append(
                {
                    "external_line_id": line.external_line_id,
                    "quantity": units,
                    "disposition": receipt.disposition.value,
                    "location": location.code if location is not None else None,
                }
            )
    set_status(ret, receipt_status(lines), now)
    if ret.received_at is None:
        ret.received_at = now
    sends_refund = refund and channel.refunds and ret.refund_state != RefundState.REFUNDED
    if sends_refund:
        ret.refund_state = RefundState.PENDING
    elif refund:
        _refund_by_hand(ret, channel, by)
    queue_push(session, ret, channel, ReturnAction.PROCESS, lines=told, refund=sends_refund)
    session.add(ret)
    refresh_order_return_state(session, order)
    session.flush()
    return inspections


def refund_return(
    session: Session, ret: Return, channel: ChannelReturns, *, by: str | None = None
) -> Return:
    """Refund the return's units: through the channel when it takes refunds (pending
    until it answers), else recorded as refunded where `refund_note` says."""
    ret = lock_return(session, ret)
    if ret.status in (ReturnStatus.DECLINED, ReturnStatus.CANCELLED):
        raise Conflict(f"return {_name(ret)} is {ret.status.value}: there is nothing to refund")
    if ret.refund_state in (RefundState.PENDING, RefundState.REFUNDED):
        raise Conflict(f"return {_name(ret)}: the refund is {ret.refund_state.value} already")
    if channel.refunds and ret.external_id is not None:
        ret.refund_state = RefundState.PENDING
        ret.refund_error = None
        queue_push(session, ret, channel, ReturnAction.REFUND, refund=True)
    else:
        _refund_by_hand(ret, channel, by)
    ret.updated_at = clock_of(session).now()
    session.add(ret)
    session.flush()
    return ret


def close_return(session: Session, ret: Return, *, by: str | None = None) -> Return:
    """End the return: units not inspected by now are not coming back."""
    ret = lock_return(session, ret)
    if not ret.status.is_open:
        raise Conflict(f"return {_name(ret)} is {ret.status.value} already")
    set_status(ret, ReturnStatus.CLOSED, clock_of(session).now())
    session.add(ret)
    _refresh_order(session, ret)
    session.flush()
    return ret


def _requested(session: Session, ret: Return, verb: str) -> Return:
    ret = lock_return(session, ret)
    if ret.status != ReturnStatus.REQUESTED:
        raise Conflict(f"return {_name(ret)} is {ret.status.value}: only a requested one is {verb}")
    return ret


def _refund_by_hand(ret: Return, channel: ChannelReturns, by: str | None) -> None:
    ret.refund_state = RefundState.REFUNDED
    ret.refund_error = None
    where = channel.refund_hint or "the refund is issued outside the hub"
    who = f" by {by}" if by else ""
    ret.refund_note = f"{where}. The hub sent no money: recorded as refunded{who}."


def _refresh_order(session: Session, ret: Return) -> None:
    refresh_order_return_state(session, lock_order(session, _order(session, ret)))


def _order(session: Session, ret: Return) -> Order:
    order = session.get(Order, ret.order_id)
    assert order is not None
    return order


def _name(ret: Return) -> str:
    return ret.name or ret.external_id or str(ret.id)


def _count_returns(session: Session, order: Order) -> int:
    return int(session.exec(select(func.count()).where(Return.order_id == order.id)).one())


def _sku_codes(session: Session, lines: Sequence[OrderLine]) -> dict[int, str]:
    """Hub SKU code by SKU id, for the bound lines."""
    ids = {line.sku_id for line in lines if line.sku_id is not None}
    if not ids:
        return {}
    rows = session.exec(select(Sku.id, Sku.code).where(col(Sku.id).in_(sorted(ids)))).all()
    return {sku_id: code for sku_id, code in rows if sku_id is not None}


def _names_line(line: OrderLine, codes: Mapping[int, str], name: str) -> bool:
    hub_code = codes.get(line.sku_id) if line.sku_id is not None else None
    return name in (line.channel_sku, line.external_line_id, hub_code)


def _spread(
    session: Session,
    order: Order,
    order_lines: Sequence[OrderLine],
    codes: Mapping[int, str],
    sku: str,
    quantity: int,
) -> list[tuple[OrderLine, int]]:
    """The order lines of `sku` that take `quantity` returned units, oldest line first,
    each at most what it shipped less what live returns already claim of it."""
    matching = [line for line in order_lines if _names_line(line, codes, sku)]
    if not matching:
        skus = ", ".join(sorted({line.channel_sku for line in order_lines})) or "none"
        raise InvalidRequest(f"order {order.external_id} has no line of {sku!r} (its SKUs: {skus})")
    taken: list[tuple[OrderLine, int]] = []
    left = quantity
    returnable_total = 0
    for line in matching:
        returnable = line.quantity_shipped - _claimed(session, line)
        returnable_total += max(returnable, 0)
        take = min(max(returnable, 0), left)
        if take:
            taken.append((line, take))
            left -= take
    if left:
        raise InvalidRequest(
            f"{sku}: {quantity} to return but only {returnable_total} shipped and not "
            "already in a return"
        )
    return taken


def _claimed(session: Session, line: OrderLine) -> int:
    """Units of the order line that live returns (not declined or cancelled) ask for."""
    rows = session.exec(
        select(ReturnLine)
        .join(Return, col(Return.id) == ReturnLine.return_id)
        .where(
            ReturnLine.order_line_id == line.id,
            col(Return.status).notin_([ReturnStatus.DECLINED, ReturnStatus.CANCELLED]),
        )
    ).all()
    return sum(row.quantity for row in rows)


def _receivable(
    lines: Sequence[ReturnLine],
    order_lines: Mapping[int | None, OrderLine],
    codes: Mapping[int, str],
    receipt: Receipt,
) -> list[tuple[ReturnLine, int]]:
    """The return lines `receipt` names, with the units each takes, first line first."""
    matching = [
        line
        for line in lines
        if receipt.line == line.external_line_id
        or _names_line(order_lines[line.order_line_id], codes, receipt.line)
    ]
    if not matching:
        known = ", ".join(sorted({line.channel_sku for line in lines})) or "none"
        raise InvalidRequest(f"the return has no line of {receipt.line!r} (its SKUs: {known})")
    left = receipt.quantity
    taken: list[tuple[ReturnLine, int]] = []
    for line in matching:
        take = min(line.open_quantity, left)
        if take:
            taken.append((line, take))
            left -= take
    if left:
        still = sum(line.open_quantity for line in matching)
        raise InvalidRequest(
            f"{receipt.line}: {receipt.quantity} received but only {still} of the return "
            "left to inspect"
        )
    return taken


def _check_within_shipped(session: Session, order_line: OrderLine, units: int) -> None:
    """No order line takes back more units than it shipped, over all its returns."""
    back = session.exec(
        select(
            func.coalesce(func.sum(ReturnLine.quantity_restocked + ReturnLine.quantity_damaged), 0)
        ).where(ReturnLine.order_line_id == order_line.id)
    ).one()
    if int(back) + units > order_line.quantity_shipped:
        raise InvalidRequest(
            f"line {order_line.external_line_id!r} ({order_line.channel_sku}) shipped "
            f"{order_line.quantity_shipped}, {int(back)} already came back: {units} more "
            "cannot have"
        )


def _restock_location(
    session: Session, order: Order, order_line: OrderLine, receipt: Receipt
) -> Location | None:
    """Where a restock goes: the location named, else where the line shipped from, else
    the channel's first location. None for a disposition that restocks nothing."""
    if receipt.disposition != ReturnDisposition.RESTOCK:
        if receipt.location is not None:
            raise InvalidRequest(
                f"{receipt.line}: a location goes with restocked units only, "
                f"not {receipt.disposition.value}"
            )
        return None
    if receipt.location is not None:
        return location_by_code(session, receipt.location)
    shipped_from = session.exec(
        select(Reservation.location_id)
        .where(
            Reservation.order_line_id == order_line.id,
            Reservation.state == ReservationState.CONSUMED,
        )
        .order_by(col(Reservation.id))
    ).first()
    if shipped_from is None:
        channel = session.get(Channel, order.channel_id)
        assert channel is not None
        ids = selling_location_ids(session, channel)
        shipped_from = ids[0] if ids else None
    if shipped_from is None:
        raise InvalidRequest(f"{receipt.line}: name the location to restock at (--location)")
    location = session.get(Location, shipped_from)
    assert location is not None
    return location


def _restock(
    session: Session, ret: Return, order_line: OrderLine, location: Location, units: int
) -> None:
    if order_line.sku_id is None:
        raise InvalidRequest(
            f"line {order_line.external_line_id!r}: channel SKU {order_line.channel_sku!r} is "
            "bound to no hub SKU; link its listing before restocking it"
        )
    for sku_id, per_unit in stocked_parts(session, order_line.sku_id):
        sku = session.get(Sku, sku_id)
        assert sku is not None
        restock_return(
            session,
            sku,
            location,
            units * per_unit,
            reason=f"return {_name(ret)}",
            reference=f"return:{ret.id}",
        )


def _count(line: ReturnLine, disposition: ReturnDisposition, units: int) -> None:
    if disposition == ReturnDisposition.RESTOCK:
        line.quantity_restocked += units
    elif disposition == ReturnDisposition.DAMAGED:
        line.quantity_damaged += units
    elif disposition == ReturnDisposition.MISSING:
        line.quantity_missing += units
    else:
        line.quantity_not_returned += units
