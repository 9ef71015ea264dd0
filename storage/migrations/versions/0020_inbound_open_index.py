"""inbound: the open messages of a channel found by (channel, status, chat_id)

Every stored webhook asks which chats of the channel have an open message. Without statistics
SQLite answered that from the unique (channel, message_id) index, reading every message the
channel ever stored; this index reads only the open ones.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inbound_due", table_name="inbound")
    op.create_index("ix_inbound_open", "inbound", ["channel", "status", "chat_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_open", table_name="inbound")
    op.create_index("ix_inbound_due", "inbound", ["status", "chat_id"])
