"""organisations act for themselves (a coordinator granted for one organisation; municipal
staff staffing their own municipality's requests where the program allows) and taking part
in group activities without registering, where the program allows it

Revision ID: 0015_orgs
Revises: 0015_kinds
Create Date: 2026-11-30 11:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_orgs"
down_revision = "0015_kinds"
branch_labels = None
depends_on = None

OLD_SCOPE = (
    "(role = 'admin') OR (role = 'municipal_staff' AND municipality_id IS NOT NULL "
    "AND program_id IS NOT NULL) OR (role IN ('coordinator', 'supporter') "
    "AND program_id IS NOT NULL)"
)
# Only a coordinator can be granted for one organisation of their program.
NEW_SCOPE = f"(organisation_id IS NULL OR role = 'coordinator') AND ({OLD_SCOPE})"


def upgrade():
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_role_grant_organisation_id_organisation"),
            "organisation",
            ["organisation_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_role_grant_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.drop_constraint(batch_op.f("ck_role_grant_role_scope"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_role_grant_role_scope"), NEW_SCOPE)

    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "participation_without_registration",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "staff_own_requests", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )

    op.create_table(
        "participation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["dispatch_event.id"], name=op.f("fk_participation_event_id_dispatch_event")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_participation_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_participation_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_participation_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"],
            ["user_account.id"],
            name=op.f("fk_participation_cancelled_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation")),
    )
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_participation_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "uq_participation_event_person_live",
            ["event_id", "person_id"],
            unique=True,
            sqlite_where=sa.text("cancelled_at IS NULL"),
            postgresql_where=sa.text("cancelled_at IS NULL"),
        )

    # The seed: Kagawa's completers may join family groups, peer groups and drop-in places
    # whether or not they register ("研修の修了後に、hito.toco等民間団体や自治体主催の家族会・
    # 当事者会・居場所等の活動に参加することができる"); in Chiba the municipalities run the
    # dispatch programme, so their staff staff their own requests.
    program = sa.table(
        "program",
        sa.column("code", sa.String),
        sa.column("participation_without_registration", sa.Boolean),
        sa.column("staff_own_requests", sa.Boolean),
    )
    op.execute(
        program.update()
        .where(program.c.code == "kagawa")
        .values(participation_without_registration=True)
    )
    op.execute(
        program.update().where(program.c.code == "chiba").values(staff_own_requests=True)
    )


def downgrade():
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_index("uq_participation_event_person_live")
        batch_op.drop_index(batch_op.f("ix_participation_person_id"))
        batch_op.drop_index(batch_op.f("ix_participation_event_id"))
    op.drop_table("participation")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("staff_own_requests")
        batch_op.drop_column("participation_without_registration")
    # A grant for one organisation would become one for the whole program: revoke it (the row
    # stays, as history) rather than widen it.
    op.execute(
        "UPDATE role_grant SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE organisation_id IS NOT NULL AND revoked_at IS NULL"
    )
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_role_grant_role_scope"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_role_grant_role_scope"), OLD_SCOPE)
        batch_op.drop_index(batch_op.f("ix_role_grant_organisation_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_role_grant_organisation_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_column("organisation_id")
