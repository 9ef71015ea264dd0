"""screenings.contact_id: the office's figures count a person once per programme

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Screenings kept so far name no one and go on counting once each.
    op.add_column("screenings", sa.Column("contact_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screenings") as batch:
        batch.drop_column("contact_id")
