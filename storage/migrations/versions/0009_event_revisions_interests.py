"""jevents: events get a revision (moved or changed), and "Kabari saya" interests

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("cluster_code", sa.String(length=16), nullable=True),
        sa.Column("programme_code", sa.String(length=12), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_interests_contact", "interests", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_interests_contact", table_name="interests")
    op.drop_table("interests")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("revision")
