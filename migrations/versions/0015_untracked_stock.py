"""listings whose stock the channel does not count

WooCommerce lets a product go without stock management (`manage_stock` off): such a
listing is stored and reported with why, and the hub pushes nothing to it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("untracked_stock", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("untracked_stock")
