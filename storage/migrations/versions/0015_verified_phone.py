"""contacts.verified_phone and last_seen_at: one person on two channels, reached where they were last

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("verified_phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_contacts_verified_phone", ["verified_phone"])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_verified_phone")
        batch.drop_column("last_seen_at")
        batch.drop_column("verified_phone")
