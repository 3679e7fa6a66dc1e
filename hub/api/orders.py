"""/api/v1/orders: orders, newest placed first, and what an operator does to one
(ship a parcel, cancel, hold, release), each the twin of its `omnisync orders` command.

An order is named as `omnisync orders show` names it (hub/order_lookup.py). A
cancellation is committed in the hub before its channel is asked (hub/cancellation.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime

from omnisync.core.cancellation import cancel_in_hub
from omnisync.core.db import transaction
from omnisync.core.holds import hold_order, release_order
from omnisync.core.models import Channel
from omnisync.core.rerouting import reroute_order
from omnisync.core.types import OrderStatus
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, Config, CurrentActor, Hub, Reading, Writing
from omnisync.hub.api.messages import (
    CancelIn,
    ErrorOut,
    HoldIn,
    RouteIn,
    ShipmentIn,
    units_by_sku,
)
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, page, time_id_cursor
from omnisync.hub.cancellation import channel_not_told, push_cancellation
from omnisync.hub.order_lookup import find_order
from omnisync.hub.shipping import ShipRequest, ship_order
from omnisync.hub.views import cancellation_view, order_detail, order_list, shipment_views
from omnisync.hub.views.shapes import CancellationOut, OrderDetailOut, OrderOut, ShipmentOut

HELD = "The order is on hold: release it first."
UNCANCELLABLE = "The channel cancelled or fulfils the order, or nothing is left to cancel."
UNHOLDABLE = "The order is on hold already, or has nothing left to ship."
NOT_HELD = "The order is not on hold."

router = APIRouter(tags=["orders"])


@router.get("/orders", response_model=list[OrderOut])
def list_orders(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    updated_after: Annotated[
        AwareDatetime | None, Query(description="Only orders changed at or after (ISO 8601).")
    ] = None,
    oversold: bool | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Orders, newest placed first: `omnisync orders list --json`."""
    rows = order_list(
        session,
        channel=channel,
        status=order_status,
        updated_after=updated_after,
        oversold=oversold,
        limit=limit + 1,
        before=time_id_cursor(cursor),
    )
    return clean(page(rows, limit, request, response, lambda row: (row.placed_at, row.id)))


@router.get(
    "/orders/{order_id}", response_model=OrderDetailOut, responses={404: {"model": ErrorOut}}
)
def show_order(order_id: str, session: Reading, clean: Clean) -> Any:
    """One order, with its shipments: by the hub's id, the channel's order id or the
    channel's order name or number (`1001`, or `#1001` sent as `%231001`); `id:N` is
    hub id N only. A reference naming several orders is 422, listing them."""
    return clean(order_detail(session, *find_order(session, order_id.strip())))


@router.post(
    "/orders/{order_id}/shipments",
    response_model=ShipmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": HELD}},
)
def ship(
    order_id: str,
    body: ShipmentIn,
    session: Writing,
    settings: Config,
    clean: Clean,
    actor: CurrentActor,
) -> Any:
    """Record a parcel of the order (`omnisync orders ship`); the channel is told after.
    The order is named as in `GET /orders/{order_id}`."""
    request = ShipRequest(
        order=order_id,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        lines=None if body.lines is None else units_by_sku(body.lines),
        service=body.service,
        tracking_url=body.tracking_url,
    )
    shipment = ship_order(session, settings, request)
    detail = {"carrier": body.carrier, "tracking_number": body.tracking_number}
    record_action(session, actor, "order.ship", f"order {order_id.strip()}", detail)
    (view,) = [row for row in shipment_views(session, shipment.order_id) if row.id == shipment.id]
    return clean(view)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=CancellationOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": UNCANCELLABLE}},
)
def cancel(
    order_id: str, sync: Hub, clean: Clean, actor: CurrentActor, body: CancelIn | None = None
) -> Any:
    """Cancel the order in the hub (`omnisync orders cancel`): its units that have not
    shipped are cancelled and their stock released. With `push`, the channel is asked
    to cancel it too, where its API allows. 200 whatever the channel answers
    (`channel.answer`): the hub's cancellation stands, and posting again asks the
    channel again."""
    wanted = body if body is not None else CancelIn()
    # Its own transaction, not a Writing session: the channel is asked after the commit.
    with transaction(sync.database) as session:
        order, channel = find_order(session, order_id.strip())
        cancellation = cancel_in_hub(session, order, wanted.reason)
        detail = {"reason": wanted.reason, "push": wanted.push}
        record_action(session, actor, "order.cancel", f"order {order_id.strip()}", detail)
        view = order_detail(session, cancellation.order, channel)
        channel_row = session.get(Channel, cancellation.order.channel_id)
        channel_type = channel_row.type if channel_row is not None else None
    if wanted.push:
        told = push_cancellation(sync, channel, view.external_id, wanted.reason)
    else:
        push_how = 'post again with {"push": true}'
        told = channel_not_told(
            channel, channel_type, view.external_id, push_how, already=cancellation.already
        )
    return clean(cancellation_view(view, cancellation, told))


@router.post(
    "/orders/{order_id}/route",
    response_model=OrderDetailOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def route(order_id: str, body: RouteIn, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Route the order by hand (`omnisync orders route`): its open lines move to the
    location in one transaction, oversold there for what it lacks. 422 when the channel
    does not sell from it or the order cannot ship; 409 when it is on hold or on an open
    pick list."""
    order, channel = find_order(session, order_id.strip())
    rerouted = reroute_order(session, order, body.location.strip(), actor=actor.name)
    detail = {"location": body.location.strip()}
    record_action(session, actor, "order.route", f"order {order_id.strip()}", detail)
    return clean(order_detail(session, rerouted.order, channel))


@router.post(
    "/orders/{order_id}/hold",
    response_model=OrderDetailOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": UNHOLDABLE}},
)
def hold(
    order_id: str, session: Writing, clean: Clean, actor: CurrentActor, body: HoldIn | None = None
) -> Any:
    """Hold the order (`omnisync orders hold`): its stock stays reserved, but it cannot
    be shipped (409) and none of its fulfilments is pushed until it is released."""
    order, channel = find_order(session, order_id.strip())
    reason = body.reason if body is not None else None
    held = hold_order(session, order, reason)
    record_action(session, actor, "order.hold", f"order {order_id.strip()}", {"reason": reason})
    return clean(order_detail(session, held, channel))


@router.post(
    "/orders/{order_id}/release",
    response_model=OrderDetailOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": NOT_HELD}},
)
def release(order_id: str, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Lift the order's hold (`omnisync orders release`): it can be shipped again."""
    order, channel = find_order(session, order_id.strip())
    released = release_order(session, order)
    record_action(session, actor, "order.release", f"order {order_id.strip()}")
    return clean(order_detail(session, released, channel))
