"""customers with UUID keys"""

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "r1", None, None, None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("customers")
    op.execute("DROP EXTENSION IF EXISTS pgcrypto")
