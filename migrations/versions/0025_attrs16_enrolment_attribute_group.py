"""the enrolment keeps the reporting group its attribute was counted in when it was given,
so editing the program's attribute (its label or group) leaves past figures (issue 16,
item 8)

Revision ID: 0024_attrs16
Revises: 0024_pages
Create Date: 2026-11-30 13:55:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_attrs16"
down_revision = "0024_pages"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attribute_group", sa.String(length=30), nullable=True))
    # Existing enrolments: the group their program counts the recorded code in today (the
    # attributes are a few hours old, nobody edited them yet), else the code itself (one of
    # the product's groups).
    op.get_bind().execute(
        sa.text(
            "UPDATE enrolment SET attribute_group = COALESCE("
            "(SELECT program_attribute.reporting_group FROM program_attribute "
            "JOIN course ON course.program_id = program_attribute.program_id "
            "WHERE course.id = enrolment.course_id "
            "AND program_attribute.code = enrolment.attribute), enrolment.attribute) "
            "WHERE enrolment.attribute IS NOT NULL"
        )
    )


def downgrade():
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("attribute_group")
