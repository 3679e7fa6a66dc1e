"""The hub's HTTP interface. For now: webhook routes and the liveness probe
(the REST API and /metrics arrive with the monitoring issue)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connectors.base import InvalidSignature
from sync.engine import SyncEngine
from sync.webhooks import accept_webhook


def create_app(sync: SyncEngine) -> FastAPI:
    app = FastAPI(title="omnisync", version="0.1.0")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/{channel_type}/{channel}")
    async def webhook(channel_type: str, channel: str, request: Request) -> JSONResponse:
        config = sync.channels.get(channel)
        if config is None or config.type != channel_type:
            raise HTTPException(status_code=404, detail="no such channel")
        body = await request.body()  # the raw bytes: the signature covers exactly these
        headers = dict(request.headers)
        try:
            outcome = await run_in_threadpool(accept_webhook, sync, channel, headers, body)
        except InvalidSignature:
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        return JSONResponse({"status": outcome.status, "orders": outcome.orders})

    return app
