"""budget_members.channel: each platform account (the Telegram bot, the WhatsApp number) has its own shared rate

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("budget_members") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), server_default="telegram", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("budget_members") as batch:
        batch.drop_column("channel")
