"""Who a request is, and whether its role may do what it asks.

- The console: the signed session cookie names a live session of an active user
  (core/users.py); its CSRF token comes with it. Without one, a page redirects to
  /login and a live fragment answers 401.
- The API: hub.yaml's `http.api_token` acts as `api`, an admin; a user's own token
  (`omnisync users token NAME`) acts as that user with that user's role. Reading needs
  a viewer, any change an operator, and what an issue reserves for admins (users,
  pausing, resuming and syncing channels) an admin.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, Request, status
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from omnisync.core.db import transaction
from omnisync.core.types import UserRole
from omnisync.core.users import (
    Actor,
    any_api_token,
    live_session,
    note_token_use,
    signing_secret,
    user_of_token,
)
from omnisync.hub.web.cookies import COOKIE_NAME, CookieSigner

API_TOKEN_ACTOR = "api"  # noqa: S105 (a name, not a secret)
"""The name what hub.yaml's http.api_token does is recorded under."""
API_DISABLED = (
    "the REST API is disabled until http.api_token is set in hub.yaml "
    "or a user has a token (omnisync users token NAME)"
)
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ConsoleIdentity:
    """A signed-in console user: who, and the CSRF token of the session."""

    actor: Actor
    csrf_token: str
    session_token: str


class LoginRequired(Exception):
    """No live session: a page redirects to /login, a fragment answers 401."""


class RoleRefused(Exception):
    """Signed in, but the role may not do this."""

    def __init__(self, actor: Actor, needed: UserRole) -> None:
        super().__init__(f"{actor.name} is {actor.role.value}: this needs {needed.value}")
        self.actor = actor
        self.needed = needed


class CookieKeys:
    """The signer of the database's cookie key, read (or made) once per app."""

    def __init__(self, database: Engine) -> None:
        self._database = database
        self._signer: CookieSigner | None = None
        self._lock = threading.Lock()

    def signer(self) -> CookieSigner:
        with self._lock:
            if self._signer is None:
                self._signer = CookieSigner(self._secret())
            return self._signer

    def _secret(self) -> str:
        try:
            with transaction(self._database) as session:
                return signing_secret(session)
        except IntegrityError:  # another process made it at the same moment: take theirs
            with transaction(self._database) as session:
                return signing_secret(session)


def console_identity(
    request: Request, database: Engine, keys: CookieKeys, lifetime: timedelta
) -> ConsoleIdentity | None:
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    token = keys.signer().unsign(cookie, lifetime)
    if token is None:
        return None
    with transaction(database, read_only=True) as session:
        found = live_session(session, token)
        if found is None:
            return None
        console_session, user = found
        return ConsoleIdentity(
            actor=Actor(name=user.name, role=user.role, via="console", user_id=user.id),
            csrf_token=console_session.csrf_token,
            session_token=token,
        )


def api_actor(request: Request, database: Engine, hub_token: str | None, bearer: str) -> Actor:
    """The actor of an /api/v1 request; 401 for a wrong token, 503 while the API has no
    token of any kind (it is never open)."""
    if (
        hub_token is not None
        and bearer
        and hmac.compare_digest(bearer.encode(), hub_token.encode())
    ):
        return Actor(name=API_TOKEN_ACTOR, role=UserRole.ADMIN, via="api")
    # Read-only: a write transaction per request would queue every GET on SQLite's lock.
    with transaction(database, read_only=True) as session:
        owner = user_of_token(session, bearer) if bearer else None
        closed = owner is None and hub_token is None and not any_api_token(session)
    if owner is not None:
        if owner.use_due:
            with transaction(database) as session:
                note_token_use(session, owner.token_id)
        user = owner.user
        return Actor(name=user.name, role=user.role, via="api", user_id=user.id)
    if closed:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, API_DISABLED)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or wrong bearer token" if bearer else "missing bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def needed_role(method: str) -> UserRole:
    """What a request needs by its method alone: reading is for viewers, changing for
    operators (routes for admins say so themselves)."""
    return UserRole.VIEWER if method.upper() in READING_METHODS else UserRole.OPERATOR


def refuse_unless(actor: Actor, needed: UserRole) -> None:
    """The API's answer to a role that may not: 403 naming the role needed."""
    if not actor.may(needed):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{actor.name} is {actor.role.value}: this needs the {needed.value} role",
        )
