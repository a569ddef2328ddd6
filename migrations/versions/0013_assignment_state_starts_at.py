"""an index on assignment(state, starts_at), which the national-scale benchmarks ask for

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index("ix_assignment_state_starts_at", ["state", "starts_at"], unique=False)


def downgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_state_starts_at")
