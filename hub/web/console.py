"""`install_console(app)`: the console's pages under `/` on the hub's FastAPI app (the
API, webhooks, probes and /metrics keep their paths), its static files under /static,
and the answers to a missing session (redirect to /login), a role that may not (403
page) and a forged or missing CSRF token (403 page, nothing changed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from omnisync.hub.api.dependencies import ApiContext
from omnisync.hub.web.dependencies import ConsoleState, console_enabled
from omnisync.hub.web.forms import CsrfRefused
from omnisync.hub.web.identity import CookieKeys, LoginRequired, RoleRefused
from omnisync.hub.web.rendering import render

STATIC = Path(__file__).parent / "static"
FRAGMENT_HEADER = "X-Omnisync-Fragment"
"""Sent by console.js when it refreshes a live part: answered 401, not redirected."""


def install_console(app: FastAPI, context: ApiContext) -> None:
    # Imported here: the pages import hub.api, whose app imports this module (a page
    # module imported first would otherwise find this one half made).
    from omnisync.hub.web.pages import PAGE_ROUTERS

    app.state.console = ConsoleState(keys=CookieKeys(context.sync.database))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router, dependencies=[Depends(console_enabled)], include_in_schema=False)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.headers.get(FRAGMENT_HEADER) or request.method != "GET":
            if request.method != "GET" and not request.headers.get(FRAGMENT_HEADER):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse({"error": "signed out"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RoleRefused)
    async def role_refused(request: Request, exc: RoleRefused) -> Response:
        return render(
            request,
            None,
            "error.html",
            {"title": "Not allowed", "message": f"{exc}. Ask an admin if you need it."},
            status_code=403,
        )

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return render(
            request,
            None,
            "error.html",
            {
                "title": "Form refused",
                "message": "The form's security token is missing or out of date; nothing was "
                "changed. Reload the page and try again.",
            },
            status_code=403,
        )
