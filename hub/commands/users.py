"""`omnisync users`: who may use the console and the API, with which role.

Passwords are read from a prompt (typed twice, not shown) or, when stdin is not a
terminal, from its first line; never from an argument, which would stay in the shell's
history and in `ps`. API tokens are printed once, when made, and kept only as digests.
Each change is kept in the record of `users actions`, as by `cli` (via `cli`).
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from omnisync.core.types import UserRole
from omnisync.core.users import (
    Actor,
    add_api_token,
    add_user,
    disable_user,
    enable_user,
    list_users,
    recent_actions,
    record_action,
    revoke_api_tokens,
    set_password_hash,
    set_role,
    user_by_name,
)
from omnisync.hub.commands.common import JsonOption, console, fail, hub_session, print_json, say
from omnisync.hub.views.users import user_action_list, user_list
from omnisync.hub.web.passwords import WeakPassword, hash_password

app = typer.Typer(help="Users of the console and the API, and their roles.", no_args_is_help=True)

CLI_ACTOR = Actor(name="cli", role=UserRole.ADMIN, via="cli")
"""Who the record says made a change from the command line (the hub's machine)."""

NameArgument = Annotated[str, typer.Argument(help="The user's name (what they sign in with).")]


def read_password() -> str:
    """From a hidden prompt typed twice, or the first line of stdin when it is not a
    terminal (`printf '%s\\n' "$PASSWORD" | omnisync users add ...`)."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on stdin (give it as the first line)")
        return password
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ; nothing changed")
    return first


def hashed_password() -> str:
    try:
        return hash_password(read_password())
    except WeakPassword as error:
        fail(f"{error}; nothing changed")


@app.command("add")
def add(
    ctx: typer.Context,
    name: NameArgument,
    role: Annotated[
        UserRole,
        typer.Option("--role", help="viewer reads; operator also changes; admin also manages."),
    ],
) -> None:
    """Add a user; the password comes from a prompt or stdin, never an argument."""
    password_hash = hashed_password()
    with hub_session(ctx) as (_, session):
        add_user(session, name, role, password_hash)
        record_action(session, CLI_ACTOR, "user.add", name, {"role": role.value})
    say(f"user {name} added as {role.value}")


@app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Every user with their role, whether disabled, and their live API tokens."""
    with hub_session(ctx) as (_, session):
        rows = user_list(session, list_users(session))
    if json_output:
        print_json(rows)
        return
    table = Table("name", "role", "created", "disabled", "api tokens")
    for row in rows:
        table.add_row(
            row.name, row.role.value, row.created_at, row.disabled_at or "", str(row.api_tokens)
        )
    console.print(table)


@app.command("disable")
def disable(ctx: typer.Context, name: NameArgument) -> None:
    """The user can sign in no more: their sessions end and their API tokens are revoked."""
    with hub_session(ctx) as (_, session):
        disable_user(session, name)
        record_action(session, CLI_ACTOR, "user.disable", name)
    say(f"user {name} disabled: sessions ended, API tokens revoked")


@app.command("enable")
def enable(ctx: typer.Context, name: NameArgument) -> None:
    """Let a disabled user sign in again (their old sessions stay ended)."""
    with hub_session(ctx) as (_, session):
        enable_user(session, name)
        record_action(session, CLI_ACTOR, "user.enable", name)
    say(f"user {name} enabled")


@app.command("role")
def change_role(
    ctx: typer.Context,
    name: NameArgument,
    role: Annotated[UserRole, typer.Argument(help="viewer, operator or admin.")],
) -> None:
    """Give a user another role (applies to their next request)."""
    with hub_session(ctx) as (_, session):
        before = user_by_name(session, name).role
        set_role(session, name, role)
        detail = {"from": before.value, "to": role.value}
        record_action(session, CLI_ACTOR, "user.role", name, detail)
    say(f"user {name} is now {role.value}")


@app.command("password")
def password(ctx: typer.Context, name: NameArgument) -> None:
    """Set a new password (prompt or stdin); the user's sessions end."""
    password_hash = hashed_password()
    with hub_session(ctx) as (_, session):
        set_password_hash(session, name, password_hash)
        record_action(session, CLI_ACTOR, "user.password", name)
    say(f"user {name}: password changed, sessions ended")


@app.command("token")
def token(
    ctx: typer.Context,
    name: NameArgument,
    label: Annotated[str, typer.Option(help="What the token is for (shown in lists).")] = "",
) -> None:
    """Make an API token acting as the user, with the user's role; printed once."""
    with hub_session(ctx) as (_, session):
        user = user_by_name(session, name)
        if user.disabled_at is not None:
            fail(f"user {name} is disabled; enable them first")
        made = add_api_token(session, user, label)
        record_action(session, CLI_ACTOR, "user.token", name, {"label": label})
    # Only stdout, only now: the hub keeps its digest and can never show it again.
    typer.echo(made)


@app.command("revoke-tokens")
def revoke_tokens(ctx: typer.Context, name: NameArgument) -> None:
    """Stop every API token of the user."""
    with hub_session(ctx) as (_, session):
        count = revoke_api_tokens(session, user_by_name(session, name))
        record_action(session, CLI_ACTOR, "user.revoke_tokens", name, {"revoked": count})
    say(f"user {name}: {count} API token(s) revoked")


@app.command("actions")
def actions(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="Only this user's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_output: JsonOption = False,
) -> None:
    """What was changed through the console, the API and `users`, by whom, newest first."""
    with hub_session(ctx) as (_, session):
        rows = user_action_list(recent_actions(session, user_name=user, limit=limit))
    if json_output:
        print_json(rows)
        return
    table = Table("at", "user", "via", "action", "target")
    for row in rows:
        table.add_row(row.at, row.user, row.via, row.action, row.target)
    console.print(table)
