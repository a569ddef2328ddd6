"""one-tap answer links in mail (hash of the token, purpose, subject, user, expiry, use)

Revision ID: 0015_onetap
Revises: 0016
Create Date: 2026-11-30 11:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_onetap"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "answer_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_answer_link_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_answer_link_token_hash")),
    )
    with op.batch_alter_table("answer_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_link_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("answer_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_link_user_id"))
    op.drop_table("answer_link")
