"""order display names: the channel's own name or number of each order (Shopify #1001)

Operators name orders by it (hub/order_lookup.py). Existing orders take it from what
the connectors map it from: a Shopify order's stored payload (`name`, in the GraphQL
node and the webhook alike), and every other channel's order id (Amazon and the
sandbox show their order id to sellers). Order intake keeps it current from then on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A Shopify order's `name` is in its stored payload; every other channel's is its order id.
_NAME_ORDERS = {
    "postgresql": """
        UPDATE orders SET display_name = substr(CASE
            WHEN external_id LIKE 'gid://shopify/Order/%' THEN coalesce(raw ->> 'name', external_id)
            ELSE external_id END, 1, 200)
    """,
    "sqlite": """
        UPDATE orders SET display_name = substr(CASE
            WHEN external_id LIKE 'gid://shopify/Order/%' THEN coalesce(
                CASE WHEN json_valid(raw) THEN json_extract(raw, '$.name') END, external_id)
            ELSE external_id END, 1, 200)
    """,
}


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_display_name"), ["display_name"], unique=False)
    op.execute(_NAME_ORDERS[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_display_name"))
        batch_op.drop_column("display_name")
