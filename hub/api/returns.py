"""/api/v1/returns: returns, newest requested first, and each step an operator takes on
one (create, approve, decline, receive, refund, close), the twin of its `omnisync
returns` command (hub/returns.py does both).

A return is named as `omnisync returns show` names it: the hub's id, the return's name
(`#1001-R1`, sent as `%231001-R1`) or the channel's id of it. Each step answers the
return as GET /returns/{return_id} shows it; what a step records of who did it is
the caller's name (`api` for hub.yaml's token). A step the return's status does not take is
409; a line, quantity or location that does not fit is 422 (404 for an unknown
location), and nothing is changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from omnisync.core.models import Return
from omnisync.core.returns import Receipt, find_return
from omnisync.core.types import ReturnStatus
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, CurrentActor, Reading, Writing
from omnisync.hub.api.messages import DeclineIn, ErrorOut, ReceiveIn, ReturnIn, units_by_sku
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, page, time_id_cursor
from omnisync.hub.returns import NewReturn, approve, close, decline, open_return, receive, refund
from omnisync.hub.views.returns import return_detail, return_list
from omnisync.hub.views.shapes import ReturnDetailOut, ReturnOut

NOT_REQUESTED = "Only a requested return is approved or declined."
NOT_RECEIVABLE = "The return is closed, declined or cancelled, or nothing is left to receive."
NO_REFUND = "The return was declined or cancelled, or its refund is pending or done already."
CLOSED = "The return is closed, declined or cancelled already."

router = APIRouter(tags=["returns"])


def _named(ret: Return) -> str:
    """The return as the record of changes names it (as the console's returns screen)."""
    return ret.name or ret.external_id or str(ret.id)


def _step(description: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": description}}


@router.get("/returns", response_model=list[ReturnOut])
def list_returns(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    return_status: Annotated[ReturnStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Returns, newest requested first: `omnisync returns list --json`."""
    rows = return_list(
        session,
        channel=channel,
        status=return_status,
        limit=limit + 1,
        before=time_id_cursor(cursor),
    )
    return clean(page(rows, limit, request, response, lambda row: (row.requested_at, row.id)))


@router.get(
    "/returns/{return_id}", response_model=ReturnDetailOut, responses={404: {"model": ErrorOut}}
)
def show_return(return_id: str, session: Reading, clean: Clean) -> Any:
    """One return with its lines, their inspections, what the channel was told and its
    order: `omnisync returns show ID --json`."""
    return clean(return_detail(session, find_return(session, return_id)))


@router.post(
    "/returns",
    response_model=ReturnDetailOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorOut}},
)
def create(body: ReturnIn, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Make a return of a shipped order in the hub (`omnisync returns create`): for a
    channel without a returns API. It starts approved. 422 for a SKU the order does not
    have or more units than it shipped and other returns do not claim already."""
    units = units_by_sku(body.lines)
    request = NewReturn(order=body.order, units=units, reason=body.reason, note=body.note)
    made = open_return(session, request, by=actor.name)
    record_action(session, actor, "return.create", _named(made), {"order": body.order})
    return clean(return_detail(session, made))


@router.post(
    "/returns/{return_id}/approve",
    response_model=ReturnDetailOut,
    responses=_step(NOT_REQUESTED),
)
def approve_return(return_id: str, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Agree to a requested return (`omnisync returns approve`); the channel is told
    where it takes that (Shopify)."""
    approved = approve(session, return_id, by=actor.name)
    record_action(session, actor, "return.approve", _named(approved))
    return clean(return_detail(session, approved))


@router.post(
    "/returns/{return_id}/decline",
    response_model=ReturnDetailOut,
    responses=_step(NOT_REQUESTED),
)
def decline_return(
    return_id: str, body: DeclineIn, session: Writing, clean: Clean, actor: CurrentActor
) -> Any:
    """Refuse a requested return with a reason (`omnisync returns decline`)."""
    ret = decline(session, return_id, reason=body.reason, by=actor.name)
    record_action(session, actor, "return.decline", _named(ret), {"reason": body.reason})
    return clean(return_detail(session, ret))


@router.post(
    "/returns/{return_id}/receive",
    response_model=ReturnDetailOut,
    responses=_step(NOT_RECEIVABLE),
)
def receive_return(
    return_id: str, body: ReceiveIn, session: Writing, clean: Clean, actor: CurrentActor
) -> Any:
    """Record what came back, a disposition per unit (`omnisync returns receive`):
    restocked units go back on the shelf at `location` (else where they shipped from)
    and every channel is offered them within seconds; damaged, missing and kept units
    change no stock. With `refund`, the refund goes with the receipt."""
    receipts = [
        Receipt(line.sku, line.quantity, line.disposition, line.location) for line in body.lines
    ]
    ret, _ = receive(session, return_id, receipts, refund=body.refund, by=actor.name)
    lines = [f"{line.sku} x{line.quantity} {line.disposition.value}" for line in body.lines]
    record_action(session, actor, "return.receive", _named(ret), {"lines": lines})
    return clean(return_detail(session, ret))


@router.post(
    "/returns/{return_id}/refund",
    response_model=ReturnDetailOut,
    responses=_step(NO_REFUND),
)
def refund_return(return_id: str, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Refund the return (`omnisync returns refund`): asked of a channel that refunds
    through its API (pending until it answers), else recorded as refunded where its
    seller refunds (`refund_note`)."""
    refunded = refund(session, return_id, by=actor.name)
    record_action(session, actor, "return.refund", _named(refunded))
    return clean(return_detail(session, refunded))


@router.post(
    "/returns/{return_id}/close",
    response_model=ReturnDetailOut,
    responses=_step(CLOSED),
)
def close_return(return_id: str, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """End the return (`omnisync returns close`): units not inspected are not coming back."""
    closed = close(session, return_id, by=actor.name)
    record_action(session, actor, "return.close", _named(closed))
    return clean(return_detail(session, closed))
