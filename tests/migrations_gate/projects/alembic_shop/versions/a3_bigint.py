"""balance to bigint: PostgreSQL rewrites the table"""

import sqlalchemy as sa
from alembic import op

revision = "a3"
down_revision = "a2"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:  # SQLite needs a batch to alter a column
        batch.alter_column("balance", type_=sa.BigInteger, existing_type=sa.Integer)
