"""/api/v1: what the hub knows, for machines, behind `Authorization: Bearer <token>`.

The token is hub.yaml's `http.api_token`; without one every route answers 503
(the API is never open). A query parameter a route does not take is a 422, never
ignored. Bodies are the CLI's --json shapes (hub/views/shapes.py), with configured
secret values masked. Lists are newest first (stock: by SKU; listings: by channel, then
key) and paged by key (hub/api/paging.py); the history of listing links is newest
first, up to `limit`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from omnisync.hub.api import (
    alerts,
    channels,
    labels,
    listings,
    orders,
    packing,
    picking,
    quarantine,
    returns,
    runs,
    stock,
    warehouse,
)
from omnisync.hub.api.dependencies import reject_unknown_query, require_token
from omnisync.hub.api.messages import ErrorOut


def api_router() -> APIRouter:
    """Every /api/v1 route, each resource's router under the checks they all share."""
    router = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(require_token), Depends(reject_unknown_query)],
        responses={
            400: {"model": ErrorOut, "description": "The body could not be read as JSON."},
            401: {"model": ErrorOut, "description": "No bearer token, or a wrong one."},
            422: {"model": ErrorOut, "description": "A parameter or the body is not valid."},
            503: {"model": ErrorOut, "description": "No api_token configured, or no database."},
        },
    )
    for resource in (orders, returns, stock, listings, channels, runs, alerts, quarantine):
        router.include_router(resource.router)
    router.include_router(labels.router)
    router.include_router(packing.router)
    router.include_router(picking.router)
    router.include_router(warehouse.router)
    return router
