"""Returns as an operator drives them, alike from `omnisync returns ...` and
/api/v1/returns: the return named as `returns show` names it (core/returns.py
find_return: the hub's id, the return's name or the channel's id of it), the order as
`orders show` names it (hub/order_lookup.py), and the channel's part in returns taken
from its connector type (what the channel can be told of a return, where its seller
refunds). The change happens in the caller's transaction; what the channel is to be
told waits in the outbox (return_pushes) until the returns job sends it after commit,
so a refusal of the channel never undoes what the warehouse recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from omnisync.connectors.registry import connector_for
from omnisync.core.models import Channel, Return, ReturnInspection
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import (
    Receipt,
    approve_return,
    close_return,
    create_return,
    decline_return,
    find_return,
    receive_return,
    refund_return,
)
from omnisync.hub.order_lookup import find_order
from omnisync.sync.returns import channel_returns


@dataclass(frozen=True)
class NewReturn:
    """A return made in the hub (`returns create`, POST /api/v1/returns)."""

    order: str
    """The order as `orders show` names it."""
    units: Mapping[str, int]
    """SKU (the hub's code or the channel's) -> units coming back."""
    reason: str
    note: str | None = None


def returns_taken(session: Session, channel_id: int) -> ChannelReturns:
    """What the channel's type takes of returns; nothing for a type no connector has."""
    channel = session.get(Channel, channel_id)
    connector = connector_for(channel.type) if channel is not None else None
    return channel_returns(connector) if connector is not None else ChannelReturns()


def open_return(session: Session, request: NewReturn, *, by: str) -> Return:
    order, _ = find_order(session, request.order.strip())
    return create_return(
        session,
        order,
        request.units,
        returns_taken(session, order.channel_id),
        reason=request.reason,
        customer_note=request.note,
        by=by,
    )


def approve(session: Session, ref: str, *, by: str) -> Return:
    ret = find_return(session, ref)
    return approve_return(session, ret, returns_taken(session, ret.channel_id), by=by)


def decline(session: Session, ref: str, *, reason: str, by: str) -> Return:
    ret = find_return(session, ref)
    return decline_return(
        session, ret, returns_taken(session, ret.channel_id), reason=reason, by=by
    )


def receive(
    session: Session, ref: str, receipts: Sequence[Receipt], *, refund: bool, by: str
) -> tuple[Return, list[ReturnInspection]]:
    """The return as received (the same row, refreshed where receive_return locked it)
    and the inspections recorded, in the order of `receipts`."""
    ret = find_return(session, ref)
    inspections = receive_return(
        session, ret, receipts, returns_taken(session, ret.channel_id), refund=refund, by=by
    )
    return ret, inspections


def refund(session: Session, ref: str, *, by: str) -> Return:
    ret = find_return(session, ref)
    return refund_return(session, ret, returns_taken(session, ret.channel_id), by=by)


def close(session: Session, ref: str, *, by: str) -> Return:
    return close_return(session, find_return(session, ref), by=by)
