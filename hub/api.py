"""The hub's HTTP interface: probes, /metrics, the REST API and the webhook routes.

- GET /healthz: the process answers (no auth).
- GET /readyz: the database answers a query and the scheduler runs; else 503
  with the failing check named (no auth).
- GET /metrics: Prometheus text format, read from the database (hub/metrics.py;
  no auth: the bind address, 127.0.0.1 unless configured, is the protection).
- /api/v1/...: bearer token (hub/api_v1.py).
- POST /webhooks/{type}/{channel}: the channel's signature instead of a token.
- GET /docs, /redoc, /openapi.json: the API's description, served from the hub itself
  (hub/api_docs.py; no auth).

Every error is JSON `{"error": "..."}`, with configured secret values masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnisync.connectors.base import Capability, InvalidSignature
from omnisync.connectors.registry import connector_for
from omnisync.core.db import transaction
from omnisync.core.errors import Conflict, DomainError, InsufficientStock, NotFound
from omnisync.hub.api_docs import install_docs
from omnisync.hub.api_models import ErrorOut, ReadinessOut
from omnisync.hub.api_v1 import api_router
from omnisync.hub.metrics import metrics_registry
from omnisync.hub.settings import Settings
from omnisync.sync.engine import SyncEngine
from omnisync.sync.redaction import redact
from omnisync.sync.webhooks import accept_webhook

log = logging.getLogger(__name__)
DATABASE_DOWN = "the database is unreachable"


def create_app(
    sync: SyncEngine,
    *,
    settings: Settings | Callable[[], Settings | None] | None = None,
    scheduler_running: Callable[[], bool] | None = None,
) -> FastAPI:
    """The app of one hub process. `settings` (or a callable giving the current ones,
    so a reload applies) supplies the API token, the default location and the
    secrets; without settings the REST API stays disabled. `scheduler_running` tells
    /readyz whether the scheduler works; without it the process is never ready."""
    current = _settings_source(settings)
    app = FastAPI(
        title="omnisync",
        version="0.1.0",
        description="Multichannel order and stock hub: state, stock changes, monitoring.",
        docs_url=None,  # /docs and /redoc come from hub/api_docs.py: no CDN
        redoc_url=None,
    )
    install_docs(app)
    _install_error_handlers(app, sync, current)
    registry = metrics_registry(sync.database)

    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        response_model=ReadinessOut,
        responses={503: {"model": ReadinessOut, "description": "A check failed."}},
        tags=["probes"],
    )
    def readyz() -> JSONResponse:
        """The database answers and the scheduler runs."""
        checks = {
            "database": _database_check(sync, current),
            "scheduler": "ok"
            if scheduler_running is not None and scheduler_running()
            else "not running",
        }
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
            503: {"model": ErrorOut, "description": DATABASE_DOWN},
        },
        tags=["probes"],
    )
    def metrics() -> Response:
        """Counters and gauges read from the database (see hub/metrics.py)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(api_router(sync, current))

    @app.post(
        "/webhooks/{channel_type}/{channel}",
        responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
        tags=["webhooks"],
    )
    async def webhook(channel_type: str, channel: str, request: Request) -> JSONResponse:
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

    return app


def _takes_webhooks(channel_type: str) -> bool:
    connector = connector_for(channel_type)
    return connector is not None and Capability.WEBHOOKS in connector.capabilities


def _settings_source(
    settings: Settings | Callable[[], Settings | None] | None,
) -> Callable[[], Settings | None]:
    if settings is None or isinstance(settings, Settings):
        fixed = settings
        return lambda: fixed
    return settings


def _database_check(sync: SyncEngine, settings: Callable[[], Settings | None]) -> str:
    try:
        with transaction(sync.database, read_only=True) as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("readiness: database check failed: %s", _masked(str(error), sync, settings))
        return f"unreachable ({type(error).__name__})"
    return "ok"


def _masked(message: str, sync: SyncEngine, settings: Callable[[], Settings | None]) -> str:
    current = settings()
    return redact(message, sync.secrets | (current.secrets if current else frozenset()))


def _json_decode_problem(exc: RequestValidationError) -> str | None:
    """The one-line reason the body is not JSON at all, if that is what failed."""
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            location = item.get("loc", ())
            where = f" (at character {location[1]})" if len(location) > 1 else ""
            reason = item.get("ctx", {}).get("error", "JSON decode error")
            return f"body is not JSON: {reason}{where}"
    if isinstance(exc.body, bytes):  # FastAPI reads a body as JSON under a JSON content type only
        return "body is not JSON: send it with Content-Type: application/json"
    return None


def _install_error_handlers(
    app: FastAPI, sync: SyncEngine, settings: Callable[[], Settings | None]
) -> None:
    def error(status_code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        body = {"error": _masked(message, sync, settings)}
        return JSONResponse(body, status_code=status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        return error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        unreadable = _json_decode_problem(exc)
        if unreadable is not None:
            return error(400, unreadable)
        problems = [
            f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', 'invalid')}"
            for item in exc.errors()
        ]
        return error(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, exc: DataError) -> Response:
        # Values the database refuses to take or compare (PostgreSQL: a NUL character in
        # text, a number out of range) come from the request: the client's to fix.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        log.info("HTTP request refused by the database: %s", _masked(reason, sync, settings))
        return error(422, f"a value of the request cannot be used: {reason}")

    @app.exception_handler(DomainError)
    async def refused(_request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotFound):
            return error(404, str(exc))
        if isinstance(exc, InsufficientStock | Conflict):
            return error(409, str(exc))
        return error(422, str(exc))

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> Response:
        log.warning("HTTP request failed: %s", _masked(str(exc.orig), sync, settings))
        return error(503, DATABASE_DOWN)
