"""outbox: the platform's message id, the template used and the last receipt (WhatsApp statuses)

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("platform_message_id", sa.String(length=128), nullable=True))
    op.add_column("outbox", sa.Column("template", sa.String(length=512), nullable=True))
    op.add_column("outbox", sa.Column("receipt", sa.String(length=16), nullable=True))
    op.add_column("outbox", sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_platform_message", "outbox", ["platform_message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_platform_message", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("receipt_at")
        batch.drop_column("receipt")
        batch.drop_column("template")
        batch.drop_column("platform_message_id")
