"""The channels screens: /channels (every channel's health, the last run of each job, the
push backlog and every open alert, `#alerts`) and /channels/{name} (one channel, its
alerts and its recent runs, paged by key). The health, backlog and alerts part refreshes
by itself: console.js asks the page's own URL with the fragment header and gets that
part alone.

Admins pause (with a reason), resume and "sync now" a channel (hub/channel_control.py);
operators resolve an alert by hand, as the API's routes do. Every change is recorded
with who made it; a refusal comes back as a message on the page it came from, and
"sync now" in a process with no scheduler is a 409 page that says so.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.redaction import redact, redact_data
from omnisync.core.types import UserRole
from omnisync.core.users import record_action
from omnisync.hub import channel_control
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import id_cursor
from omnisync.hub.views.operations import sync_run_list
from omnisync.hub.views.shapes import json_data
from omnisync.hub.web.channel_board import channel_board
from omnisync.hub.web.dependencies import Admin, ConsoleUser, Operator
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.rendering import redirect, render
from omnisync.sync.alert_resolution import resolve_by_hand

router = APIRouter()

FRAGMENT_HEADER = "X-Omnisync-Fragment"
"""console.js sends it when it refreshes a live part (hub/web/console.py)."""
REFRESH_SECONDS = 5
ChannelName = Annotated[str, Path(max_length=100)]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Cursor = Annotated[str | None, Query(max_length=400)]


def _fragment(request: Request) -> bool:
    return bool(request.headers.get(FRAGMENT_HEADER))


def _channel_url(name: str) -> str:
    return f"/channels/{quote(name, safe='')}"


def _refused(back: str, error: DomainError, context: ApiContext) -> Response:
    """Back where the form was, saying why nothing changed (secret values masked)."""
    return redirect(back, redact(str(error), context.secrets()), error=True)


@router.get("/channels")
def channels_page(
    request: Request, me: ConsoleUser, context: Context, session: Reading
) -> Response:
    board = channel_board(session, context)
    values = {
        "board": board,
        "can_operate": me.actor.may(UserRole.OPERATOR),
        "back": "/channels#alerts",
        "refresh_every": REFRESH_SECONDS,
    }
    if _fragment(request):
        return render(request, me, "_channels_live.html", values)
    return render(request, me, "channels_list.html", values)


@router.get("/channels/{name}")
def channel_page(
    request: Request,
    name: ChannelName,
    me: ConsoleUser,
    context: Context,
    session: Reading,
    cursor: Cursor = None,
) -> Response:
    board = channel_board(session, context, names=[name])
    if not board.channels:
        return render(
            request,
            me,
            "error.html",
            {"title": "Not found", "message": f"unknown channel {name!r}"},
            status_code=404,
        )
    channel = board.channels[0]
    values = {
        "board": board,
        "channel": channel,
        "url": _channel_url(name),
        "can_operate": me.actor.may(UserRole.OPERATOR),
        "can_admin": me.actor.may(UserRole.ADMIN),
        "back": _channel_url(name),
        "refresh_every": REFRESH_SECONDS,
    }
    if _fragment(request):
        return render(request, me, "_channels_detail_live.html", values)
    rows = sync_run_list(session, channel=name, limit=PAGE_SIZE + 1, before_id=id_cursor(cursor))
    runs, next_url = console_page(rows, PAGE_SIZE, request, lambda run: (run.id,))
    values |= {
        "runs": redact_data(json_data(list(runs)), context.secrets()),
        "next_url": next_url,
        "scheduler": context.run_now is not None,
        "no_scheduler": channel_control.NO_SCHEDULER,
    }
    return render(request, me, "channels_detail.html", values)


@router.post("/channels/{name}/pause")
def pause(name: ChannelName, me: Admin, form: PostedForm, context: Context) -> Response:
    back = _channel_url(name)
    try:
        with transaction(context.sync.database) as session:
            channel = channel_control.pause(session, me.actor, name, text(form, "reason"))
            said = channel.paused_reason
    except DomainError as error:
        return _refused(back, error, context)
    return redirect(back, f"{name} is paused ({said}): none of its jobs runs until resumed.")


@router.post("/channels/{name}/resume")
def resume(name: ChannelName, me: Admin, _form: PostedForm, context: Context) -> Response:
    back = _channel_url(name)
    try:
        with transaction(context.sync.database) as session:
            channel_control.resume(session, me.actor, name)
    except DomainError as error:
        return _refused(back, error, context)
    return redirect(back, f"{name} is resumed: its jobs run again on their schedule.")


@router.post("/channels/{name}/sync")
def sync_now(
    request: Request, name: ChannelName, me: Admin, _form: PostedForm, context: Context
) -> Response:
    back = _channel_url(name)
    if context.run_now is None:
        return render(
            request,
            me,
            "error.html",
            {"title": "Refused", "message": f"Nothing was synced: {channel_control.NO_SCHEDULER}."},
            status_code=409,
        )
    try:
        with transaction(context.sync.database) as session:
            jobs = channel_control.sync_now(session, me.actor, name, context.run_now)
    except DomainError as error:
        return _refused(back, error, context)
    started = ", ".join(jobs) if jobs else "no scheduled job"
    return redirect(back, f"Syncing {name} now: {started}.")


@router.post("/channels/alerts/{alert_id}/resolve")
def resolve_alert(alert_id: AlertId, me: Operator, form: PostedForm, context: Context) -> Response:
    back = text(form, "back")
    if not back.startswith("/channels") or back.startswith("//"):
        back = "/channels#alerts"
    note = text(form, "note") or None
    try:
        with transaction(context.sync.database) as session:
            resolution = resolve_by_hand(session, alert_id, by=me.actor.name, note=note)
            record_action(
                session,
                me.actor,
                "alert.resolve",
                f"alert {alert_id}",
                {"rule": resolution.alert.rule, "channel": resolution.channel, "note": note},
            )
            says = resolution.outlook.says
    except DomainError as error:
        return _refused(back, error, context)
    return redirect(back, f"Alert {alert_id} resolved; {says}.")
