"""a migration that never ends

Revision ID: 0001
"""

import time

revision = "0001"
down_revision = None


def upgrade() -> None:
    time.sleep(3600)


def downgrade() -> None:
    pass
