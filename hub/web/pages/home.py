"""The home screen, "needs action": orders ready to ship by channel and age (late ones
first), oversold and late orders, paused or failing channels with their last error, the
push backlog, unlinked listings, low stock, returns waiting and open alerts; every count
links to the list it counts (hub/web/needs_action.py reads them).

The channels, backlog and alerts parts refresh by themselves: each is a fragment
(`/fragments/home/...`) the page includes, and console.js fetches it again every few
seconds (a fragment without a session answers 401, and the page goes to /login).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from omnisync.core.clock import clock_of
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.web.dependencies import ConsoleUser
from omnisync.hub.web.identity import ConsoleIdentity
from omnisync.hub.web.needs_action import (
    channel_problems,
    counts,
    health,
    open_alerts,
    order_work,
    push_backlog,
)
from omnisync.hub.web.rendering import mask_secrets, render, templates

router = APIRouter()

LIVE_EVERY_S = 5
FRAGMENTS = {
    "channels": "_home_channels.html",
    "backlog": "_home_backlog.html",
    "alerts": "_home_alerts.html",
}


def _part(session: Session, context: ApiContext, part: str) -> dict[str, Any]:
    """What one live part of the page shows."""
    if part == "channels":
        state = health(session, context.sync, clock_of(session).now())
        return {"problems": channel_problems(state)}
    if part == "backlog":
        return {"backlog": push_backlog(session)}
    alerts, total = open_alerts(session)
    return {"alerts": alerts, "alerts_total": total}


@router.get("/")
def home(request: Request, me: ConsoleUser, session: Reading, context: Context) -> Response:
    values: dict[str, Any] = {"live_every": LIVE_EVERY_S}
    for part in FRAGMENTS:
        values.update(_part(session, context, part))
    return render(
        request,
        me,
        "home.html",
        {
            **values,
            "work": order_work(session, clock_of(session).now()),
            "counts": counts(session),
        },
    )


@router.get("/fragments/home/{part}")
def home_fragment(
    part: str, request: Request, me: ConsoleUser, session: Reading, context: Context
) -> Response:
    """One live part of the home page, alone (what console.js swaps in)."""
    template = FRAGMENTS.get(part)
    if template is None:
        return HTMLResponse("no such part of the home page", status_code=404)
    return _fragment(request, me, template, _part(session, context, part))


def _fragment(
    request: Request, me: ConsoleIdentity, template: str, values: dict[str, Any]
) -> Response:
    """A partial template, without the page around it (and leaving the one-time message
    of the last action for the page that shows it)."""
    response = mask_secrets(
        request,
        templates.TemplateResponse(
            request,
            template,
            {"me": me.actor, "csrf_token": me.csrf_token, **values},
        ),
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    return response
