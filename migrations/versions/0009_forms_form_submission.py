"""single-use form tokens (form_submission)

Revision ID: 0009_forms
Revises: 0008
Create Date: 2026-11-30 08:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_forms"
down_revision = "0008"
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


def downgrade():
    with op.batch_alter_table("form_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submission_submitted_at"))
    op.drop_table("form_submission")
