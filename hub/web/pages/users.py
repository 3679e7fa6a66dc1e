"""The users screen, for admins: `/users` (every user with their role, when made, whether
disabled, their live API tokens; add a user; change a role; disable, enable; make an API
token; revoke tokens; the last changes) and `/users/changes` (the whole record of what
was changed through the console, the API and `omnisync users`, newest first, paged by
key, by one user or all).

A new API token is shown once, on the page that answers the post that made it (no
redirect, so it never rides in a cookie or a URL), and never again: the hub keeps its
SHA-256 only. An admin may not disable themselves nor take the admin role from
themselves, so a slip of the mouse never leaves the hub without an admin (another admin,
or `omnisync users role` on the hub's machine, can). Every change is recorded with
`record_action`, in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.models import User, UserAction
from omnisync.core.types import UserRole
from omnisync.core.users import (
    add_api_token,
    add_user,
    disable_user,
    enable_user,
    record_action,
    revoke_api_tokens,
    set_role,
    user_by_name,
)
from omnisync.hub.api.dependencies import ApiContext, Context, Reading
from omnisync.hub.api.paging import decode_cursor, id_cursor
from omnisync.hub.views.users import user_action_list, user_list
from omnisync.hub.web.dependencies import Admin
from omnisync.hub.web.forms import PostedForm, text
from omnisync.hub.web.paging import PAGE_SIZE, console_page
from omnisync.hub.web.passwords import MIN_PASSWORD_LENGTH, WeakPassword, hash_password
from omnisync.hub.web.rendering import redirect, render

router = APIRouter()

RECENT_CHANGES = 10
"""How many of the last changes /users shows (the rest: /users/changes)."""
ROLES = tuple(role.value for role in UserRole)
NOT_YOURSELF = "another admin (or `omnisync users` on the hub's machine) can"
Param = Annotated[str | None, Query(max_length=400)]


@router.get("/users")
def users_page(request: Request, me: Admin, session: Reading, cursor: Param = None) -> Response:
    """The users by name, paged by name; the add form; the last changes."""
    query = select(User).order_by(col(User.name)).limit(PAGE_SIZE + 1)
    if cursor:
        query = query.where(col(User.name) > decode_cursor(cursor, str)[0])
    shown, next_url = console_page(
        list(session.exec(query)), PAGE_SIZE, request, lambda user: (user.name,)
    )
    recent = session.exec(
        select(UserAction).order_by(col(UserAction.id).desc()).limit(RECENT_CHANGES)
    ).all()
    return render(
        request,
        me,
        "users_list.html",
        {
            "users": user_list(session, shown),
            "next_url": next_url,
            "changes": user_action_list(recent),
            "roles": ROLES,
            "min_length": MIN_PASSWORD_LENGTH,
        },
    )


@router.get("/users/changes")
def changes_page(
    request: Request, me: Admin, session: Reading, user: Param = None, cursor: Param = None
) -> Response:
    """What was changed, newest first, paged by id; `user` keeps one user's."""
    query = select(UserAction).order_by(col(UserAction.id).desc()).limit(PAGE_SIZE + 1)
    if user:
        query = query.where(UserAction.user_name == user)
    below = id_cursor(cursor)
    if below is not None:
        query = query.where(col(UserAction.id) < below)
    shown, next_url = console_page(
        list(session.exec(query)), PAGE_SIZE, request, lambda action: (action.id or 0,)
    )
    return render(
        request,
        me,
        "users_changes.html",
        {"changes": user_action_list(shown), "next_url": next_url, "user": user or ""},
    )


