"""the program file's rules that had no column: renewal rule; paid scheme municipalities

Revision ID: 0015_progfile
Revises: 0014
Create Date: 2026-11-30 11:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_progfile"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "renewal_rule",
                sa.String(length=30),
                nullable=False,
                server_default="window_or_after_lapse",
            )
        )
        batch_op.create_check_constraint(
            "renewal_rule", "renewal_rule IN ('window_or_after_lapse')"
        )
    with op.batch_alter_table("program_municipality", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("honorarium_yen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("travel_rule", sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(
            "honorarium_nonnegative", "honorarium_yen IS NULL OR honorarium_yen >= 0"
        )
        batch_op.create_check_constraint(
            "travel_rule",
            "travel_rule IS NULL OR travel_rule IN ('none', 'actual_cost', 'municipal_rule')",
        )


def downgrade():
    with op.batch_alter_table("program_municipality", schema=None) as batch_op:
        batch_op.drop_constraint("travel_rule", type_="check")
        batch_op.drop_constraint("honorarium_nonnegative", type_="check")
        batch_op.drop_column("travel_rule")
        batch_op.drop_column("honorarium_yen")
        batch_op.drop_column("paid")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_constraint("renewal_rule", type_="check")
        batch_op.drop_column("renewal_rule")
