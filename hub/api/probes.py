"""The probes a supervisor and Prometheus poll, without a token: the bind address
(127.0.0.1 unless configured) is their protection.

- GET /healthz: the process answers.
- GET /readyz: the database answers a query and the scheduler runs; else 503 with the
  failing check named.
- GET /metrics: Prometheus text format, read from the database (hub/metrics.py), so
  every process on one database reports the same.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from omnisync.core.db import transaction
from omnisync.core.redaction import redact
from omnisync.hub.api.dependencies import ApiContext, Context
from omnisync.hub.api.messages import ErrorOut, ReadinessOut

log = logging.getLogger(__name__)
DATABASE_DOWN = "the database is unreachable"

router = APIRouter(tags=["probes"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadinessOut,
    responses={503: {"model": ReadinessOut, "description": "A check failed."}},
)
def readyz(context: Context) -> JSONResponse:
    """The database answers and the scheduler runs."""
    running = context.scheduler_running
    checks = {
        "database": _database_check(context),
        "scheduler": "ok" if running is not None and running() else "not running",
    }
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        503: {"model": ErrorOut, "description": DATABASE_DOWN},
    },
)
def metrics(context: Context) -> Response:
    """Counters and gauges read from the database (see hub/metrics.py)."""
    return Response(generate_latest(context.metrics), media_type=CONTENT_TYPE_LATEST)


def _database_check(context: ApiContext) -> str:
    try:
        with transaction(context.sync.database, read_only=True) as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("readiness: database check failed: %s", redact(str(error), context.secrets()))
        return f"unreachable ({type(error).__name__})"
    return "ok"