@router.post("/users")
def add(me: Admin, form: PostedForm, context: Context) -> Response:
    """A new user; the password typed twice. Hashed before the transaction opens (argon2
    takes its time on purpose, and SQLite's write lock would wait for it)."""
    name, role_name = text(form, "name"), text(form, "role")
    password, again = _raw(form, "password"), _raw(form, "password_again")
    if role_name not in ROLES:
        return redirect("/users", f"role {role_name!r}: one of {', '.join(ROLES)}", error=True)
    if password != again:
        return redirect("/users", "The two passwords differ; nobody was added.", error=True)
    try:
        password_hash = hash_password(password)
    except WeakPassword as weak:
        return redirect("/users", f"{weak}; nobody was added.", error=True)
    role = UserRole(role_name)
    try:
        with transaction(context.sync.database) as session:
            add_user(session, name, role, password_hash)
            record_action(session, me.actor, "user.add", name, {"role": role.value})
    except DomainError as refused:
        return redirect("/users", str(refused), error=True)
    return redirect("/users", f"User {name} added as {role.value}.")


@router.post("/users/{name}/role")
def change_role(name: str, me: Admin, form: PostedForm, context: Context) -> Response:
    role_name = text(form, "role")
    if role_name not in ROLES:
        return redirect("/users", f"role {role_name!r}: one of {', '.join(ROLES)}", error=True)
    role = UserRole(role_name)
    if name == me.actor.name and role is not UserRole.ADMIN:
        return redirect(
            "/users", f"You cannot take the admin role from yourself: {NOT_YOURSELF}.", error=True
        )

    def change(session: Session) -> str:
        before = user_by_name(session, name).role
        set_role(session, name, role)
        detail = {"from": before.value, "to": role.value}
        record_action(session, me.actor, "user.role", name, detail)
        return f"{name} is now {role.value}."

    return _change(context, change)


@router.post("/users/{name}/disable")
def disable(name: str, me: Admin, _form: PostedForm, context: Context) -> Response:
    if name == me.actor.name:
        return redirect("/users", f"You cannot disable yourself: {NOT_YOURSELF}.", error=True)

    def change(session: Session) -> str:
        disable_user(session, name)
        record_action(session, me.actor, "user.disable", name)
        return f"{name} is disabled: signed out everywhere, API tokens revoked."

    return _change(context, change)


@router.post("/users/{name}/enable")
def enable(name: str, me: Admin, _form: PostedForm, context: Context) -> Response:
    def change(session: Session) -> str:
        enable_user(session, name)
        record_action(session, me.actor, "user.enable", name)
        return f"{name} is enabled."

    return _change(context, change)


@router.post("/users/{name}/token")
def new_token(
    request: Request, name: str, me: Admin, form: PostedForm, context: Context
) -> Response:
    """The token is on this answer only: no redirect, no cookie, no log."""
    label = text(form, "label")[:100]
    try:
        with transaction(context.sync.database) as session:
            user = user_by_name(session, name)
            if user.disabled_at is not None:
                return redirect("/users", f"{name} is disabled: enable them first.", error=True)
            token = add_api_token(session, user, label)
            record_action(session, me.actor, "user.token", name, {"label": label})
    except DomainError as refused:
        return redirect("/users", str(refused), error=True)
    return render(request, me, "users_token.html", {"name": name, "label": label, "token": token})


@router.post("/users/{name}/revoke-tokens")
def revoke_tokens(name: str, me: Admin, _form: PostedForm, context: Context) -> Response:
    def change(session: Session) -> str:
        count = revoke_api_tokens(session, user_by_name(session, name))
        record_action(session, me.actor, "user.revoke_tokens", name, {"revoked": count})
        return f"{name}: {count} API token(s) revoked."

    return _change(context, change)


def _change(context: ApiContext, change: Callable[[Session], str]) -> Response:
    """Run `change` in one transaction; back to /users with what it says, or with the
    refusal (an unknown user...) and nothing changed."""
    try:
        with transaction(context.sync.database) as session:
            message = change(session)
    except DomainError as refused:
        return redirect("/users", str(refused), error=True)
    return redirect("/users", message)


def _raw(form: FormData, name: str) -> str:
    """A password as typed: spaces are part of it."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
