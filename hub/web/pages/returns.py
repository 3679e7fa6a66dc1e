"""The returns screens: /returns (filters by status and channel, `?waiting=1` for the
returns still waiting on someone, newest requested first, paged by key) and
/returns/{id} (lines and their inspections, what the channel is told, the order).

Operators take the steps /api/v1/returns offers (hub/returns.py does them): approve or
decline a requested return, receive units with a disposition each (restock, damaged,
missing, not returned; restocked units go back on the shelf at once and every channel
is offered them), refund, close. Each step is one transaction with its record of who
took it; a step the return does not take comes back as a message on its page, and
nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError, InvalidRequest
from omnisync.core.models import Channel, Location, Return
from omnisync.core.redaction import redact, redact_data
from omnisync.core.returns import Receipt, find_return
from omnisync.core.types import (
    LocationKind,
    RefundState,
    ReturnDisposition,
    ReturnStatus,
    UserRole,
)
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import time_id_cursor
from omnisync.hub.returns import approve, close, decline, receive, refund
from omnisync.hub.views.return_queue import WAITING, return_queue
from omnisync.hub.views.returns import return_detail
from omnisync.hub.views.shapes import ReturnLineOut, json_data
from omnisync.hub.web.dependencies import ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

ReturnId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RECEIVABLE = frozenset(WAITING)
NO_REFUND = frozenset({RefundState.PENDING, RefundState.REFUNDED})
ENDED_WITHOUT_GOODS = frozenset({ReturnStatus.DECLINED, ReturnStatus.CANCELLED})


@router.get("/returns")
def returns_page(
    request: Request,
    me: ConsoleUser,
    context: Context,
    session: Reading,
    status: Annotated[str, Query(max_length=40)] = "",
    channel: Annotated[str, Query(max_length=100)] = "",
    waiting: Annotated[str, Query(max_length=5)] = "",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    chosen = _status(status)
    if chosen is None and status:
        return render(
            request,
            me,
            "error.html",
            {"title": "Refused", "message": f"status {status!r}: not a return status"},
            status_code=422,
        )
    statuses: tuple[ReturnStatus, ...] | None = (chosen,) if chosen is not None else None
    if waiting:
        statuses = tuple(s for s in WAITING if statuses is None or s in statuses)
    rows = return_queue(
        session,
        channel=channel or None,
        statuses=statuses,
        limit=PAGE_SIZE + 1,
        before=time_id_cursor(cursor),
    )
    shown, next_url = console_page(rows, PAGE_SIZE, request, lambda r: (r.requested_at, r.id))
    names = session.exec(select(Channel.name).order_by(col(Channel.name))).all()
    return render(
        request,
        me,
        "returns_list.html",
        {
            "returns": redact_data(json_data(list(shown)), context.secrets()),
            "next_url": next_url,
            "statuses": [s.value for s in ReturnStatus],
            "channels": list(names),
            "status": chosen.value if chosen is not None else "",
            "channel": channel,
            "waiting": bool(waiting),
        },
    )


@router.get("/returns/{return_id}")
def return_page(
    request: Request, return_id: ReturnId, me: ConsoleUser, context: Context, session: Reading
) -> Response:
    ret = find_return(session, str(return_id))
    detail = redact_data(json_data(return_detail(session, ret)), context.secrets())
    status = ReturnStatus(detail["status"])
    refund_state = RefundState(detail["refund_state"])
    return render(
        request,
        me,
        "returns_detail.html",
        {
            "ret": detail,
            "url": f"/returns/{return_id}",
            "can_operate": me.actor.may(UserRole.OPERATOR),
            "can_approve": status == ReturnStatus.REQUESTED,
            "can_receive": status in RECEIVABLE and any(line["left"] for line in detail["lines"]),
            "can_refund": status not in ENDED_WITHOUT_GOODS and refund_state not in NO_REFUND,
            "can_close": status.is_open,
            "dispositions": [d.value for d in ReturnDisposition],
            "locations": _locations(session),
        },
    )


@router.post("/returns/{return_id}/approve")
def approve_step(
    return_id: ReturnId, me: Operator, _form: PostedForm, context: Context
) -> Response:
    def step(session: Session) -> str:
        ret = approve(session, str(return_id), by=me.actor.name)
        record_action(session, me.actor, "return.approve", _target(ret))
        return f"Return {_target(ret)} approved."

    return _take(return_id, context, step)


@router.post("/returns/{return_id}/decline")
def decline_step(return_id: ReturnId, me: Operator, form: PostedForm, context: Context) -> Response:
    reason = text(form, "reason")[:2000]  # as much as the API takes

    def step(session: Session) -> str:
        if not reason:
            raise InvalidRequest("say why the return is declined (the channel is told)")
        ret = decline(session, str(return_id), reason=reason, by=me.actor.name)
        record_action(session, me.actor, "return.decline", _target(ret), {"reason": reason})
        return f"Return {_target(ret)} declined."

    return _take(return_id, context, step)


@router.post("/returns/{return_id}/receive")
def receive_step(return_id: ReturnId, me: Operator, form: PostedForm, context: Context) -> Response:
    refund_too = bool(form.get("refund"))

    def step(session: Session) -> str:
        ret = find_return(session, str(return_id))
        lines = return_detail(session, ret).lines
        receipts = _receipts(form, lines)
        ret, inspections = receive(
            session, str(return_id), receipts, refund=refund_too, by=me.actor.name
        )
        skus = {line.external_line_id: line.sku or line.channel_sku for line in lines}
        said = ", ".join(
            f"{receipt.quantity} {skus.get(receipt.line, receipt.line)} {receipt.disposition.value}"
            for receipt in receipts
        )
        record_action(
            session,
            me.actor,
            "return.receive",
            _target(ret),
            {
                "lines": [
                    {
                        "line": receipt.line,
                        "quantity": receipt.quantity,
                        "disposition": receipt.disposition.value,
                        "location": receipt.location,
                    }
                    for receipt in receipts
                ],
                "refund": refund_too,
                "inspections": len(inspections),
            },
        )
        return f"Return {_target(ret)} received: {said}; it is {ret.status.value}."

    return _take(return_id, context, step)


@router.post("/returns/{return_id}/refund")
def refund_step(return_id: ReturnId, me: Operator, _form: PostedForm, context: Context) -> Response:
    def step(session: Session) -> str:
        ret = refund(session, str(return_id), by=me.actor.name)
        record_action(session, me.actor, "return.refund", _target(ret))
        return f"Return {_target(ret)}: the refund is {ret.refund_state.value}."

    return _take(return_id, context, step)


@router.post("/returns/{return_id}/close")
def close_step(return_id: ReturnId, me: Operator, _form: PostedForm, context: Context) -> Response:
    def step(session: Session) -> str:
        ret = close(session, str(return_id), by=me.actor.name)
        record_action(session, me.actor, "return.close", _target(ret))
        return f"Return {_target(ret)} closed."

    return _take(return_id, context, step)


def _take(return_id: int, context: ApiContext, step: Callable[[Session], str]) -> Response:
    """Run `step` in one transaction; back to the return's page with what it said, or
    with why nothing changed."""
    back = f"/returns/{return_id}"
    try:
        with transaction(context.sync.database) as session:
            said = step(session)
    except DomainError as error:
        return redirect(back, redact(str(error), context.secrets()), error=True)
    return redirect(back, said)


def _receipts(form: FormData, lines: list[ReturnLineOut]) -> list[Receipt]:
    """One receipt per line and disposition given a number of units (`units-LINE-DISP`);
    a restock goes to `location-LINE` when one is chosen."""
    receipts = []
    for line in lines:
        location = text(form, f"location-{line.id}") or None
        for disposition in ReturnDisposition:
            raw = text(form, f"units-{line.id}-{disposition.value}")
            if not raw:
                continue
            if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
                raise InvalidRequest(f"{line.channel_sku} {disposition.value}: {raw!r} is no count")
            units = int(raw)
            if units:
                where = location if disposition == ReturnDisposition.RESTOCK else None
                receipts.append(Receipt(line.external_line_id, units, disposition, where))
    if not receipts:
        raise InvalidRequest("enter the units received on at least one line")
    return receipts


def _locations(session: Session) -> list[str]:
    rows = session.exec(
        select(Location.code)
        .where(Location.kind != LocationKind.CHANNEL_MANAGED)
        .order_by(col(Location.id))
    ).all()
    return list(rows)


def _target(ret: Return) -> str:
    return ret.name or ret.external_id or str(ret.id)


def _status(value: str) -> ReturnStatus | None:
    try:
        return ReturnStatus(value) if value else None
    except ValueError:
        return None
