"""/login and /logout.

A login checks the throttle first (hub/web/throttle.py), then the password against the
user's argon2 hash (a made-up hash for an unknown or disabled name, so the answer takes
as long either way and says only "wrong name or password"), outside any transaction
and off the event loop; then, in one transaction, the throttle again (tries made
meanwhile count), the attempt, and a session whose signed token goes in an HttpOnly,
SameSite=Lax cookie (Secure when the page came over HTTPS). The login form carries a
double-submit CSRF token. Each login also drops expired sessions and attempts older
than the throttle's window.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from omnisync.core.db import transaction
from omnisync.core.models import User
from omnisync.core.users import (
    end_session,
    one_login_at_a_time,
    record_login_attempt,
    start_session,
)
from omnisync.hub.api.dependencies import ApiContext, Context
from omnisync.hub.web.cookies import COOKIE_NAME
from omnisync.hub.web.dependencies import (
    ConsoleUser,
    console_state,
    secure_cookies,
    session_lifetime,
)
from omnisync.hub.web.forms import CSRF_FIELD, PostedForm, text, tokens_match
from omnisync.hub.web.identity import console_identity
from omnisync.hub.web.passwords import (
    DUMMY_HASH,
    WeakPassword,
    hash_password,
    needs_rehash,
    password_matches,
)
from omnisync.hub.web.rendering import redirect, render
from omnisync.hub.web.throttle import login_throttled, tidy

router = APIRouter()
LOGIN_CSRF_COOKIE = "omnisync_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or `https://elsewhere`, nor a path with
    a tab or line break after its `/` (browsers drop those, which makes it `//elsewhere`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(character) < 32 or ord(character) == 127 for character in target):
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _login_form(
    request: Request, *, error: str | None = None, name: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        None,
        "login.html",
        {
            "login_csrf": token,
            "next": _safe_next(request.query_params.get("next")),
            "error": error,
            "name": name,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
def login_page(request: Request, context: Context) -> Response:
    me = console_identity(
        request, context.sync.database, console_state(request).keys, session_lifetime(context)
    )
    if me is not None:
        return redirect(_safe_next(request.query_params.get("next")))
    return _login_form(request)


@router.post("/login")
async def log_in(request: Request, context: Context) -> Response:
    form = await request.form()
    # The rest blocks (the database; argon2, slow on purpose): a worker thread's work, never
    # the event loop's, which serves every other request meanwhile.
    return await run_in_threadpool(_log_in, request, context, form)


def _log_in(request: Request, context: ApiContext, form: FormData) -> Response:
    name, password = text(form, "name"), form.get("password")
    if not tokens_match(
        str(form.get(CSRF_FIELD) or ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    ):
        return _login_form(
            request, error="The form expired; sign in again.", name=name, status_code=403
        )
    if not name or not isinstance(password, str) or not password:
        return _login_form(
            request, error="Give your name and password.", name=name, status_code=422
        )
    database, client = context.sync.database, _client(request)
    with transaction(database, read_only=True) as session:
        throttled = login_throttled(session, name, client)
        user = session.exec(select(User).where(User.name == name)).first()
    if throttled is not None:
        return _login_form(request, error=throttled.message, name=name, status_code=429)
    # Outside any transaction: SQLite's write lock would wait for argon2.
    known = user if user is not None and user.disabled_at is None else None
    matched = password_matches(known.password_hash if known else DUMMY_HASH, password)
    rehashed = _rehashed(known.password_hash, password) if known and matched else None
    lifetime = session_lifetime(context)
    token = None
    with transaction(database) as session:
        # Again, now that this login alone writes: tries made meanwhile count too, so
        # guesses sent in parallel get no more answers than the throttle allows.
        one_login_at_a_time(session)
        tidy(session)
        throttled = login_throttled(session, name, client)
        # The user as they are now, not as read before argon2 ran: a disable, a new
        # password or a new role made meanwhile wins (merging the old copy would undo it).
        current = session.get(User, known.id) if known is not None and matched else None
        still_valid = (
            current is not None
            and known is not None
            and current.disabled_at is None
            and current.password_hash == known.password_hash
        )
        if throttled is None:
            record_login_attempt(session, name, client, succeeded=still_valid)
            if still_valid and current is not None:
                if rehashed is not None:
                    current.password_hash = rehashed
                    session.add(current)
                token, _row = start_session(session, current, lifetime)
    if throttled is not None:
        return _login_form(request, error=throttled.message, name=name, status_code=429)
    if token is None:
        return _login_form(request, error="Wrong name or password.", name=name, status_code=401)
    response = redirect(_safe_next(str(form.get("next") or "/")))
    response.set_cookie(
        COOKIE_NAME,
        console_state(request).keys.signer().sign(token),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, context),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _rehashed(password_hash: str, password: str) -> str | None:
    """The password hashed anew when argon2's parameters grew since it was hashed."""
    if not needs_rehash(password_hash):
        return None
    try:
        return hash_password(password)
    except WeakPassword:  # shorter than today's minimum: keep the hash it has
        return None


@router.post("/logout")
def log_out(me: ConsoleUser, _form: PostedForm, context: Context) -> Response:
    with transaction(context.sync.database) as session:
        end_session(session, me.session_token)
    response = redirect("/login", "Signed out.")
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
