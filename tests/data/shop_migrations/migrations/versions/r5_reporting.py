"""a reporting view and an invoice number sequence"""

from alembic import op

revision, down_revision, branch_labels, depends_on = "r5", "r4", None, None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE invoice_number_seq START 1000")
    op.execute(
        "CREATE VIEW customer_totals AS SELECT customer_id, sum(total_cents) AS total_cents "
        "FROM orders GROUP BY customer_id"
    )


def downgrade() -> None:
    op.execute("DROP VIEW customer_totals")
    op.execute("DROP SEQUENCE invoice_number_seq")
