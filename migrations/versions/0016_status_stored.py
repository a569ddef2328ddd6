"""today's status and follow-up due date stored on the registration; indexes for the register
list, its counts and the search by reading prefix (issue 17)

Revision ID: 0016
Revises: 0015_progfile
Create Date: 2026-11-30 12:00:00

"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015_progfile"
branch_labels = None
depends_on = None

# Today's status from the history, by the rules of registry.services.status_on, for one
# program (its window is the bound :window_end); set-based, one statement per program.
FILL_STATUS = """
UPDATE registration SET status = CASE
    WHEN registered_on > :today THEN 'active'
    WHEN withdrawn_on IS NOT NULL AND withdrawn_on <= :today THEN 'withdrawn'
    WHEN (
        SELECT e.kind FROM registration_event e
        WHERE e.registration_id = registration.id
          AND e.kind IN ('suspended', 'reinstated') AND e.occurred_on <= :today
        ORDER BY e.occurred_on DESC, e.id DESC LIMIT 1
    ) = 'suspended' THEN 'suspended'
    WHEN ends.end_on IS NULL THEN 'active'
    WHEN ends.end_on < :today THEN 'lapsed'
    WHEN ends.end_on <= :window_end THEN 'follow_up_due'
    ELSE 'active'
END
FROM (
    SELECT r.id AS rid, COALESCE((
        SELECT max(e.valid_until) FROM registration_event e
        WHERE e.registration_id = r.id AND e.kind = 'renewed' AND e.occurred_on <= :today
    ), r.initial_valid_until) AS end_on
    FROM registration r WHERE r.program_id = :program_id
) AS ends
WHERE registration.id = ends.rid
"""

FOLLOW_UP_DUE = {
    "postgresql": "valid_until - CAST(:window AS INTEGER)",
    "sqlite": "date(valid_until, '-' || :window || ' days')",
}


def upgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("follow_up_due", sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            "status", "status IN ('active', 'follow_up_due', 'lapsed', 'suspended', 'withdrawn')"
        )
        batch_op.create_index(
            "ix_registration_program_status",
            ["program_id", "status", "valid_until", "registered_on"],
            unique=False,
        )

    bind = op.get_bind()
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    fill = sa.text(FILL_STATUS).bindparams(
        sa.bindparam("today", type_=sa.Date()), sa.bindparam("window_end", type_=sa.Date())
    )
    due = sa.text(
        f"UPDATE registration SET follow_up_due = {FOLLOW_UP_DUE[bind.dialect.name]} "  # noqa: S608
        "WHERE program_id = :program_id AND valid_until IS NOT NULL"
    )
    for program_id, window in bind.execute(
        sa.text("SELECT id, follow_up_window_days FROM program")
    ).all():
        bind.execute(
            fill,
            {
                "today": today,
                "window_end": today + timedelta(days=window),
                "program_id": program_id,
            },
        )
        bind.execute(due, {"window": window, "program_id": program_id})

    # The register's search by reading prefix (LIKE 'カナ%'), in any collation.
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_reading_prefix",
            ["name_reading"],
            unique=False,
            postgresql_ops={"name_reading": "text_pattern_ops"},
        )


def downgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_reading_prefix")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_index("ix_registration_program_status")
        batch_op.drop_constraint(op.f("ck_registration_status"), type_="check")
        batch_op.drop_column("follow_up_due")
        batch_op.drop_column("status")
