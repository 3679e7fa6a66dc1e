"""Every error of the HTTP app is JSON `{"error": "..."}`, with configured secret
values masked, and its status says whose fault it is:

- 400: the body is not JSON at all; 422: a parameter or the body is not valid, or the
  database refuses a value of the request (PostgreSQL: a NUL character, a number out
  of range): the client's to fix;
- 404: an unknown row; 409: the request conflicts with the row's state (not enough
  stock, an order on hold, a payload resolved already); 422: any other domain refusal;
- 503: the database cannot be reached (logged, masked, without the driver's words).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from omnisync.core.errors import Conflict, DomainError, InsufficientStock, NotFound
from omnisync.core.redaction import redact
from omnisync.hub.api.dependencies import ApiContext
from omnisync.hub.api.probes import DATABASE_DOWN
from omnisync.hub.web.error_pages import error_page, is_console_page

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI, context: ApiContext) -> None:
    def masked(message: str) -> str:
        return redact(message, context.secrets())

    def error(
        status_code: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        request: Request | None = None,
    ) -> Response:
        if request is not None and is_console_page(request):  # a browser: a page, not JSON
            return error_page(request, status_code, masked(message))
        return JSONResponse({"error": masked(message)}, status_code=status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error(exc.status_code, str(exc.detail), exc.headers, request)

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
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        log.info("HTTP request refused by the database: %s", masked(reason))
        return error(422, f"a value of the request cannot be used: {reason}")

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotFound):
            return error(404, str(exc), request=request)
        if isinstance(exc, InsufficientStock | Conflict):
            return error(409, str(exc), request=request)
        return error(422, str(exc), request=request)

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> Response:
        log.warning("HTTP request failed: %s", masked(str(exc.orig)))
        return error(503, DATABASE_DOWN)


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
