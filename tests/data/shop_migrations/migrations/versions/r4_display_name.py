"""a display name backfilled from the name (a data migration)"""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "r4", "r3", None, None


def upgrade() -> None:
    op.add_column("customers", sa.Column("display_name", sa.Text(), nullable=True))
    op.execute("UPDATE customers SET display_name = initcap(name)")
    op.alter_column("customers", "display_name", nullable=False)


def downgrade() -> None:
    op.drop_column("customers", "display_name")
