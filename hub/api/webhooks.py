"""/webhooks/{type}/{channel}: a channel's signed deliveries, with the channel's
signature instead of the API token.

POST: the raw body is handed on untouched (the signature covers exactly those bytes) to
sync/webhooks.py, which verifies it, takes each delivery once and upserts its orders
through the same path as polling. A delivery that needed the channel (eBay's names an
order to read) while the channel did not answer, or while the hub stops, is answered 503
with nothing stored: the channel delivers it again, and polling is the backstop. The
statuses are the channel's: Shopify expects 200 and reads 401 as refused; eBay expects
204, and 412 for a signature that does not verify (its notification SDK's contract). A
channel type without webhooks is a 404, as an unknown channel is.

GET: the channel's check that the endpoint is ours before it sends anything (eBay's
`challenge_code`, answered with a hash of the code, the channel's verification token and
the endpoint URL); 404 for a channel type that makes no such check.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from omnisync.connectors.base import (
    Capability,
    Connector,
    ConnectorError,
    InvalidSignature,
    RateLimited,
)
from omnisync.connectors.registry import connector_for
from omnisync.hub.api.dependencies import Hub
from omnisync.hub.api.messages import ErrorOut
from omnisync.sync.calls import Cancelled
from omnisync.sync.engine import SyncEngine
from omnisync.sync.webhooks import accept_webhook

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
UNAVAILABLE_RETRY_S = 30
"""Retry-After of a delivery the hub could not take in because the channel did not answer."""


@router.post(
    "/webhooks/{channel_type}/{channel}",
    responses={
        204: {"description": "accepted (channels that expect no body, eBay)"},
        401: {"model": ErrorOut},
        404: {"model": ErrorOut},
        412: {"model": ErrorOut, "description": "eBay: the signature does not verify"},
        503: {"model": ErrorOut, "description": "the channel did not answer: deliver again"},
    },
)
async def webhook(channel_type: str, channel: str, request: Request, sync: Hub) -> Response:
    """A channel's signed delivery (Shopify: X-Shopify-Hmac-Sha256; eBay: X-EBAY-SIGNATURE)."""
    connector_type = _webhook_connector(sync, channel_type, channel)
    try:
        body = await request.body()  # the raw bytes: the signature covers exactly these
    except ClientDisconnect:
        # The sender gave up before its body arrived (its own timeout): nothing to take
        # in, nobody to answer; it delivers again. Not an error of ours to trace.
        log.info("webhook for %s: the sender hung up before its body arrived", channel)
        return Response(status_code=400)
    headers = dict(request.headers)
    try:
        outcome = await run_in_threadpool(accept_webhook, sync, channel, headers, body)
    except InvalidSignature:
        return JSONResponse(
            {"error": "invalid signature"}, status_code=connector_type.webhook_rejected_status
        )
    except (ConnectorError, Cancelled) as error:
        # Taking it in needed the channel (eBay: the order a notification names, read
        # with getOrder) and the channel did not answer, or the hub is stopping: nothing
        # was stored, and the channel delivers again later. Polling is the backstop.
        log.warning("webhook for %s not taken in: %s: %s", channel, type(error).__name__, error)
        wait = error.retry_after if isinstance(error, RateLimited) else UNAVAILABLE_RETRY_S
        return JSONResponse(
            {"error": "the channel could not be read; deliver again later"},
            status_code=503,
            headers={"Retry-After": str(max(int(wait), 1))},
        )
    if connector_type.webhook_accepted_status == 204:
        return Response(status_code=204)
    return JSONResponse(
        {"status": outcome.status, "orders": outcome.orders},
        status_code=connector_type.webhook_accepted_status,
    )


@router.get(
    "/webhooks/{channel_type}/{channel}",
    responses={404: {"model": ErrorOut}},
)
async def webhook_challenge(
    channel_type: str, channel: str, request: Request, sync: Hub
) -> JSONResponse:
    """The channel's check that this endpoint is ours (eBay: `?challenge_code=...`)."""
    _webhook_connector(sync, channel_type, channel)
    answer = sync.connector(channel).webhook_challenge(dict(request.query_params))
    if answer is None:
        raise HTTPException(status_code=404, detail="no challenge to answer here")
    return JSONResponse(answer)


def _webhook_connector(sync: SyncEngine, channel_type: str, channel: str) -> type[Connector]:
    """The connector class of a configured channel of `channel_type` that takes
    webhooks; 404 otherwise."""
    config = sync.channels.get(channel)
    if config is None or config.type != channel_type:
        raise HTTPException(status_code=404, detail="no such channel")
    connector = connector_for(config.type)
    if connector is None or Capability.WEBHOOKS not in connector.capabilities:
        raise HTTPException(status_code=404, detail=f"{config.type} channels take no webhooks")
    return connector
