"""an index on a person's places held (assigned or confirmed) by end time: the clash test of
the schedule's open places reads only the supporter's coming places (issue 17, item 2)

Revision ID: 0024_pages
Revises: 0023_attrs
Create Date: 2026-11-30 14:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_pages"
down_revision = "0023_attrs"
branch_labels = None
depends_on = None

HOLDING = sa.text("state IN ('assigned', 'confirmed')")


def upgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_holding_person_ends_at",
            ["person_id", "ends_at"],
            unique=False,
            sqlite_where=HOLDING,
            postgresql_where=HOLDING,
        )


def downgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_holding_person_ends_at")
