"""single-use form tokens (form_submission), reminder failures (reminder_failure)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 08:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_submission",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_form_submission")),
    )
    with op.batch_alter_table("form_submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_submission_submitted_at"), ["submitted_at"], unique=False
        )


    op.create_table(
        "reminder_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("occurrence", sa.String(length=60), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_failure")),
    )
    with op.batch_alter_table("reminder_failure", schema=None) as batch_op:
        batch_op.create_index(
            "uq_reminder_failure_key",
            ["rule", "subject_type", "subject_id", "recipient", "occurrence"],
            unique=True,
        )


def downgrade():
    with op.batch_alter_table("reminder_failure", schema=None) as batch_op:
        batch_op.drop_index("uq_reminder_failure_key")
    op.drop_table("reminder_failure")
    with op.batch_alter_table("form_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submission_submitted_at"))
    op.drop_table("form_submission")
