"""erasure: contacts.erased_at, outbox.kind

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    # Rows already queued get their kind from why they were pushed: broadcasts and vacancies were
    # announcements until now (they only went to subscribers), results and reminders are about
    # the person's own application.
    op.add_column("outbox", sa.Column("kind", sa.String(length=16), server_default="application", nullable=False))
    op.execute("UPDATE outbox SET kind = 'announcement' WHERE origin IN ('broadcast', 'vacancy')")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("erased_at")
