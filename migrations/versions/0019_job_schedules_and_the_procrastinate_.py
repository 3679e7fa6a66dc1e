"""job schedules and the procrastinate queue: when each channel's job runs next under
runner `procrastinate`, and (PostgreSQL only) procrastinate's own tables, types and
functions, from the pinned procrastinate release's schema

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 22:00:35
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omnisync.core.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROCRASTINATE_OBJECTS = """
SELECT c.relname::text, 'TABLE' FROM pg_class c
 WHERE c.relkind = 'r' AND c.relname LIKE 'procrastinate%%'
   AND c.relnamespace = current_schema()::regnamespace
UNION ALL
SELECT p.oid::regprocedure::text, 'FUNCTION' FROM pg_proc p
 WHERE p.proname LIKE 'procrastinate%%' AND p.pronamespace = current_schema()::regnamespace
UNION ALL
SELECT t.typname::text, 'TYPE' FROM pg_type t
 WHERE t.typname LIKE 'procrastinate%%' AND t.typtype IN ('e', 'c')
   AND t.typnamespace = current_schema()::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind = 'r')
"""


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("next_run_at", omnisync.core.types.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_deferred_at", omnisync.core.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "job", name="uq_job_schedule_channel_job"),
    )
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.create_index("ix_job_schedule_job_next_run", ["job", "next_run_at"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Several statements, dollar-quoted bodies: run as one script by psycopg itself.
        bind.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        found = bind.exec_driver_sql(_PROCRASTINATE_OBJECTS).all()
        for kind in ("TABLE", "FUNCTION", "TYPE"):
            for name, object_kind in found:
                if object_kind == kind:
                    quoted = name if kind == "FUNCTION" else f'"{name}"'
                    bind.exec_driver_sql(f"DROP {kind} IF EXISTS {quoted} CASCADE")
    with op.batch_alter_table("job_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_job_schedule_job_next_run")
    op.drop_table("job_schedules")
