"""Users, their API tokens and console sessions, login attempts, and the record of what
each user changed. Passwords arrive here already hashed (hub/web/passwords.py); tokens
are kept as their SHA-256, so a copy of the database signs nobody in."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, delete, func, select

from omnisync.core.clock import clock_of
from omnisync.core.errors import Conflict, InvalidRequest, NotFound
from omnisync.core.models import (
    ApiToken,
    ConsoleSession,
    LoginAttempt,
    SigningKey,
    User,
    UserAction,
)
from omnisync.core.types import UserRole

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
TOKEN_USE_GRANULARITY = timedelta(minutes=1)
TOKEN_PREFIX = "osu_"  # noqa: S105 (a prefix, not a secret)
"""User API tokens start with it, so a leaked one is recognisable (and greppable)."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (by name and role), or hub.yaml's API token (`api`, admin)."""

    name: str
    role: UserRole
    via: str
    """`console`, `api` or `cli`."""
    user_id: int | None = None

    def may(self, needed: UserRole) -> bool:
        return self.role.may(needed)


LABEL_LENGTH = 100
RESERVED_NAMES = frozenset({"api", "cli", "hub", "the hub", "system"})
"""Names the record of changes uses for what no user did (hub.yaml's API token, the
command line): no user may take one."""


def check_user_name(name: str) -> str:
    if name.lower() in RESERVED_NAMES:
        raise InvalidRequest(f"user name {name!r} is reserved (the record of changes uses it)")
    if not USER_NAME.match(name):
        raise InvalidRequest(
            f"user name {name!r}: letters, digits and . _ @ - only, starting with a letter "
            "or digit, at most 100 characters"
        )
    return name


def add_user(session: Session, name: str, role: UserRole, password_hash: str) -> User:
    check_user_name(name)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise Conflict(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=password_hash, created_at=_now(session))
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"unknown user {name!r}")
    return user


def active_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.disabled_at is None else None


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.name))))


def disable_user(session: Session, name: str) -> User:
    """The user signs in no more: sessions end and API tokens are revoked at once (for
    good: enabling the user again does not bring back a token that may have leaked)."""
    user = user_by_name(session, name)
    if user.disabled_at is None:
        user.disabled_at = _now(session)
        session.add(user)
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id))
    revoke_api_tokens(session, user)
    return user


def enable_user(session: Session, name: str) -> User:
    user = user_by_name(session, name)
    user.disabled_at = None
    session.add(user)
    return user


def set_role(session: Session, name: str, role: UserRole) -> User:
    user = user_by_name(session, name)
    user.role = role
    session.add(user)
    return user


def set_password_hash(session: Session, name: str, password_hash: str) -> User:
    """A new password ends every session of the user (a stolen cookie with it)."""
    user = user_by_name(session, name)
    user.password_hash = password_hash
    session.add(user)
    session.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id))
    return user


def add_api_token(session: Session, user: User, label: str = "") -> str:
    """A new bearer token for `user`: returned once, kept only as its digest."""
    if len(label) > LABEL_LENGTH:
        raise InvalidRequest(f"a token's label is at most {LABEL_LENGTH} characters")
    token = new_token(TOKEN_PREFIX)
    assert user.id is not None
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(token),
            label=label,
            created_at=_now(session),
        )
    )
    session.flush()
    return token


def revoke_api_tokens(session: Session, user: User) -> int:
    tokens = session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = _now(session)
        session.add(token)
    return len(tokens)


@dataclass(frozen=True)
class TokenOwner:
    """The active user a live API token belongs to, and whether its use is to be noted."""

    user: User
    token_id: int
    use_due: bool
    """Its `last_used_at` is older than TOKEN_USE_GRANULARITY (or unset)."""


def user_of_token(session: Session, token: str) -> TokenOwner | None:
    """The active user a live API token belongs to; None for anything else. Reads only:
    a read-only transaction will do (`note_token_use` writes, when `use_due`)."""
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if user.disabled_at is None and api_token.id is not None:
        last = api_token.last_used_at
        due = last is None or _now(session) - last > TOKEN_USE_GRANULARITY
        return TokenOwner(user, api_token.id, due)
    return None


