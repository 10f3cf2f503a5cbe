"""an index for the order list and an optional phone number"""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "r3", "r2", None, None


def upgrade() -> None:
    op.create_index("ix_orders_customer_status", "orders", ["customer_id", "status"])
    op.add_column("customers", sa.Column("phone", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("customers", "phone")
    op.drop_index("ix_orders_customer_status", table_name="orders")
