"""/api/v1/quarantine: payloads the hub could not map, kept verbatim; retrying or
dismissing one (`omnisync quarantine list|show|retry|resolve`).

Lists leave the bodies out (they may be large): one payload's route has it. A retry
maps the kept body again and takes in what it carries as a webhook delivery would
(sync/quarantine.py, in its own transactions); either way the payload is recorded
as resolved by the caller (`api` for hub.yaml's token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from omnisync.core.quarantine import resolve_payload
from omnisync.core.users import record_action
from omnisync.hub.api.dependencies import Clean, CurrentActor, Hub, Reading, Writing
from omnisync.hub.api.messages import ErrorOut, QuarantineResolveIn
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, id_cursor, page
from omnisync.hub.views import find_quarantined, quarantine_list, quarantine_resolution_view
from omnisync.hub.views.shapes import QuarantineDetailOut, QuarantineOut, QuarantineResolutionOut
from omnisync.sync.quarantine import retry_payload

RESOLVED = "The payload was resolved already."

PayloadId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The quarantined payload's id.")]

router = APIRouter(tags=["operations"])


@router.get("/quarantine", response_model=list[QuarantineOut])
def list_quarantine(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    resolved: bool | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Payloads that could not be mapped, newest first (bodies: GET /quarantine/{id})."""
    rows = quarantine_list(
        session,
        channel=channel,
        resolved=resolved,
        limit=limit + 1,
        before_id=id_cursor(cursor),
    )
    return clean(page(rows, limit, request, response, lambda row: (row.id,)))


@router.get(
    "/quarantine/{payload_id}",
    response_model=QuarantineDetailOut,
    responses={404: {"model": ErrorOut}},
)
def show_quarantined(payload_id: PayloadId, session: Reading, clean: Clean) -> Any:
    """One quarantined payload with its raw body, as received."""
    return clean(find_quarantined(session, payload_id))


@router.post(
    "/quarantine/{payload_id}/retry",
    response_model=QuarantineResolutionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": RESOLVED}},
)
def retry_quarantined(payload_id: PayloadId, sync: Hub, clean: Clean, actor: CurrentActor) -> Any:
    """Map the kept body again (`omnisync quarantine retry`): what maps now goes in as
    a webhook delivery would and the payload is resolved; 422 says why it still fails."""
    resolution = retry_payload(sync, payload_id, by=actor.name, audit=actor)
    return clean(quarantine_resolution_view(resolution))


@router.post(
    "/quarantine/{payload_id}/resolve",
    response_model=QuarantineResolutionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": RESOLVED}},
)
def resolve_quarantined(
    payload_id: PayloadId,
    session: Writing,
    clean: Clean,
    actor: CurrentActor,
    body: QuarantineResolveIn | None = None,
) -> Any:
    """Dismiss the payload (`omnisync quarantine resolve`): kept, nothing of it goes in;
    the channel's quarantine alert resolves with its last open payload."""
    note = body.note if body is not None else None
    resolution = resolve_payload(session, payload_id, by=actor.name, note=note)
    record_action(session, actor, "quarantine.resolve", f"payload {payload_id}", {"note": note})
    return clean(quarantine_resolution_view(resolution))
