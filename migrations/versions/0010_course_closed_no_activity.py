"""workflow: a closed course, one activity report per dispatch, declarations of no activity

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_activity_report_assignment_id"), ["assignment_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_activity_report_assignment_id_assignment"),
            "assignment",
            ["assignment_id"],
            ["id"],
        )

    op.create_table(
        "no_activity_declaration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_on_behalf", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filed_by_id"],
            ["user_account.id"],
            name=op.f("fk_no_activity_declaration_filed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registration.id"],
            name=op.f("fk_no_activity_declaration_registration_id_registration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_no_activity_declaration")),
        sa.UniqueConstraint(
            "registration_id",
            "fiscal_year",
            name=op.f("uq_no_activity_declaration_registration_id_fiscal_year"),
        ),
    )


def downgrade():
    op.drop_table("no_activity_declaration")

    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_activity_report_assignment_id_assignment"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_activity_report_assignment_id"), type_="unique")
        batch_op.drop_column("assignment_id")

    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
