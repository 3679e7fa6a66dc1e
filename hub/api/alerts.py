"""/api/v1/alerts: what the hub raised, open and resolved, and resolving one by hand
(`omnisync alerts list|show|resolve`).

A resolve through the API is recorded as by the caller (`api` for hub.yaml's token). If the
alert's condition still holds, its rule opens it again (sync/alert_resolution.py):
the answer says whether (`opens_again`) and why (`outlook`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from omnisync.core.types import AlertState
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, CurrentActor, Reading, Writing
from omnisync.hub.api.messages import AlertResolveIn, ErrorOut
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, id_cursor, page
from omnisync.hub.views import alert_list, alert_resolution_view, find_alert
from omnisync.hub.views.shapes import AlertDetailOut, AlertOut, AlertResolutionOut
from omnisync.sync.alert_resolution import resolve_by_hand

ALERT_RESOLVED = "The alert was resolved already."

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id.")]

router = APIRouter(tags=["operations"])


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    state: AlertState | None = None,
    channel: ChannelFilter = None,
    rule: Annotated[str | None, Query(max_length=50, description="Only this rule.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Alerts, open and resolved (or `state`), newest first."""
    rows = alert_list(
        session,
        state=state,
        channel=channel,
        rule=rule,
        limit=limit + 1,
        before_id=id_cursor(cursor),
    )
    return clean(page(rows, limit, request, response, lambda row: (row.id,)))


@router.get(
    "/alerts/{alert_id}", response_model=AlertDetailOut, responses={404: {"model": ErrorOut}}
)
def show_alert(alert_id: AlertId, session: Reading, clean: Clean) -> Any:
    """One alert with what each notifier was told of it (`omnisync alerts show`)."""
    return clean(find_alert(session, alert_id))


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertResolutionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": ALERT_RESOLVED}},
)
def resolve_open_alert(
    alert_id: AlertId,
    session: Writing,
    clean: Clean,
    actor: CurrentActor,
    body: AlertResolveIn | None = None,
) -> Any:
    """Resolve the alert by hand (`omnisync alerts resolve`), with an optional note; if its
    condition still holds its rule opens it again (`opens_again`, `outlook`)."""
    note = body.note if body is not None else None
    resolution = resolve_by_hand(session, alert_id, by=actor.name, note=note)
    record_action(session, actor, "alert.resolve", f"alert {alert_id}", {"note": note})
    return clean(alert_resolution_view(resolution))
