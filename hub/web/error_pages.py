"""Errors of console pages as pages: a browser asking for a console page gets an HTML
error page; the API and everything else keep their JSON errors (hub/api/errors.py).
Kept apart from console.py so hub/api can import it without importing the pages."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from omnisync.hub.web.rendering import render

NOT_CONSOLE = (
    "/api/",
    "/webhooks",
    "/metrics",
    "/healthz",
    "/readyz",
    "/docs",
    "/redoc",
    "/openapi",
)


def is_console_page(request: Request) -> bool:
    """A browser's request for a console page (its errors are pages, not JSON)."""
    path = request.url.path
    return not path.startswith(NOT_CONSOLE) and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, message: str) -> Response:
    titles = {
        403: "Not allowed",
        404: "Not found",
        409: "Refused",
        422: "Refused",
        503: "Unavailable",
    }
    return render(
        request,
        None,
        "error.html",
        {"title": titles.get(status_code, "Error"), "message": message},
        status_code=status_code,
    )
