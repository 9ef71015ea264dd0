"""selection: decisions per applicant, scores, seat offers; score weights and seat deadline per programme

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("programmes", sa.Column("score_weights", sa.JSON(), nullable=True))
    op.add_column("programmes", sa.Column("seat_deadline_hours", sa.Integer(), nullable=True))
    op.create_table(
        "selection_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_selection_decisions_application", "selection_decisions", ["application_id", "id"])
    op.create_table(
        "scores",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("application_id", "component"),
    )
    op.create_table(
        "seat_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seat_offers_open", "seat_offers", ["answer", "deadline"])


def downgrade() -> None:
    op.drop_index("ix_seat_offers_open", table_name="seat_offers")
    op.drop_table("seat_offers")
    op.drop_table("scores")
    op.drop_index("ix_selection_decisions_application", table_name="selection_decisions")
    op.drop_table("selection_decisions")
    op.drop_column("programmes", "seat_deadline_hours")
    op.drop_column("programmes", "score_weights")
