"""rules in force on a date: program_rule versions; renewal rules window_only and
any_in_cycle; Tochigi renews on any follow-up within its cycle (issue 16, items 3-4)

Revision ID: 0017_rules
Revises: 0015_orgs
Create Date: 2026-11-30 12:10:00

"""

from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_rules"
down_revision = "0015_orgs"
branch_labels = None
depends_on = None

RULES = "renewal_rule IN ('window_or_after_lapse', 'window_only', 'any_in_cycle')"
OLD_RULES = "renewal_rule IN ('window_or_after_lapse')"
BEGINNING = date(1900, 1, 1)
# Tochigi: the seed (../shared/seeds/000_d504a2ad3fc2702d.txt, line 123) says
# 「活動報告や3年ごとのフォローアップ研修も求められている」: a follow-up every three years, with
# no word of a window before the end, so any follow-up completed within the cycle renews
# from its own date. In force from the day of this change (issue 16): the registrations
# derived before keep the rule they were derived under, so past figures do not move (an
# earlier date is a rule change through `programs import` or the edit page, which
# re-derives the registrations it affects).
TOCHIGI_ANY_IN_CYCLE_FROM = date(2026, 11, 30)


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_constraint("renewal_rule", type_="check")
        batch_op.create_check_constraint("renewal_rule", RULES)
    rule = op.create_table(
        "program_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("follow_up_interval_months", sa.Integer(), nullable=True),
        sa.Column("follow_up_mandatory", sa.Boolean(), nullable=False),
        sa.Column("follow_up_window_days", sa.Integer(), nullable=False),
        sa.Column("renewal_rule", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(RULES, name=op.f("ck_program_rule_rule_renewal_rule")),
        sa.CheckConstraint(
            "follow_up_interval_months IS NULL OR follow_up_interval_months > 0",
            name=op.f("ck_program_rule_rule_interval_positive"),
        ),
        sa.CheckConstraint(
            "follow_up_window_days >= 0", name=op.f("ck_program_rule_rule_window_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_program_rule_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_rule")),
    )
    op.create_index(
        "ix_program_rule_program_from", "program_rule", ["program_id", "effective_from"], unique=True
    )
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    programs = connection.execute(
        sa.text(
            "SELECT id, code, follow_up_interval_months, follow_up_mandatory, "
            "follow_up_window_days, renewal_rule FROM program ORDER BY id"
        )
    ).all()
    rows = []
    for pid, code, interval, mandatory, window, renewal in programs:
        first = {
            "program_id": pid,
            "follow_up_interval_months": interval,
            "follow_up_mandatory": bool(mandatory),
            "follow_up_window_days": window,
            "renewal_rule": renewal,
            "created_at": now,
        }
        rows.append({**first, "effective_from": BEGINNING})
        if code == "tochigi":
            rows.append(
                {**first, "effective_from": TOCHIGI_ANY_IN_CYCLE_FROM, "renewal_rule": "any_in_cycle"}
            )
    if rows:
        op.bulk_insert(rule, rows)
    if date.today() >= TOCHIGI_ANY_IN_CYCLE_FROM:  # the program's columns: today's rule
        op.execute(sa.text("UPDATE program SET renewal_rule = 'any_in_cycle' WHERE code = 'tochigi'"))


def downgrade():
    op.drop_index("ix_program_rule_program_from", table_name="program_rule")
    op.drop_table("program_rule")
    op.execute(sa.text(f"UPDATE program SET renewal_rule = 'window_or_after_lapse' WHERE NOT ({OLD_RULES})"))
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_constraint("renewal_rule", type_="check")
        batch_op.create_check_constraint("renewal_rule", OLD_RULES)
