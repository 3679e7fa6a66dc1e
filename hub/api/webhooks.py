"""POST /webhooks/{type}/{channel}: a channel's signed deliveries, with the channel's
signature instead of the API token.

The raw body is handed on untouched (the signature covers exactly those bytes) to
sync/webhooks.py, which verifies it, takes each delivery once and upserts its orders
through the same path as polling. A channel type without webhooks is a 404, as an
unknown channel is.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from omnisync.connectors.base import Capability, InvalidSignature
from omnisync.connectors.registry import connector_for
from omnisync.hub.api.dependencies import Hub
from omnisync.hub.api.messages import ErrorOut
from omnisync.sync.webhooks import accept_webhook

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/{channel_type}/{channel}",
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
async def webhook(channel_type: str, channel: str, request: Request, sync: Hub) -> JSONResponse:
    """A channel's signed delivery (Shopify: X-Shopify-Hmac-Sha256)."""
    config = sync.channels.get(channel)
    if config is None or config.type != channel_type:
        raise HTTPException(status_code=404, detail="no such channel")
    if not _takes_webhooks(config.type):
        raise HTTPException(status_code=404, detail=f"{config.type} channels take no webhooks")
    body = await request.body()  # the raw bytes: the signature covers exactly these
    headers = dict(request.headers)
    try:
        outcome = await run_in_threadpool(accept_webhook, sync, channel, headers, body)
    except InvalidSignature:
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    return JSONResponse({"status": outcome.status, "orders": outcome.orders})


def _takes_webhooks(channel_type: str) -> bool:
    connector = connector_for(channel_type)
    return connector is not None and Capability.WEBHOOKS in connector.capabilities
