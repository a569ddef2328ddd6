"""dispatch_event.places_taken: the assignments holding a place, kept by the staffing
services under the event's lock, so open places need no grouping of every assignment

Revision ID: 0015_scale
Revises: 0015_onetap
Create Date: 2026-11-30 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_scale"
down_revision = "0015_onetap"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE dispatch_event SET places_taken = (
    SELECT count(*) FROM assignment
    WHERE assignment.event_id = dispatch_event.id
      AND assignment.state IN ('assigned', 'confirmed')
)
"""


def upgrade():
    with op.batch_alter_table("dispatch_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("places_taken", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table("dispatch_event", schema=None) as batch_op:
        batch_op.drop_column("places_taken")