def note_token_use(session: Session, token_id: int) -> None:
    """The token was used now. Called at most once a minute per token: a write per request
    would queue every GET of the API on SQLite's write lock."""
    api_token = session.get(ApiToken, token_id)
    if api_token is not None:
        api_token.last_used_at = _now(session)
        session.add(api_token)


def any_api_token(session: Session) -> bool:
    return (
        session.exec(select(ApiToken.id).where(col(ApiToken.revoked_at).is_(None))).first()
        is not None
    )


def start_session(session: Session, user: User, lifetime: timedelta) -> tuple[str, ConsoleSession]:
    """A new console session: its token (for the cookie, returned once) and its row."""
    assert user.id is not None
    token = new_token()
    now = _now(session)
    row = ConsoleSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def live_session(session: Session, token: str) -> tuple[ConsoleSession, User] | None:
    """The unexpired session of an active user the token names; None otherwise."""
    row = session.exec(
        select(ConsoleSession, User)
        .join(User, col(User.id) == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    console_session, user = row
    if user.disabled_at is not None or console_session.expires_at <= _now(session):
        return None
    return console_session, user


def end_session(session: Session, token: str) -> None:
    session.exec(
        delete(ConsoleSession).where(col(ConsoleSession.token_hash) == token_digest(token))
    )


def end_expired_sessions(session: Session) -> int:
    result = session.exec(
        delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= _now(session))
    )
    return int(result.rowcount or 0)


LOGIN_LOCK = 0x6F6D6E696C6F6769
"""PostgreSQL's advisory lock that takes the logins' writes one at a time (`omnilogi`)."""


def one_login_at_a_time(session: Session) -> None:
    """Until the transaction ends, no other login counts or records attempts: the
    throttle's count and the attempt it allows are one step, so guesses sent in parallel
    get no more answers than it allows. SQLite's write transactions are one at a time
    already (BEGIN IMMEDIATE); PostgreSQL's take a transaction-level advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOGIN_LOCK})


def record_login_attempt(session: Session, name: str, client: str, *, succeeded: bool) -> None:
    session.add(
        LoginAttempt(name=name[:100], client=client[:100], succeeded=succeeded, at=_now(session))
    )


def forget_login_attempts(session: Session, before: datetime) -> int:
    """Drop the attempts made before `before` (the throttle looks no further back)."""
    result = session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < before))
    return int(result.rowcount or 0)


def failed_logins_since(
    session: Session, since: datetime, *, name: str | None = None, client: str | None = None
) -> int:
    """Failed attempts since `since` for a name or from a client (whichever is given)."""
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(col(LoginAttempt.at) >= since, col(LoginAttempt.succeeded).is_(False))
    )
    if name is not None:
        query = query.where(LoginAttempt.name == name)
    if client is not None:
        query = query.where(LoginAttempt.client == client)
    return int(session.exec(query).one())


def record_action(
    session: Session,
    actor: Actor,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
) -> UserAction:
    """What `actor` changed, in the same transaction as the change."""
    row = UserAction(
        at=_now(session),
        user_name=actor.name,
        via=actor.via,
        action=action,
        target=target[:500],
        detail=dict(detail) if detail is not None else None,
    )
    session.add(row)
    return row


def recent_actions(
    session: Session, *, user_name: str | None = None, limit: int = 50
) -> Sequence[UserAction]:
    query = select(UserAction).order_by(col(UserAction.id).desc()).limit(limit)
    if user_name is not None:
        query = query.where(UserAction.user_name == user_name)
    return session.exec(query).all()


def signing_secret(session: Session, name: str = "console") -> str:
    """The database's key for signing console cookies, made on first use."""
    row = session.get(SigningKey, name)
    if row is None:
        row = SigningKey(name=name, secret=secrets.token_urlsafe(48), created_at=_now(session))
        session.add(row)
        session.flush()
    return row.secret


def _now(session: Session) -> datetime:
    return clock_of(session).now()
