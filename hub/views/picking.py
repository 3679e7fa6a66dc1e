"""Pick lists as the CLI prints them and the API serves them, and the printable page.

The walk is one row per (SKU, bin) with its total units and the split per order,
sorted as the picker walks the floor: picking sequence (none last), then bin (none
last), then SKU code (core/bins.py walk_key). The page is a Jinja2 template shipped
with the package (hub/templates/pick_list.html): one self-contained HTML file with
its print stylesheet inline, no script and nothing fetched from elsewhere, so it
prints the same from a browser with no network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, col, select

from omnisync.core.bins import walk_key
from omnisync.core.clock import iso
from omnisync.core.models import Channel, Location, Order, PickList, PickListLine, Sku
from omnisync.core.picking import NewPickList
from omnisync.core.types import PickListState
from omnisync.hub.views.shapes import (
    PickCreatedOut,
    PickListDetailOut,
    PickListOut,
    PickOrderOut,
    PickRowOut,
)

_pages = Environment(
    loader=PackageLoader("omnisync.hub", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def pick_list_list(
    session: Session,
    *,
    state: PickListState | None = None,
    limit: int = 100,
    offset: int = 0,
    before_id: int | None = None,
) -> list[PickListOut]:
    """Newest first; `before_id` pages by key."""
    query = select(PickList).order_by(col(PickList.id).desc())
    if state is not None:
        query = query.where(PickList.state == state)
    if before_id is not None:
        query = query.where(col(PickList.id) < before_id)
    lists = list(session.exec(query.offset(offset).limit(limit)))
    return _summaries(session, lists)


def pick_list_summaries(session: Session, lists: Sequence[PickList]) -> list[PickListOut]:
    """The summaries of lists a caller read itself (the console's own order), in its order."""
    return _summaries(session, lists)


def _summaries(session: Session, lists: Sequence[PickList]) -> list[PickListOut]:
    ids = [pick_list.id for pick_list in lists]
    totals = {
        list_id: (orders, units, short)
        for list_id, orders, units, short in session.exec(
            select(
                PickListLine.pick_list_id,
                func.count(func.distinct(PickListLine.order_id)),
                func.sum(PickListLine.quantity),
                func.sum(PickListLine.short),
            )
            .where(col(PickListLine.pick_list_id).in_(ids))
            .group_by(col(PickListLine.pick_list_id))
        )
    }
    locations, channels = _names(session, lists)
    return [
        _summary(pick_list, locations, channels, totals.get(pick_list.id or 0, (0, 0, 0)))
        for pick_list in lists
    ]


def _names(
    session: Session, lists: Sequence[PickList]
) -> tuple[dict[int | None, str], dict[int | None, str]]:
    location_ids = {pick_list.location_id for pick_list in lists}
    channel_ids = {pick_list.channel_id for pick_list in lists if pick_list.channel_id}
    locations = dict(
        session.exec(
            select(Location.id, Location.code).where(col(Location.id).in_(location_ids))
        ).all()
    )
    channels = dict(
        session.exec(select(Channel.id, Channel.name).where(col(Channel.id).in_(channel_ids))).all()
    )
    return locations, channels


def _summary(
    pick_list: PickList,
    locations: dict[int | None, str],
    channels: dict[int | None, str],
    totals: tuple[int, int, int],
) -> PickListOut:
    orders, units, short = totals
    assert pick_list.id is not None
    return PickListOut(
        id=pick_list.id,
        location=locations[pick_list.location_id],
        channel=channels.get(pick_list.channel_id) if pick_list.channel_id else None,
        state=pick_list.state,
        created_at=iso(pick_list.created_at),
        created_by=pick_list.created_by,
        picked_at=iso(pick_list.picked_at),
        cancelled_at=iso(pick_list.cancelled_at),
        orders=int(orders or 0),
        units=int(units or 0),
        short=int(short or 0),
        note=pick_list.note,
    )


def pick_list_detail(session: Session, pick_list: PickList) -> PickListDetailOut:
    """The list with its walk."""
    (summary,) = _summaries(session, [pick_list])
    entries = session.exec(
        select(PickListLine, Order, Channel.name, Sku)
        .join(Order, col(Order.id) == PickListLine.order_id)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .join(Sku, col(Sku.id) == PickListLine.sku_id)
        .where(PickListLine.pick_list_id == pick_list.id)
        .order_by(col(PickListLine.id))
    ).all()
    rows: dict[tuple[int, str | None], PickRowOut] = {}
    per_order: dict[tuple[int, str | None], dict[int, PickOrderOut]] = defaultdict(dict)
    for entry, order, channel, sku in entries:
        key = (entry.sku_id, entry.bin)
        row = rows.get(key)
        if row is None:
            row = rows[key] = PickRowOut(
                sequence=entry.sequence,
                bin=entry.bin,
                sku=sku.code,
                title=sku.title,
                units=0,
                short=0,
                orders=[],
            )
        row.units += entry.quantity
        row.short += entry.short
        split = per_order[key].get(entry.order_id)
        if split is None:
            split = per_order[key][entry.order_id] = PickOrderOut(
                order_id=entry.order_id,
                order=order.display_name or order.external_id,
                channel=channel,
                units=0,
                short=0,
            )
            row.orders.append(split)
        split.units += entry.quantity
        split.short += entry.short
    walk = sorted(rows.values(), key=lambda row: walk_key(row.sequence, row.bin, row.sku))
    return PickListDetailOut(**summary.model_dump(), rows=walk)


def pick_created_view(session: Session, made: NewPickList) -> PickCreatedOut:
    skipped = made.oversold_skipped
    left_out = f"; {skipped} oversold order(s) skipped (they cannot ship whole)" if skipped else ""
    if made.pick_list is None:
        return PickCreatedOut(
            pick_list=None,
            oversold_skipped=skipped,
            message=f"nothing to pick{left_out}",
        )
    detail = pick_list_detail(session, made.pick_list)
    return PickCreatedOut(
        pick_list=detail,
        oversold_skipped=skipped,
        message=(
            f"pick list {detail.id} at {detail.location}: {detail.orders} order(s), "
            f"{detail.units} unit(s) from {len(detail.rows)} bin stop(s){left_out}"
        ),
    )


def pick_list_page(detail: PickListDetailOut) -> str:
    """The printable HTML page of the list (its walk, in walking order)."""
    return _pages.get_template("pick_list.html").render(pick_list=detail)
