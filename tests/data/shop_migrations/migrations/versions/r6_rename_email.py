"""rename email to contact_email, keeping the data"""

from alembic import op

revision, down_revision, branch_labels, depends_on = "r6", "r5", None, None


def upgrade() -> None:
    op.alter_column("customers", "email", new_column_name="contact_email")


def downgrade() -> None:
    op.alter_column("customers", "contact_email", new_column_name="email")
