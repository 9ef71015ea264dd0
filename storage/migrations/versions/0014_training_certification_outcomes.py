"""training, certification and outcomes: attendance marks, absence limit, completion, certifications,
the tracer study's rounds

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("programmes", sa.Column("absence_limit", sa.Integer(), nullable=True))
    op.add_column("applications", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "attendance_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.String(length=100), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "application_id"),
    )
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("competent", sa.Boolean(), nullable=False),
        sa.Column("lsp", sa.String(length=200), nullable=False),
        sa.Column("scheme", sa.String(length=200), nullable=False),
        sa.Column("certificate_number", sa.String(length=100), nullable=True),
        sa.Column("tested_on", sa.Date(), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("workplace", sa.String(length=16), nullable=True),
        sa.Column("sector", sa.String(length=100), nullable=True),
        sa.Column("business", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "months"),
    )
    op.create_index("ix_outcomes_open", "outcomes", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_outcomes_open", table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_table("certifications")
    op.drop_table("attendance_marks")
    op.drop_column("applications", "completed_at")
    op.drop_column("programmes", "absence_limit")
