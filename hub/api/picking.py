"""/api/v1/pick-lists: pick lists, newest first, and each step an operator takes on one
(create, confirm with the units short, cancel), the twins of `omnisync pick`.

A list is answered as `pick show ID --json` shows it (its walk in walking order);
`/pick-lists/{id}/html` is the printable page. Making a list when nothing is ready to
pick answers 200 with `pick_list` null (201 when one is made). A short of a SKU the
list does not have, or of more units than it has, is 422 and changes nothing;
confirming or cancelling a list whose state does not allow it is 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from omnisync.core.db import run_in_transaction
from omnisync.core.picking import (
    cancel_pick_list,
    confirm_pick_list,
    create_pick_list,
    find_pick_list,
)
from omnisync.core.types import PickListState
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, CurrentActor, Hub, Reading, Writing
from omnisync.hub.api.messages import ErrorOut, PickConfirmIn, PickListIn, units_by_sku
from omnisync.hub.api.paging import CursorParam, Limit, id_cursor, page
from omnisync.hub.views.picking import (
    pick_created_view,
    pick_list_detail,
    pick_list_list,
    pick_list_page,
)
from omnisync.hub.views.shapes import PickCreatedOut, PickListDetailOut, PickListOut

PickListId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The pick list's id.")]
NOT_OPEN = "Only an open pick list is confirmed."
CANCELLED = "The pick list is cancelled already."

router = APIRouter(tags=["picking"])


@router.post(
    "/pick-lists",
    response_model=PickCreatedOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PickCreatedOut, "description": "Nothing to pick: no list was made."},
        404: {"model": ErrorOut},
    },
)
def create(
    body: PickListIn, response: Response, session: Writing, clean: Clean, actor: CurrentActor
) -> Any:
    """Make a pick list of the paid orders ready to pick at `location` (`omnisync pick
    create`): ship-by dates first, then oldest first; orders on hold, oversold or already
    on a live list are left out."""
    made = create_pick_list(
        session,
        body.location,
        channel=body.channel,
        max_orders=body.max_orders,
        by=actor.name,
    )
    if made.pick_list is None:
        response.status_code = status.HTTP_200_OK
    else:
        target = f"pick list {made.pick_list.id}"
        record_action(session, actor, "pick.create", target, {"location": body.location})
    return clean(pick_created_view(session, made))


@router.get("/pick-lists", response_model=list[PickListOut])
def list_pick_lists(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    state: Annotated[PickListState | None, Query(description="Only this state.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Pick lists, newest first: `omnisync pick list --json`."""
    rows = pick_list_list(session, state=state, limit=limit + 1, before_id=id_cursor(cursor))
    return clean(page(rows, limit, request, response, lambda row: (row.id,)))


@router.get(
    "/pick-lists/{pick_list_id}",
    response_model=PickListDetailOut,
    responses={404: {"model": ErrorOut}},
)
def show(pick_list_id: PickListId, session: Reading, clean: Clean) -> Any:
    """The list and its walk, in walking order: `omnisync pick show ID --json`."""
    return clean(pick_list_detail(session, find_pick_list(session, pick_list_id)))


@router.get(
    "/pick-lists/{pick_list_id}/html",
    response_model=None,
    responses={
        200: {
            "description": "The printable page: HTML with its print stylesheet inline, no script.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        404: {"model": ErrorOut},
    },
)
def show_page(pick_list_id: PickListId, session: Reading) -> HTMLResponse:
    """The printable page of the list (`omnisync pick show ID --html FILE`)."""
    detail = pick_list_detail(session, find_pick_list(session, pick_list_id))
    return HTMLResponse(pick_list_page(detail))


@router.post(
    "/pick-lists/{pick_list_id}/confirm",
    response_model=PickListDetailOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": NOT_OPEN}},
)
def confirm(
    pick_list_id: PickListId,
    sync: Hub,
    clean: Clean,
    actor: CurrentActor,
    body: PickConfirmIn | None = None,
) -> Any:
    """Mark the list picked (`omnisync pick confirm`); `shorts` were not on the shelf:
    they leave the books, the orders that lose them (newest first) top up where their
    picked units are, take stock elsewhere (a line shorted completely) or are marked
    oversold, and the `pick_short` alert says so."""
    shorts = units_by_sku(body.shorts) if body is not None else {}

    def confirmed(session: Session) -> PickListDetailOut:
        done = confirm_pick_list(session, pick_list_id, shorts)
        detail = {"shorts": dict(shorts)}
        record_action(session, actor, "pick.confirm", f"pick list {pick_list_id}", detail)
        return pick_list_detail(session, done.pick_list)

    # Its own transaction, not a Writing session: a PostgreSQL deadlock victim runs again.
    return clean(run_in_transaction(sync.database, confirmed))


@router.post(
    "/pick-lists/{pick_list_id}/cancel",
    response_model=PickListDetailOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": CANCELLED}},
)
def cancel(pick_list_id: PickListId, session: Writing, clean: Clean, actor: CurrentActor) -> Any:
    """Cancel the list (`omnisync pick cancel`): its units can go on another list."""
    cancelled = cancel_pick_list(session, pick_list_id)
    record_action(session, actor, "pick.cancel", f"pick list {pick_list_id}")
    return clean(pick_list_detail(session, cancelled))
