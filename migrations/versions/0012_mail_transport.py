"""faults: mail transport state and scheduler heartbeat, outbox expiry, dropped mail

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'sent', 'kept', 'failed')"
NEW_STATUSES = "status IN ('pending', 'sent', 'kept', 'failed', 'dropped')"


def upgrade():
    op.create_table(
        "service_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_state")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_message_status"), type_="check")
        batch_op.create_check_constraint("status", NEW_STATUSES)


def downgrade():
    # A dropped message was never sent: on the old schema it reads as failed.
    op.execute(sa.text("UPDATE outbox_message SET status = 'failed' WHERE status = 'dropped'"))
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_status"), type_="check")
        batch_op.create_check_constraint("status", OLD_STATUSES)
        batch_op.drop_column("expires_at")
    op.drop_table("service_state")
