"""a note on each account"""

import sqlalchemy as sa
from alembic import op

revision = "a2"
down_revision = "a1"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("note", sa.Text, nullable=True))
