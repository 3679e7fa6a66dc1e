"""Returns as the console's returns screen lists them: by channel and by any set of
statuses (the ones still waiting on the warehouse, say), newest requested first, paged
by key as `returns list` is (hub/views/returns.py gives each row its shape)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, select

from omnisync.core.models import Channel, Order, Return
from omnisync.core.types import ReturnStatus
from omnisync.hub.views.paging import newest_first
from omnisync.hub.views.returns import return_views
from omnisync.hub.views.shapes import ReturnOut

WAITING = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.PARTIALLY_RECEIVED,
)
"""Returns still waiting on someone: to approve, to arrive, to be received in full."""


def return_queue(
    session: Session,
    *,
    channel: str | None = None,
    statuses: Collection[ReturnStatus] | None = None,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
) -> list[ReturnOut]:
    """Returns of `channel` (or all) in one of `statuses` (or any), newest requested first;
    `before` (requested_at, id) pages by key."""
    query = (
        select(Return, Channel.name, Order)
        .join(Channel, col(Channel.id) == Return.channel_id)
        .join(Order, col(Order.id) == Return.order_id)
    )
    if channel is not None:
        query = query.where(Channel.name == channel)
    if statuses is not None:
        query = query.where(col(Return.status).in_(list(statuses)))
    query = newest_first(query, col(Return.requested_at), col(Return.id), before)
    rows = session.exec(query.limit(limit)).all()
    return return_views(session, [(ret, name, order) for ret, name, order in rows])
