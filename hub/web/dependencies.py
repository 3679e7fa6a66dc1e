"""What console routes are given: the hub (ApiContext, shared with the API), database
sessions, and the signed-in user at the role the route needs.

`ConsoleUser` is any signed-in user (a viewer at least); `Operator` and `Admin` refuse
lower roles with a 403 page. Without a live session a page redirects to /login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from omnisync.core.types import UserRole
from omnisync.hub.api.dependencies import ApiContext, Context
from omnisync.hub.web.identity import (
    ConsoleIdentity,
    CookieKeys,
    LoginRequired,
    RoleRefused,
    console_identity,
)

DEFAULT_SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class ConsoleState:
    """What the console keeps per app: the cookie key of the database."""

    keys: CookieKeys


def console_state(request: Request) -> ConsoleState:
    state = request.app.state.console
    assert isinstance(state, ConsoleState)
    return state


def session_lifetime(context: ApiContext) -> timedelta:
    current = context.settings()
    return current.hub.http.session_lifetime if current is not None else DEFAULT_SESSION_LIFETIME


def secure_cookies(request: Request, context: ApiContext) -> bool:
    """Secure cookies when the page came over HTTPS, or always with `http.secure_cookies`
    (a TLS proxy on another machine, whose X-Forwarded-Proto uvicorn does not trust)."""
    current = context.settings()
    forced = current is not None and current.hub.http.secure_cookies
    return forced or request.url.scheme == "https"


def console_enabled(context: Context) -> None:
    """hub.yaml `http.console: false` takes the console away (404), API untouched."""
    current = context.settings()
    if current is not None and not current.hub.http.console:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the console is switched off (http.console)")


def console_user(request: Request, context: Context) -> ConsoleIdentity:
    me = console_identity(
        request,
        context.sync.database,
        console_state(request).keys,
        session_lifetime(context),
    )
    if me is None:
        raise LoginRequired()
    return me


ConsoleUser = Annotated[ConsoleIdentity, Depends(console_user)]


def operator(me: ConsoleUser) -> ConsoleIdentity:
    if not me.actor.may(UserRole.OPERATOR):
        raise RoleRefused(me.actor, UserRole.OPERATOR)
    return me


def admin(me: ConsoleUser) -> ConsoleIdentity:
    if not me.actor.may(UserRole.ADMIN):
        raise RoleRefused(me.actor, UserRole.ADMIN)
    return me


Operator = Annotated[ConsoleIdentity, Depends(operator)]
Admin = Annotated[ConsoleIdentity, Depends(admin)]
