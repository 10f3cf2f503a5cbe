"""orders with a status enum, a check and a cascading foreign key"""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "r2", "r1", None, None
status = sa.Enum("pending", "paid", "shipped", "cancelled", name="order_status")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column(
            "customer_id", sa.Uuid(), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", status, nullable=False, server_default="pending"),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("total_cents >= 0", name="ck_orders_total_positive"),
    )


def downgrade() -> None:
    op.drop_table("orders")
    status.drop(op.get_bind(), checkfirst=True)
