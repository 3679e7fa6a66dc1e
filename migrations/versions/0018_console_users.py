"""the web console: users and roles, API tokens, console sessions, login attempts, what
each user changed, the cookie signing key; channels paused by hand; a low-stock line per SKU

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:52:41
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnisync.core.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_client_at", ["client", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_name_at", ["name", "at"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "user_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_actions_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_actions_user_name"), ["user_name"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_by", sa.String(length=100), nullable=True))

    # The console's unlinked listings, per channel, without reading the linked ones.
    op.create_index(
        "ix_listing_unlinked",
        "listings",
        ["channel_id", "channel_sku"],
        unique=False,
        postgresql_where=sa.text("sku_id IS NULL"),
        sqlite_where=sa.text("sku_id IS NULL"),
    )

    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low_stock_below", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_index("ix_listing_unlinked", table_name="listings")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_column("low_stock_below")

    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("paused_by")

    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))

    op.drop_table("console_sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("user_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_actions_user_name"))
        batch_op.drop_index(batch_op.f("ix_user_actions_at"))

    op.drop_table("user_actions")
    op.drop_table("signing_keys")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_name_at")
        batch_op.drop_index("ix_login_attempts_client_at")

    op.drop_table("login_attempts")
