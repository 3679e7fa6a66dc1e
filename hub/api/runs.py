"""/api/v1/sync-runs: every job run, newest first (one `sync_runs` row each)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from omnisync.core.types import SyncRunStatus
from omnisync.hub.api.dependencies import Clean, Reading
from omnisync.hub.api.paging import ChannelFilter, CursorParam, Limit, id_cursor, page
from omnisync.hub.views import sync_run_list
from omnisync.hub.views.shapes import SyncRunOut

router = APIRouter(tags=["operations"])


@router.get("/sync-runs", response_model=list[SyncRunOut])
def list_runs(
    request: Request,
    response: Response,
    session: Reading,
    clean: Clean,
    channel: ChannelFilter = None,
    job: Annotated[str | None, Query(max_length=50)] = None,
    run_status: Annotated[SyncRunStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Any:
    """Job runs, newest first."""
    rows = sync_run_list(
        session,
        channel=channel,
        job=job,
        status=run_status,
        limit=limit + 1,
        before_id=id_cursor(cursor),
    )
    return clean(page(rows, limit, request, response, lambda row: (row.id,)))
