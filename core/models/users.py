"""Who uses the console and the API: users with a role, their API tokens, their console
sessions, the login attempts that throttle guessing, and what each of them changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, json_column, text_column, utc_column
from omnisync.core.types import UserRole


class User(SQLModel, table=True):
    """A person who signs in to the console or calls the API with a token of their own.
    Never deleted (what they did keeps their name): disabled instead."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: UserRole = Field(sa_column=enum_column(UserRole))
    password_hash: str = Field(sa_column=text_column(nullable=False))
    """argon2id (hub/web/passwords.py); never the password."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    disabled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """Disabled: no login, no API token, every session ended."""


class ApiToken(SQLModel, table=True):
    """A bearer token of /api/v1 that acts as its user, with the user's role. Only its
    SHA-256 is kept: the token is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ConsoleSession(SQLModel, table=True):
    """One signed-in browser. The cookie carries the session's random token, signed;
    only its SHA-256 is kept here, so logging out or disabling the user ends it at once."""

    __tablename__ = "console_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    """Every form of this session carries it; a POST without it is refused."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class LoginAttempt(SQLModel, table=True):
    """One try at the login form: failures for a name or from a client within a window
    throttle further tries (hub/web/throttle.py), in every hub process on the database."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_name_at", "name", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    client: str = Field(max_length=100)
    succeeded: bool = False
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class UserAction(SQLModel, table=True):
    """A change made through the console or the API, with who made it."""

    __tablename__ = "user_actions"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    user_name: str = Field(max_length=100, index=True)
    """The user's name; `api` for hub.yaml's http.api_token."""
    via: str = Field(max_length=20)
    """`console`, `api` or `cli` (`omnisync users`)."""
    action: str = Field(max_length=100)
    """What was done, as `area.verb` (`stock.adjust`, `listing.link`, `channel.pause`)."""
    target: str = Field(default="", max_length=500)
    """What it was done to, in words an operator reads (`SKU-1 at main`, `order 12`)."""
    detail: dict[str, Any] | None = Field(default=None, sa_column=json_column())


class SigningKey(SQLModel, table=True):
    """The key that signs console cookies, made once per database so every hub process on
    it accepts the others' sessions and a restart signs nobody out."""

    __tablename__ = "signing_keys"

    name: str = Field(max_length=50, primary_key=True)
    secret: str = Field(sa_column=text_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
